import { inParallel, newContactId } from '../driver';
import { CLOSED, customer, type FaultCase, runCase, staff, waitForCounts } from './case';

/** (g) Two workers and two APIs racing on the same queue: many conversations, few slots, exact counts throughout. */
export const racingQueue: FaultCase = {
  id: 'race-2x2',
  title: '2 workers × 2 APIs racing on one queue',
  run: (ctx) =>
    runCase(ctx, 'race-2x2', { settleMs: 120_000 }, async ({ world, driver, ledger, sampler }) => {
      const { conversations, agents, capacity } = ctx.sizes.race;
      sampler.start(200);
      await staff(driver, Array.from({ length: agents }, () => capacity));
      const slots = agents * capacity;
      const contacts = Array.from({ length: conversations }, () => newContactId());
      await inParallel(contacts, 16, async (contactId, i) => {
        const { email } = customer(ctx.infra, 'unknown', contactId);
        // Whoever is still open at the end is assigned; the rest the case closes as slots free.
        ledger.expect({ contactId, label: 'racer', expect: { states: ['assigned'], team: 'support' } });
        await driver.open(contactId, { email }, { api: i % 2 });
      });
      let remaining = conversations;
      const plateaus: string[] = [];
      for (let round = 1; ; round++) {
        const want = { open: Math.min(slots, remaining), queued: Math.max(0, remaining - slots) };
        const seen = await waitForCounts(world, want, 90_000);
        plateaus.push(`${seen.open}+${seen.queued}q`);
        if (seen.open !== want.open || seen.queued !== want.queued) {
          ledger.note(`round ${round}: expected ${want.open} assigned and ${want.queued} queued, found ${seen.open} and ${seen.queued}`);
        }
        if (want.queued === 0) break;
        // Free every slot at once, through both APIs: the queue is served by whichever process gets there.
        const holders = (await world.db.query<{ contact_id: string }>(`SELECT contact_id FROM assignments WHERE released_at IS NULL`)).rows.map((r) => r.contact_id);
        await inParallel(holders, 16, async (contactId, i) => {
          ledger.reexpect(contactId, CLOSED);
          await driver.close(contactId, { api: i % 2, final: (status) => status === 404 });
        });
        remaining -= holders.length;
      }
      ledger.note(`${slots} slots; assigned+queued at each plateau: ${plateaus.join(' → ')}`);
    }),
};
