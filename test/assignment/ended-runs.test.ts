import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { temporalEndedRuns } from '../../src/assignment/dispatcher';
import { ROUTING_WORKFLOW, workflowIdForContact } from '../../src/workflows/definitions';
import { Harness } from '../support/harness';

/**
 * Capacity is released by the runs themselves: a run terminated from Temporal UI leaves its place held unless the
 * workers' reconciler gives it back. Measured with the service's own check interval.
 */
describe('what runs that ended abnormally hold', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start({ routing: { regular: { chain: [{ kind: 'team', team: 'solo' }] } } });
    await h.putAgent('solo-sam', { team: 'solo', capacity: 1 });
  });
  after(() => h.close());

  const runOf = async (contactId: string) => {
    const { conversationId } = await h.conversation(contactId);
    return h.client.workflow.getHandle(workflowIdForContact(contactId), conversationId);
  };

  it('gives back the only place of an agent held by a terminated run within a minute, to the conversation waiting for it', async (t) => {
    const holder = h.contactId('held');
    const waiting = h.contactId('waiting');
    await h.open({ id: holder, email: `${holder}@example.com` });
    await h.waitFor(holder, (s) => s.state === 'assigned' && s.assignee?.agentId === 'solo-sam');
    await h.open({ id: waiting, email: `${waiting}@example.com` });
    await h.waitForState(waiting, 'queued');

    await (await runOf(holder)).terminate('terminated by an operator in Temporal UI');
    const terminatedAt = Date.now();
    const served = await h.waitFor(waiting, (s) => s.state === 'assigned', 60_000);
    const tookMs = Date.now() - terminatedAt;
    assert.equal(served.assignee?.agentId, 'solo-sam');
    assert.ok(tookMs < 60_000, `the place came back after ${tookMs} ms`);
    t.diagnostic(`the place came back ${tookMs} ms after the run was terminated`);
    const { rows } = await h.db.query(`SELECT contact_id, released_at IS NULL AS open FROM assignments WHERE agent_id = 'solo-sam' ORDER BY id`);
    assert.deepEqual(rows, [
      { contact_id: holder, open: false },
      { contact_id: waiting, open: true },
    ]);
    assert.equal((await runOf(waiting).then((run) => run.describe())).status.name, 'RUNNING', 'the served run goes on');

    await h.request('POST', `/v1/conversations/${waiting}/close`);
    await h.waitForState(waiting, 'closed');
  });

  it('tells a running run, however slow, and a new conversation under a reused workflow id from a run that has ended', async () => {
    const contact = h.contactId('reused');
    const workflowId = workflowIdForContact(contact);
    await h.open({ id: contact, email: null });
    await h.waitForState(contact, 'asking_email');
    const { conversationId: firstConversation } = await h.conversation(contact);
    const ended = temporalEndedRuns(h.client);
    assert.deepEqual(await ended([{ workflowId, conversationId: firstConversation }]), [], 'waiting for a reply is running');

    await h.request('POST', `/v1/conversations/${contact}/close`);
    await h.waitForState(contact, 'closed');
    await h.open({ id: contact, email: null });
    const second = await h.waitFor(contact, (s) => s.state === 'asking_email' && s.conversationId !== firstConversation);
    const found = await ended([
      { workflowId, conversationId: firstConversation },
      { workflowId, conversationId: second.conversationId },
      { workflowId: workflowIdForContact(h.contactId('never-started')), conversationId: 'no-such-run' },
    ]);
    assert.deepEqual(
      found.sort(),
      [firstConversation, 'no-such-run'].sort(),
      'the earlier conversation and a run Temporal never had have ended; the new conversation is running',
    );
    assert.equal((await h.client.workflow.getHandle(workflowId).describe()).type, ROUTING_WORKFLOW);
    await h.request('POST', `/v1/conversations/${contact}/close`);
    await h.waitForState(contact, 'closed');
  });
});
