import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dispatch, releaseAssignment } from '../../src/assignment/store';
import { Harness } from '../support/harness';

/**
 * The dispatcher commits, then signals the runs it served. A crash (or a refused signal) in between must not
 * leave a run waiting for an assignment it already has: the wake-up is kept in PostgreSQL and sent again.
 */
describe('wake-ups lost between a dispatch and its signal', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start({ routing: { regular: { chain: [{ kind: 'team', team: 'solo' }] } } });
  });
  after(() => h.close());

  /** A queued run served by a dispatch that "crashed" before signalling: assigned in the database, still queued in its run. */
  async function servedButNotTold(label: string): Promise<{ holder: string; waiting: string }> {
    await h.putAgent(`${label}-agent`, { team: 'solo', capacity: 1 });
    const holder = h.contactId(`${label}-holder`);
    await h.open({ id: holder, email: `${holder}@example.com` });
    await h.waitForState(holder, 'assigned');
    const waiting = h.contactId(`${label}-waiting`);
    await h.open({ id: waiting, email: `${waiting}@example.com` });
    await h.waitForState(waiting, 'queued');

    const { conversationId } = await h.conversation(holder);
    await releaseAssignment(h.db, conversationId);
    const made = await dispatch(h.db);
    assert.deepEqual(made.map((m) => m.assignment.agentId), [`${label}-agent`]);
    assert.equal((await h.conversation(waiting)).state, 'queued', 'the run was not told');
    return { holder, waiting };
  }

  it('is sent again when a worker starts', async () => {
    const { waiting } = await servedButNotTold('restart');
    await h.stopWorker();
    await h.startWorker();
    const status = await h.waitForState(waiting, 'assigned');
    assert.equal(status.assignee?.agentId, 'restart-agent');
    const { rows } = await h.db.query(`SELECT count(*)::int AS n FROM assignments WHERE wake_pending`);
    assert.equal(rows[0].n, 0);
  });

  it('a worker start serves capacity that was freed but never dispatched', async () => {
    await h.request('PATCH', '/v1/agents/restart-agent', { online: false });
    await h.putAgent('freed-agent', { team: 'solo', capacity: 1 });
    const holder = h.contactId('freed-holder');
    await h.open({ id: holder, email: `${holder}@example.com` });
    await h.waitForState(holder, 'assigned');
    const waiting = h.contactId('freed-waiting');
    await h.open({ id: waiting, email: `${waiting}@example.com` });
    await h.waitForState(waiting, 'queued');
    // A release committed by a process that died before it could dispatch.
    await releaseAssignment(h.db, (await h.conversation(holder)).conversationId);
    await h.stopWorker();
    await h.startWorker();
    assert.equal((await h.waitForState(waiting, 'assigned')).assignee?.agentId, 'freed-agent');
    await h.request('PATCH', '/v1/agents/freed-agent', { online: false });
  });

  it('is sent again by the next dispatch, whoever triggers it', async () => {
    const { waiting } = await servedButNotTold('later');
    await h.putAgent('later-other', { team: 'elsewhere', capacity: 1 });
    const status = await h.waitForState(waiting, 'assigned');
    assert.equal(status.assignee?.agentId, 'later-agent');
  });
});
