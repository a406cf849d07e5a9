import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { Harness } from '../support/harness';
import { assignmentsOf } from '../support/time-skipping';
import { harnessWorkerEnv, spawnWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../support/worker-process';

/**
 * A worker killed after a transfer committed and before the activity reported: the retry on the next worker must
 * find the transfer done, not move the conversation again nor report a refusal, and the run's assignee must be the
 * database's.
 */
describe('a worker killed between a transfer commit and its report', () => {
  let h: Harness;
  const processes = new Set<WorkerProcess>();
  const spawn = async (crashAfterActivity?: string) => {
    const child = await spawnWorkerProcess({ ...harnessWorkerEnv(h), crashAfterActivity });
    processes.add(child);
    child.once('exit', () => processes.delete(child));
    return child;
  };

  before(async () => {
    h = await Harness.start({ routing: { regular: { chain: [{ kind: 'team', team: 'tc-desk' }] } } });
    await h.stopWorker(); // only the worker processes below serve the task queue
    await h.putAgent('tc-ann', { team: 'tc-desk' });
    await h.putAgent('tc-ben', { team: 'tc-other' });
    await h.putAgent('tc-cid', { team: 'tc-other' });
  });
  after(async () => {
    for (const child of processes) await stopWorkerProcess(child, 'SIGKILL');
    await h.close();
  });

  async function transferThroughCrash(id: string, body: object) {
    // Only the crashing worker may pick up the transfer.
    for (const child of processes) await stopWorkerProcess(child, 'SIGTERM');
    const crashing = await spawn('transferConversation');
    const crashed = once(crashing, 'exit');
    assert.equal((await h.open({ id, email: null })).status, 202);
    await h.waitForState(id, 'asking_email');
    assert.equal((await h.say(id, `m-${id}`, `${id}@unknown.example.com`)).status, 202);
    await h.waitFor(id, (s) => s.state === 'assigned' && s.assignee?.agentId === 'tc-ann');
    // The update waits for the run; the run waits for the retried activity on the replacement worker.
    const answer = h.request('POST', `/v1/conversations/${id}/transfer`, body);
    const [, signal] = await crashed;
    assert.equal(signal, 'SIGKILL', 'the worker died right after the transfer committed');
    await spawn();
    return answer;
  }

  const agreeing = async (id: string) => {
    const status = await h.conversation(id);
    const open = (await assignmentsOf(h.db, id)).filter((a) => !a.released);
    assert.equal(open.length, 1);
    assert.equal(status.assignee?.agentId, open[0]!.agentId, "the run's assignee is the database's");
    return { status, rows: await assignmentsOf(h.db, id) };
  };

  it('an agent transfer answers the transfer it made, not a refusal', async () => {
    const id = h.contactId('tc-agent');
    const answer = await transferThroughCrash(id, { agentId: 'tc-ben' });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.assignee.agentId, 'tc-ben');
    const { rows } = await agreeing(id);
    assert.deepEqual(rows.map((r) => [r.agentId, r.released]), [['tc-ann', true], ['tc-ben', false]]);
    await h.request('POST', `/v1/conversations/${id}/close`);
    await h.waitForState(id, 'closed');
  });

  it('a team transfer moves the conversation once', async () => {
    const id = h.contactId('tc-team');
    const answer = await transferThroughCrash(id, { team: 'tc-other' });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const { status, rows } = await agreeing(id);
    assert.equal(rows.length, 2, `one move, not two: ${JSON.stringify(rows)}`);
    assert.equal(status.assignee?.agentId, answer.body.assignee.agentId);
  });
});
