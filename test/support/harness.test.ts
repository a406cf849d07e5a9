import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { Harness } from './harness';

/** Restarts the harness's worker as one whose run() throws `message` when the real run ends (after 200 ms with `stopSoon`). */
async function restartWorkerFailingWith(h: Harness, message: string, stopSoon: boolean): Promise<void> {
  const run = Worker.prototype.run;
  Worker.prototype.run = async function (this: Worker) {
    if (stopSoon) setTimeout(() => this.shutdown(), 200);
    await run.call(this);
    throw new Error(message);
  };
  try {
    await h.stopWorker();
    await h.startWorker();
  } finally {
    Worker.prototype.run = run;
  }
}

/** The harness itself: whatever it hides, no test that uses it can see. */
describe('test harness', () => {
  it('close() fails with the error of a worker that died during the test, after tearing everything down', async () => {
    const h = await Harness.start();
    // A worker that polls for a moment, then dies, as after a fatal poll failure.
    await restartWorkerFailingWith(h, 'worker died under the test', true);
    const deadline = Date.now() + 10_000;
    while (h.worker?.getState() !== 'STOPPED') {
      assert.ok(Date.now() < deadline, `the worker is still ${h.worker?.getState()}`);
      await new Promise((tick) => setTimeout(tick, 50));
    }
    // Nobody looked at the worker since: close() is where the test learns it died.
    await assert.rejects(h.close(), /worker died under the test/);
    await assert.rejects(h.db.query('SELECT 1'), /Cannot use a pool after calling end/, 'torn down all the same');
  });

  it('close() fails with the error of a worker that fails as it shuts down', async () => {
    const h = await Harness.start();
    await restartWorkerFailingWith(h, 'worker failed while draining', false);
    await assert.rejects(h.close(), /worker failed while draining/);
  });

  it('start() that fails part-way shuts what it had opened and throws (the file ends rather than hangs)', async () => {
    // The routing config is checked after the database, Temporal connections and HTTP server are open.
    await assert.rejects(Harness.start({ routing: { askEmail: { maxReAsks: 'many' } } as never }), /routing config is invalid/);
  });

  it('transcript() fails on an error answer instead of passing it off as no messages', async () => {
    const h = await Harness.start();
    try {
      await assert.rejects(h.transcript('nobody-has-this-id'), /404/);
    } finally {
      await h.close();
    }
  });
});
