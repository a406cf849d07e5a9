import { conversationClosed, conversationOpened, messageReceived } from '../../respondio-payloads';
import { type Driver, inParallel, newContactId, newMessageNumber } from '../driver';
import { CLOSED, customer, type FaultCase, runCase, sleep, staff, untilAsked } from './case';

/** (f) The same message and the same webhook event delivered twice at once, to both APIs, and again later. */
export const duplicateDeliveries: FaultCase = {
  id: 'duplicate-delivery',
  title: 'the same message and webhook event twice concurrently, and again later',
  run: (ctx) =>
    runCase(ctx, 'duplicate-delivery', { settleMs: 120_000 }, async ({ driver, ledger }) => {
      await staff(driver, [100, 100]);
      const both = async <T>(send: (api: number) => Promise<T>): Promise<T[]> => Promise.all([send(0), send(1)]);
      const opens = new Map<string, number>();

      // Through the API.
      await inParallel(Array.from({ length: ctx.sizes.duplicates.api }), 4, async (_, i) => {
        const contactId = newContactId();
        const { email, expect } = customer(ctx.infra, i % 2 ? 'vip' : 'regular', contactId);
        const closeIt = i % 3 === 2;
        ledger.expect({ contactId, label: 'api-twice', expect: closeIt ? CLOSED : { ...expect, invalidReplies: 1, pathIncludes: ['valid_reply'] } });
        const openAnswers = await both((api) => driver.once(api, 'POST', '/v1/conversations', { contact: { id: contactId } }));
        for (const [api, answer] of openAnswers.entries()) {
          if ('status' in answer && answer.status < 300) {
            ledger.triggers.push({ contactId, via: `api-${api + 1}`, status: answer.status });
            opens.set(String(answer.status), (opens.get(String(answer.status)) ?? 0) + 1);
          } else ledger.saw(`POST /v1/conversations twice at once: ${'error' in answer ? answer.error : answer.status}`);
        }
        if (!openAnswers.some((a) => 'status' in a && a.status < 300)) await driver.open(contactId);
        await untilAsked(driver, contactId);
        const invalid = `m-${newMessageNumber()}`;
        const valid = `m-${newMessageNumber()}`;
        const twice = async (messageId: string, text: string) => {
          for (const [api, answer] of (await both((api) => driver.once(api, 'POST', `/v1/contacts/${contactId}/messages`, { messageId, text }))).entries()) {
            if ('status' in answer && answer.status < 300) ledger.messages.push({ contactId, messageId, via: `api-${api + 1}`, status: answer.status });
            else ledger.saw(`POST messages twice at once: ${'error' in answer ? answer.error : answer.status}`);
          }
        };
        await twice(invalid, 'what do you mean?');
        await driver.until(contactId, (s) => s.invalidReplies >= 1, 60_000);
        await sleep(500);
        await driver.say(contactId, invalid, 'what do you mean?');
        await twice(valid, `ok: ${email}`);
        await driver.until(contactId, (s) => s.state === 'assigned', 60_000);
        await driver.say(contactId, valid, `ok: ${email}`);
        await driver.say(contactId, invalid, 'what do you mean?');
        if (closeIt) {
          await both((api) => driver.once(api, 'POST', `/v1/conversations/${contactId}/close`));
          await driver.close(contactId, { final: (status) => status === 404 });
        }
      });
      ledger.note(`POST /v1/conversations twice at once: answers ${[...opens].map(([status, n]) => `${status} ×${n}`).join(', ')}`);

      // Through respond.io's webhook.
      const dupAnswers = new Map<string, number>();
      const twiceHook = async (event: Parameters<Driver['recordWebhook']>[0]) => {
        for (const [api, answer] of (await both((api) => driver.webhookOnce(api, event))).entries()) {
          if ('status' in answer && answer.status === 200) {
            driver.recordWebhook(event, 200, api, answer.body?.duplicate === true);
            const key = `${event.event_type} duplicate=${answer.body?.duplicate}`;
            dupAnswers.set(key, (dupAnswers.get(key) ?? 0) + 1);
          } else ledger.saw(`webhook twice at once: ${'error' in answer ? answer.error : answer.status}`);
        }
      };
      const later = async (event: Parameters<Driver['recordWebhook']>[0]) => {
        await sleep(1_000);
        await driver.webhook(event);
      };
      await inParallel(Array.from({ length: ctx.sizes.duplicates.webhook }), 3, async (_, i) => {
        const contactId = newContactId();
        const { email, expect } = customer(ctx.infra, i % 2 ? 'regular' : 'vip', contactId);
        const closeIt = i % 2 === 1;
        ledger.expect({ contactId, label: 'webhook-twice', expect: closeIt ? CLOSED : { ...expect, invalidReplies: 1, pathIncludes: ['valid_reply'] } });
        const open = conversationOpened({ id: Number(contactId), email: null, firstName: 'Twice' });
        await twiceHook(open);
        await untilAsked(driver, contactId);
        await later(open);
        const invalid = messageReceived({ id: Number(contactId) }, { messageId: newMessageNumber(), text: 'hmm' });
        await twiceHook(invalid);
        await driver.until(contactId, (s) => s.invalidReplies >= 1, 60_000);
        await later(invalid);
        const valid = messageReceived({ id: Number(contactId) }, { messageId: newMessageNumber(), text: `it's ${email}` });
        await twiceHook(valid);
        await driver.until(contactId, (s) => s.state === 'assigned', 60_000);
        await later(valid);
        if (closeIt) {
          const closed = conversationClosed({ id: Number(contactId) });
          await twiceHook(closed);
          await driver.until(contactId, (s) => s.state === 'closed', 60_000);
          await later(closed);
          // The opening event again, after the close: it must not open a second conversation.
          await later(open);
        }
      });
      ledger.note(`webhooks delivered twice at once: ${[...dupAnswers].map(([what, n]) => `${what} ×${n}`).join(', ')}`);
    }),
};
