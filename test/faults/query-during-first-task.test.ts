import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { temporal } from '@temporalio/proto';
import { replayHistory } from '../../src/replay/history-replay';
import { stateQuery, workflowIdForContact } from '../../src/workflows/definitions';
import { Harness } from '../support/harness';

const { EventType } = temporal.api.enums.v1;

/**
 * The fault suite's worker-kill case, narrowed to its cause. A client reads a conversation (GET
 * /v1/conversations/{id}, the state query) while the run's first workflow task is still to be taken: the server hands
 * the query to the worker with that task. The task takes the run's first step as a local activity (saveContact) and
 * the worker answers the query before the step's result reaches the workflow, so it completes the task with the
 * step's result recorded and asks for a new task to go on in. The run then goes on as usual (asks for the email)
 * on the worker that has it cached; any other worker (after a crash, a deploy, a cache eviction) must replay that
 * history, and a conversation that cannot be replayed is stranded: its workflow tasks fail for good.
 */
describe('a conversation read while its first workflow task waits for a worker', () => {
  let h: Harness;

  before(async () => {
    h = await Harness.start();
    await h.putAgent('query-sam', { team: 'support', capacity: 5 });
  });
  after(() => h.close());

  it('replays on another worker and is routed when the contact answers', async () => {
    await h.stopWorker(); // no worker: the first workflow task waits
    const id = String(9_000_000 + Math.floor(Math.random() * 999_999));
    assert.equal((await h.open({ id, firstName: 'Quinn' })).status, 202);
    const handle = h.client.workflow.getHandle(workflowIdForContact(id));
    // Sent now, answered once a worker takes the first task (the server hands the query over with it).
    const earlyRead = handle.query(stateQuery);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await h.startWorker();
    assert.equal((await earlyRead).contactId, id);
    await h.waitForState(id, 'asking_email');

    const history = await handle.fetchHistory();
    const eagerTask = (history.events ?? []).some(
      (e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED && e.workflowTaskStartedEventAttributes?.requestId === 'request-from-RespondWorkflowTaskCompleted',
    );
    // The condition the bug needs: the worker answered the query within the first task and asked for another to go
    // on in. Without it the rest of this test proves nothing about the bug.
    assert.ok(eagerTask, 'the first task was not completed for the query with a new task asked for: the bug\'s condition was not reproduced');
    const verdict = await replayHistory(history, { workflowId: workflowIdForContact(id), codec: h.codec, workflowBundlePath: h.servers.workflowBundlePath });

    // Another worker takes over the conversation, as after a crash or a deploy; a client reads it; the contact answers.
    await h.stopWorker();
    await h.startWorker();
    const readAfterRestart = await handle.query(stateQuery).then(
      (s) => s.state,
      (error: unknown) => `the read failed: ${(error as Error).message}`,
    );
    assert.equal((await h.say(id, `m-${id}`, `me@${id}.example.com`)).status, 202);
    let routed: string;
    try {
      routed = (await h.waitForState(id, 'assigned', 30_000)).state;
    } catch (error) {
      routed = `not routed: ${(error as Error).message.slice(0, 300)}`;
    }
    assert.deepEqual(
      { replay: verdict.outcome === 'same' ? 'same' : verdict, readAfterRestart, routed },
      { replay: 'same', readAfterRestart: 'asking_email', routed: 'assigned' },
    );
  });
});
