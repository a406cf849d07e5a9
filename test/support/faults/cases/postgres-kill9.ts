import { inParallel } from '../driver';
import { between, type FaultCase, flow, type FlowKind, pick, runCase, sleep, staff } from './case';

/** (c) PostgreSQL killed -9 (postmaster and backends) and restarted on its data dir during a burst of assignments. */
export const postgresRestart: FaultCase = {
  id: 'postgres-kill9',
  title: 'PostgreSQL killed -9 and restarted mid-assignment',
  run: (ctx) =>
    runCase(ctx, 'postgres-kill9', { settleMs: 180_000 }, async ({ driver, ledger }) => {
      const { conversations, restarts } = ctx.sizes.postgres;
      const postgres = ctx.infra.postgres;
      await staff(driver, [100, 100, 100]);
      const kinds: FlowKind[] = ['vip', 'regular', 'unknown', 'ask-valid'];
      const burst = inParallel(Array.from({ length: conversations }), 8, () => flow(ctx, driver, pick(ctx.random, kinds), false));
      // Meanwhile an operator keeps changing an agent (a transaction in the API, and a dispatch when it gains room),
      // through both APIs: some transaction is in flight when PostgreSQL dies.
      let operating = true;
      let changes = 0;
      const operator = (async () => {
        while (operating) {
          const reply = await driver.once(changes % 2, 'PATCH', '/v1/agents/vip-1', { capacity: 100 + (changes % 2) });
          if ('status' in reply && reply.status === 200) changes++;
          else await sleep(200);
        }
      })();
      const opened = () => ledger.triggers.length;
      for (let restart = 1; restart <= restarts; restart++) {
        // Mid-burst: some conversations assigned, others assigning, others not yet opened.
        const at = Math.floor((conversations * restart) / (restarts + 1));
        while (opened() < at) await sleep(50);
        await sleep(between(ctx.random, 0, 500));
        await postgres.kill9();
        const downAt = Date.now();
        await sleep(between(ctx.random, 2_000, 5_000));
        const restartMs = await postgres.restart();
        ledger.note(`PostgreSQL kill -9 #${restart} after ${opened()} conversations opened: down ${((Date.now() - downAt) / 1000).toFixed(1)} s, restart (crash recovery) ${restartMs} ms`);
      }
      await burst;
      operating = false;
      await operator;
      ledger.note(`an operator changed an agent ${changes} times meanwhile`);
      const lookups = ctx.infra.respondio.calls.filter((c) => c.method === 'GET' && c.path.endsWith('/message/list')).length;
      ledger.note(`sends never confirmed and looked up at respond.io before any second try: ${lookups}`);
    }),
};
