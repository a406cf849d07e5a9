import { between, type FaultCase, flow, FLOW_MIX, pick, runCase, sleep, staff } from './case';

/** (a) A worker SIGKILLed at random moments, again and again, while conversations flow; sometimes both are down. */
export const workerKills: FaultCase = {
  id: 'worker-sigkill',
  title: 'worker SIGKILLed at random moments while conversations flow',
  run: (ctx) =>
    runCase(ctx, 'worker-sigkill', { settleMs: 180_000 }, async ({ world, driver, ledger }) => {
      const { conversations, kills } = ctx.sizes.workerKills;
      await staff(driver, [100, 100, 100, 100]);
      let opened = 0;
      let killed = 0;
      let bothDown = 0;
      const flows = (async () => {
        const running: Array<Promise<void>> = [];
        for (; opened < conversations; opened++) {
          // Never far ahead of the kills (a restart takes seconds): the kills land while conversations keep coming.
          while (killed < Math.floor((opened * kills) / conversations) - 2) await sleep(50);
          running.push(flow(ctx, driver, pick(ctx.random, FLOW_MIX), ctx.random() < 0.1));
          await sleep(between(ctx.random, 200, 800));
        }
        await Promise.all(running);
      })();
      // The kills spread over the flow: kill k comes once k/(kills+1) of the conversations have been opened.
      let killedWhileOpening = 0;
      while (killed < kills) {
        const threshold = Math.floor((conversations * (killed + 1)) / (kills + 1));
        while (opened < threshold) await sleep(50);
        await sleep(between(ctx.random, 0, 1_500));
        if (killed % 5 === 4 && killed + 2 <= kills) {
          // Both at once: nothing runs until one is back.
          await Promise.all(world.workers.map((w) => w.kill9()));
          killed += 2;
          bothDown++;
          await sleep(between(ctx.random, 500, 3_000));
          await Promise.all(world.workers.map((w) => w.start()));
        } else {
          const worker = pick(ctx.random, world.workers);
          await worker.kill9();
          killed++;
          await sleep(between(ctx.random, 0, 2_000));
          await worker.start();
        }
        if (opened < conversations) killedWhileOpening = killed;
      }
      await flows;
      ledger.note(
        `${killed} worker SIGKILLs (${bothDown} times both workers at once), ${killedWhileOpening} of them while conversations were still being opened`,
      );
    }),
};
