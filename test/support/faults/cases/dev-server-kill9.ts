import { inParallel, newContactId, newMessageNumber } from '../driver';
import { between, CLOSED, customer, type FaultCase, runCase, sleep, staff, untilAsked, waitForCounts } from './case';

/** (b) The dev server killed -9 and restarted on its SQLite file while conversations wait for replies and in the queue. */
export const devServerRestart: FaultCase = {
  id: 'dev-server-kill9',
  title: 'Temporal dev server killed -9 and restarted on its SQLite file',
  run: (ctx) =>
    runCase(ctx, 'dev-server-kill9', { settleMs: 180_000 }, async ({ world, driver, ledger }) => {
      const { capacityPerAgent, queued, asking, inFlight, restarts } = ctx.sizes.devServer;
      const temporal = ctx.infra.temporal;
      await staff(driver, [capacityPerAgent, capacityPerAgent], 100);
      const slots = 2 * capacityPerAgent;

      // Agents at capacity, the rest queued behind them.
      const regulars = Array.from({ length: queued }, () => newContactId());
      await inParallel(regulars, 6, async (contactId) => {
        const { email, expect } = customer(ctx.infra, 'regular', contactId);
        ledger.expect({ contactId, label: 'queued-regular', expect });
        await driver.open(contactId, { email });
      });
      const plateau = await waitForCounts(world, { open: slots, queued: queued - slots }, 90_000);
      ledger.note(`before the kill: ${plateau.open} assigned (capacity ${slots}), ${plateau.queued} queued`);

      // Conversations waiting for the contact's reply.
      const asked = Array.from({ length: asking }, () => newContactId());
      const replies = new Map<string, string>();
      await inParallel(asked, 6, async (contactId, i) => {
        const { email, expect } = customer(ctx.infra, i % 2 === 0 ? 'vip' : 'regular', contactId);
        replies.set(contactId, email);
        ledger.expect({ contactId, label: 'asked', expect: { ...expect, pathIncludes: ['valid_reply'] } });
        await driver.open(contactId, { firstName: 'Waiting' });
        await untilAsked(driver, contactId);
      });

      // And some just starting when the server dies.
      const late = Array.from({ length: inFlight }, () => newContactId());
      const lateOpens = inParallel(late, 4, async (contactId) => {
        const { email, expect } = customer(ctx.infra, 'vip', contactId, 'am-2');
        ledger.expect({ contactId, label: 'in-flight-vip', expect });
        await driver.open(contactId, { email });
      });

      const assignedFirst = (await world.db.query<{ contact_id: string }>(`SELECT contact_id FROM assignments WHERE released_at IS NULL`)).rows.map(
        (r) => r.contact_id,
      );
      const [firstHalf, secondHalf] = [asked.slice(0, Math.ceil(asked.length / 2)), asked.slice(Math.ceil(asked.length / 2))];
      const reply = (contactId: string) => driver.say(contactId, `m-${newMessageNumber()}`, `here: ${replies.get(contactId)}`);
      const close = (contactId: string) => {
        ledger.reexpect(contactId, CLOSED);
        return driver.close(contactId, { final: (status) => status === 404 });
      };

      for (let restart = 1; restart <= restarts; restart++) {
        await sleep(restart === 1 ? 300 : between(ctx.random, 500, 2_000));
        await temporal.kill9();
        const downAt = Date.now();
        // The platform keeps sending while the server is down: replies, closes (senders retry what fails).
        const during =
          restart === 1
            ? [...firstHalf.map(reply), ...assignedFirst.slice(0, Math.ceil(assignedFirst.length / 2)).map(close)]
            : [...secondHalf.map(reply), ...assignedFirst.slice(Math.ceil(assignedFirst.length / 2)).map(close)];
        await sleep(between(ctx.random, 2_000, 5_000));
        const restartMs = await temporal.restart();
        ledger.note(`dev server kill -9 #${restart}: down ${((Date.now() - downAt) / 1000).toFixed(1)} s, restart took ${restartMs} ms`);
        await Promise.all(during);
      }
      await lateOpens;
      if (restarts === 1) {
        await Promise.all(secondHalf.map(reply));
        await Promise.all(assignedFirst.slice(Math.ceil(assignedFirst.length / 2)).map(close));
      }
      // Capacity frees: enough room for everyone left.
      await driver.patchAgent('sup-1', { capacity: 200 });
    }),
};
