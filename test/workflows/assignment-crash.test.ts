import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { workflowIdForContact } from '../../src/workflows/definitions';
import { Harness } from '../support/harness';
import { assignmentsOf } from '../support/time-skipping';
import { harnessWorkerEnv, spawnWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../support/worker-process';

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

const localActivityMarkers = (events: HistoryEvent[]) => events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity');

/**
 * requestAssignment runs as a local activity inside the workflow task (runs recorded before ran it as an activity):
 * killed after its commit, the task never completes, times out, and the replacement worker runs it again.
 */
describe('a worker killed between the assignment commit and the activity report', () => {
  let h: Harness;
  const processes = new Set<WorkerProcess>();

  const spawn = async (crashAfterActivity?: string) => {
    const child = await spawnWorkerProcess({ ...harnessWorkerEnv(h), crashAfterActivity });
    processes.add(child);
    child.once('exit', () => processes.delete(child));
    return child;
  };

  before(async () => {
    h = await Harness.start();
    await h.stopWorker(); // only the worker processes below serve the task queue
    await h.putAgent('crash-carl', { team: 'support', capacity: 5 });
  });
  after(async () => {
    for (const child of processes) await stopWorkerProcess(child, 'SIGKILL');
    await h.close();
  });

  it('keeps exactly one assignment when the retried requestAssignment runs on a replacement worker', async (t) => {
    const id = h.contactId('crash-assign');
    const handle = h.client.workflow.getHandle(workflowIdForContact(id));

    const crashing = await spawn('requestAssignment');
    const crashed = once(crashing, 'exit');
    assert.equal((await h.open({ id, email: `${id}@example.com` })).status, 202);
    const [, signal] = await Promise.race([
      crashed,
      new Promise<never>((_, timedOut) => setTimeout(() => timedOut(new Error('the worker never reached requestAssignment')), 30_000)),
    ]);
    const crashedAt = Date.now();
    assert.equal(signal, 'SIGKILL');

    // The assignment is committed, but the server never heard back from the workflow task that made it.
    assert.deepEqual(await assignmentsOf(h.db, id), [{ agentId: 'crash-carl', via: 'team', released: false }]);
    assert.deepEqual(localActivityMarkers((await handle.fetchHistory()).events ?? []), [], 'no step of the lost task reached the history');

    await spawn();
    const assigned = await h.waitForState(id, 'assigned', 60_000);
    const recoveredMs = Date.now() - crashedAt;
    assert.deepEqual(assigned.assignee, { agentId: 'crash-carl', name: 'crash-carl', team: 'support' });
    assert.deepEqual(assigned.path, ['trigger', 'check_email', 'fetch_crm', 'crm_not_found', 'tier:regular', 'assigned']);

    assert.deepEqual(await assignmentsOf(h.db, id), [{ agentId: 'crash-carl', via: 'team', released: false }], 'the retry returned the committed assignment');
    const { body } = await h.request('GET', '/v1/agents');
    assert.deepEqual(body.agents.map((a: { id: string; openConversations: number }) => [a.id, a.openConversations]), [['crash-carl', 1]]);
    assert.deepEqual((await h.request('GET', '/v1/queue')).body.queue, []);

    const events = (await handle.fetchHistory()).events ?? [];
    assert.ok(events.some((e) => e.workflowTaskTimedOutEventAttributes), 'the dead worker\'s workflow task timed out');
    assert.equal(localActivityMarkers(events).length, 3, 'saveContact, the CRM request and requestAssignment, each recorded once');
    // The workflow task timeout (10 s) and a worker start: seconds, on a loaded machine too.
    assert.ok(recoveredMs < 30_000, `crash → assigned took ${recoveredMs} ms`);
    t.diagnostic(`crash → assigned on the replacement worker in ${recoveredMs} ms (workflow task timeout 10 s)`);
  });
});
