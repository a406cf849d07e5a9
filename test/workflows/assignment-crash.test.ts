import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { decodeTimeoutType } from '@temporalio/common';
import { workflowIdForContact } from '../../src/workflows/messages';
import { Harness } from '../support/harness';
import { assignmentsOf } from '../support/time-skipping';
import { harnessWorkerEnv, spawnWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../support/worker-process';

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

/** The requestAssignment activity as the history tells it: scheduled once, then started/completed with attempts. */
function requestAssignmentActivity(events: HistoryEvent[]) {
  const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'requestAssignment');
  const ids = new Set(scheduled.map((e) => String(e.eventId)));
  const started = events.filter((e) => ids.has(String(e.activityTaskStartedEventAttributes?.scheduledEventId)));
  const completed = events.filter((e) => ids.has(String(e.activityTaskCompletedEventAttributes?.scheduledEventId)));
  return { scheduled, started, completed };
}

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

    // The assignment is committed, but the server never heard back from the attempt that made it.
    assert.deepEqual(await assignmentsOf(h.db, id), [{ agentId: 'crash-carl', via: 'team', released: false }]);
    const lost = requestAssignmentActivity((await handle.fetchHistory()).events ?? []);
    assert.equal(lost.scheduled.length, 1);
    assert.equal(lost.completed.length, 0, 'the activity result never reached the server');

    await spawn();
    const assigned = await h.waitForState(id, 'assigned', 60_000);
    const recoveredMs = Date.now() - crashedAt;
    assert.deepEqual(assigned.assignee, { agentId: 'crash-carl', name: 'crash-carl', team: 'support' });
    assert.deepEqual(assigned.path, ['trigger', 'check_email', 'fetch_crm', 'crm_not_found', 'tier:regular', 'assigned']);

    assert.deepEqual(await assignmentsOf(h.db, id), [{ agentId: 'crash-carl', via: 'team', released: false }], 'the retry returned the committed assignment');
    const { body } = await h.request('GET', '/v1/agents');
    assert.deepEqual(body.agents.map((a: { id: string; openConversations: number }) => [a.id, a.openConversations]), [['crash-carl', 1]]);
    assert.deepEqual((await h.request('GET', '/v1/queue')).body.queue, []);

    const activity = requestAssignmentActivity((await handle.fetchHistory()).events ?? []);
    assert.equal(activity.scheduled.length, 1, 'one activity, retried by the server, not scheduled again by the workflow');
    assert.equal(activity.completed.length, 1);
    assert.equal(activity.started.length, 1);
    const start = activity.started[0]!.activityTaskStartedEventAttributes!;
    assert.equal(start.attempt, 2, 'the first attempt was lost with the worker, the second reported');
    assert.equal(
      decodeTimeoutType(start.lastFailure?.timeoutFailureInfo?.timeoutType),
      'HEARTBEAT',
      `attempt 1 ended by its heartbeat timeout, not the 30 s start-to-close: ${JSON.stringify(start.lastFailure)}`,
    );
    // The 5 s heartbeat timeout, the 1 s retry interval and a worker start: seconds, on a loaded machine too.
    assert.ok(recoveredMs < 20_000, `crash → assigned took ${recoveredMs} ms`);
    t.diagnostic(`crash → assigned on the replacement worker in ${recoveredMs} ms (heartbeat timeout 5 s)`);
  });
});
