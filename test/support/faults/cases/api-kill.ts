import { conversationOpened, messageReceived } from '../../respondio-payloads';
import { type Driver, newContactId, newMessageNumber } from '../driver';
import type { World } from '../topology';
import { customer, type FaultCase, runCase, sleep, staff, untilAsked } from './case';

/** Waits until a webhook event is leased (claimed by an inbox); which attempt it is on. */
async function untilLeased(world: World, eventId: string, timeoutMs = 3_000): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { rows } = await world.db.query(`SELECT attempts, locked_until, status FROM webhook_events WHERE event_id = $1`, [eventId]);
    if (rows[0] && rows[0].attempts >= 1) return rows[0].attempts;
    await sleep(20);
  }
  return undefined;
}

/**
 * (e) An API process killed between accepting a request and signalling the run (its Temporal traffic held), and
 * between signalling and writing the transcript (its PostgreSQL traffic held); a webhook event accepted (200) by an
 * API killed before applying it: what the sender sees, and whether a retry or redelivery to the other API delivers
 * it exactly once.
 */
export const apiKills: FaultCase = {
  id: 'api-kill',
  title: 'API process killed between accepting and signalling',
  run: (ctx) =>
    runCase(ctx, 'api-kill', { settleMs: 120_000, proxiedApi: true }, async ({ world, driver, ledger }) => {
      const proxies = world.proxies!;
      const [api1] = world.apis;
      await staff(driver, [100, 100]);
      const warm = () => driver.once(0, 'GET', '/v1/agents'); // API keys are cached 5 s: no PostgreSQL read on the way in
      const killApi1 = async () => {
        await api1!.kill9();
        proxies.temporal.drop();
        proxies.postgres.drop();
        proxies.temporal.release();
        proxies.postgres.release();
      };
      const seen = (reply: Awaited<ReturnType<Driver['once']>>) => ('error' in reply ? `network error: ${reply.error}` : `${reply.status}`);

      // 1. Webhooks answered 200 by API 1, which dies before applying them (its Temporal calls held).
      const opened = newContactId();
      const vip = customer(ctx.infra, 'vip', opened);
      ledger.expect({ contactId: opened, label: 'webhook-open-after-kill', expect: vip.expect });
      const askedByWebhook = newContactId();
      const askedEmail = customer(ctx.infra, 'regular', askedByWebhook);
      ledger.expect({ contactId: askedByWebhook, label: 'webhook-reply-after-kill', expect: { ...askedEmail.expect, pathIncludes: ['valid_reply'] } });
      await driver.webhook(conversationOpened({ id: Number(askedByWebhook), email: null, firstName: 'Hook' }), { api: 1 });
      await untilAsked(driver, askedByWebhook);
      const openEvent = conversationOpened({ id: Number(opened), email: vip.email, firstName: 'Hook' });
      const replyEvent = messageReceived({ id: Number(askedByWebhook) }, { messageId: newMessageNumber(), text: `mine is ${askedEmail.email}` });
      proxies.temporal.hold();
      const answers = [await driver.webhookOnce(0, openEvent), await driver.webhookOnce(0, replyEvent)];
      const leases = [await untilLeased(world, openEvent.event_id), await untilLeased(world, replyEvent.event_id)];
      await killApi1();
      const killedAt = Date.now();
      for (const [i, event] of [openEvent, replyEvent].entries()) {
        const answer = answers[i]!;
        if ('status' in answer && answer.status === 200) driver.recordWebhook(event, 200, 0, false);
        ledger.note(`webhook ${event.event_type}: API 1 answered ${seen(answer)}, ${leases[i] ? 'its inbox had leased it' : 'not yet leased'} when killed`);
      }
      // respond.io redelivers to the other API at once: recorded, not applied twice.
      for (const event of [openEvent, replyEvent]) {
        const redelivered = await driver.webhookOnce(1, event);
        if ('status' in redelivered && redelivered.status === 200) driver.recordWebhook(event, 200, 1, redelivered.body?.duplicate === true);
        ledger.note(`the same ${event.event_type} redelivered to API 2 at once: ${seen(redelivered)}${'status' in redelivered ? ` duplicate=${redelivered.body?.duplicate}` : ''}`);
      }
      const applied = (async () => {
        const [openRun, replyRun] = await Promise.all([
          driver.until(opened, () => true, 120_000, 250),
          driver.until(askedByWebhook, (s) => s.path.includes('valid_reply'), 120_000, 250),
        ]);
        const took = ((Date.now() - killedAt) / 1000).toFixed(1);
        if (openRun && replyRun) ledger.note(`those events took effect ${took} s after API 1 died (an inbox lease is 40 s)`);
        else ledger.problem(`of the webhook events API 1 had accepted before it died, ${openRun ? 'the reply' : replyRun ? 'the open' : 'neither'} took effect within ${took} s`);
      })();
      await api1!.start();

      // 2. POST /v1/conversations: API 1 dies while its start is held.
      const started = newContactId();
      const startedCustomer = customer(ctx.infra, 'regular', started);
      ledger.expect({ contactId: started, label: 'open-api-killed', expect: startedCustomer.expect });
      await warm();
      proxies.temporal.hold();
      const pendingOpen = driver.once(0, 'POST', '/v1/conversations', { contact: { id: started, email: startedCustomer.email } });
      await sleep(700);
      await killApi1();
      const openSaw = seen(await pendingOpen);
      const exists = await driver.status(started, 1);
      const retried = await driver.open(started, { email: startedCustomer.email }, { api: 1 });
      const startSeen = `POST /v1/conversations, API killed before the start reached Temporal: the sender saw ${openSaw}`;
      // Temporal was held: a run that exists anyway means the start went through while the sender was told it failed.
      if (exists) ledger.problem(`${startSeen}, yet a run existed before the retry`);
      else ledger.note(`${startSeen}, no run existed, its retry on API 2 got ${retried?.status ?? 'nothing'}`);
      await api1!.start();

      // 3. A reply: API 1 dies before its signal reaches the run (Temporal held).
      const before = newContactId();
      const beforeCustomer = customer(ctx.infra, 'vip', before);
      ledger.expect({ contactId: before, label: 'reply-api-killed-before-signal', expect: { ...beforeCustomer.expect, pathIncludes: ['valid_reply'] } });
      await driver.open(before, {}, { api: 1 });
      await untilAsked(driver, before);
      const beforeMessage = `m-${newMessageNumber()}`;
      await warm();
      proxies.temporal.hold();
      const pendingBefore = driver.once(0, 'POST', `/v1/contacts/${before}/messages`, { messageId: beforeMessage, text: beforeCustomer.email });
      await sleep(700);
      await killApi1();
      const beforeSaw = seen(await pendingBefore);
      const beforeState = await driver.status(before, 1);
      const beforeRetry = await driver.say(before, beforeMessage, beforeCustomer.email, { api: 1 });
      ledger.note(
        `reply, API killed before signalling: the sender saw ${beforeSaw}, the run ${beforeState?.path.includes('valid_reply') ? 'HAD' : 'had not'} received it, its retry on API 2 got ${beforeRetry?.status ?? 'nothing'} (duplicate: ${beforeRetry?.body?.duplicate})`,
      );
      await api1!.start();

      // 4. A reply: API 1 dies after signalling the run, before writing the transcript (PostgreSQL held).
      const after = newContactId();
      const afterCustomer = customer(ctx.infra, 'regular', after);
      ledger.expect({ contactId: after, label: 'reply-api-killed-after-signal', expect: { ...afterCustomer.expect, pathIncludes: ['valid_reply'], invalidReplies: 0 } });
      await driver.open(after, {}, { api: 1 });
      await untilAsked(driver, after);
      const afterMessage = `m-${newMessageNumber()}`;
      await warm();
      proxies.postgres.hold();
      const pendingAfter = driver.once(0, 'POST', `/v1/contacts/${after}/messages`, { messageId: afterMessage, text: afterCustomer.email });
      const signalled = await driver.until(after, (s) => s.path.includes('valid_reply'), 15_000, 100);
      await killApi1();
      const inTranscript = await world.db.query(`SELECT 1 FROM messages WHERE contact_id = $1 AND external_id = $2`, [after, afterMessage]);
      const afterSaw = seen(await pendingAfter);
      const afterRetry = await driver.say(after, afterMessage, afterCustomer.email, { api: 1 });
      const afterSeen = `reply, API killed after signalling, before the transcript write: the sender saw ${afterSaw}`;
      if (!signalled?.path.includes('valid_reply')) ledger.problem(`${afterSeen}, and the run had not used the reply within 15 s of it being sent`);
      ledger.note(
        `${afterSeen}, the transcript ${inTranscript.rowCount ? 'had' : 'did not have'} it; its retry on API 2 got ${afterRetry?.status ?? 'nothing'} (duplicate: ${afterRetry?.body?.duplicate})`,
      );
      await api1!.start();
      await applied;
    }),
};
