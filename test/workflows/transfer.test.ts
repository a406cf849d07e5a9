import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Harness } from '../support/harness';

/** Transfers, closes and re-routes through the API, with capacity accounting checked after each. */
describe('transfer, close and re-route', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start({
      routing: { regular: { chain: [{ kind: 'team', team: 'desk' }] }, assignment: { rerouteOnOffline: true } },
    });
  });
  after(() => h.close());

  async function assignedTo(agentId: string, label: string): Promise<string> {
    const id = h.contactId(label);
    await h.open({ id, email: `${id}@example.com` });
    const status = await h.waitForState(id, 'assigned');
    assert.equal(status.assignee?.agentId, agentId, `${label} went to ${status.assignee?.agentId}`);
    return id;
  }
  const open = async (agentId: string) => h.openAssignments(agentId);
  const transfer = (contactId: string, body: object) => h.request('POST', `/v1/conversations/${contactId}/transfer`, body);

  it('moves a conversation to an agent with room, and capacity follows', async () => {
    await h.putAgent('t-ann', { team: 'desk', capacity: 2 });
    const id = await assignedTo('t-ann', 'to-agent');
    await h.putAgent('t-ben', { team: 'other', capacity: 1 });
    const moved = await transfer(id, { agentId: 't-ben', reason: 'speaks Portuguese' });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    assert.deepEqual([moved.body.assignee.agentId, moved.body.assignee.via], ['t-ben', 'transfer']);
    const status = await h.conversation(id);
    assert.equal(status.assignee?.agentId, 't-ben');
    assert.ok(status.path.includes('transfer'));
    assert.deepEqual([await open('t-ann'), await open('t-ben')], [0, 1]);
    const { rows } = await h.db.query('SELECT agent_id, released_at IS NOT NULL AS released FROM assignments WHERE contact_id = $1 ORDER BY id', [id]);
    assert.deepEqual(rows, [
      { agent_id: 't-ann', released: true },
      { agent_id: 't-ben', released: false },
    ]);
    await h.recordHistory(id, 'transferred-to-agent');
  });

  it('refuses a transfer to an agent at capacity unless forced', async () => {
    const id = await assignedTo('t-ann', 'refused');
    const refused = await transfer(id, { agentId: 't-ben' });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'transfer_refused');
    assert.equal((await h.conversation(id)).assignee?.agentId, 't-ann', 'nothing changed');
    const forced = await transfer(id, { agentId: 't-ben', force: true });
    assert.equal(forced.status, 200);
    assert.deepEqual([await open('t-ann'), await open('t-ben')], [0, 2], 'forced past capacity, on purpose');
  });

  it('moves a conversation to a team, choosing by the team strategy', async () => {
    await h.putAgent('t-cat', { team: 'vip-desk', capacity: 3 });
    await h.putAgent('t-dan', { team: 'vip-desk', capacity: 3 });
    // Cat holds one conversation, Dan none: the team's least-open strategy can only mean Dan (round robin, or
    // the first agent by id, would mean Cat).
    const loaded = await assignedTo('t-ann', 'cat-load');
    assert.equal((await transfer(loaded, { agentId: 't-cat' })).status, 200);
    assert.deepEqual([await open('t-cat'), await open('t-dan')], [1, 0]);

    const id = await assignedTo('t-ann', 'to-team');
    const moved = await transfer(id, { team: 'vip-desk' });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    assert.deepEqual(
      [moved.body.assignee.agentId, moved.body.assignee.team, moved.body.assignee.via, moved.body.assignee.strategy],
      ['t-dan', 'vip-desk', 'transfer', 'least_open'],
    );
    assert.equal((await h.conversation(id)).assignee?.agentId, 't-dan');
    assert.deepEqual([await open('t-ann'), await open('t-cat'), await open('t-dan')], [0, 1, 1]);
  });

  it('refuses a transfer to a team with nobody free (409 transfer_refused), and the conversation stays put', async () => {
    await h.putAgent('t-fay', { team: 'full-desk', capacity: 1 });
    await h.putAgent('t-gus', { team: 'full-desk', capacity: 5, online: false });
    const filler = await assignedTo('t-ann', 'fills-fay');
    assert.equal((await transfer(filler, { agentId: 't-fay' })).status, 200);

    const id = await assignedTo('t-ann', 'to-full-team');
    const refused = await transfer(id, { team: 'full-desk' });
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'transfer_refused');
    assert.match(refused.body.error.message, /team full-desk/);
    const status = await h.conversation(id);
    assert.equal(status.assignee?.agentId, 't-ann', 'nothing changed');
    assert.ok(status.path.includes('transfer_refused'), 'the refusal is in the run');
    assert.deepEqual([await open('t-ann'), await open('t-fay'), await open('t-gus')], [1, 1, 0]);

    for (const contactId of [filler, id]) {
      await h.request('POST', `/v1/conversations/${contactId}/close`);
      await h.waitForState(contactId, 'closed');
    }
  });

  it('answers 400 to a malformed transfer, 404 to an unknown contact, 409 to a conversation nobody holds', async () => {
    const asking = h.contactId('asking');
    await h.open({ id: asking });
    await h.waitForState(asking, 'asking_email');
    assert.equal((await transfer(asking, {})).status, 400);
    assert.equal((await transfer(asking, { agentId: 't-ann', team: 'desk' })).status, 400);
    assert.equal((await transfer(asking, { agentId: 't-ann', force: 'yes' })).status, 400);
    assert.equal((await transfer('nobody-at-all', { agentId: 't-ann' })).status, 404);
    const notHeld = await transfer(asking, { agentId: 't-ann' });
    assert.equal(notHeld.status, 409);
    assert.equal(notHeld.body.error.code, 'not_transferable');
    assert.equal((await h.conversation(asking)).state, 'asking_email');
    await h.request('POST', `/v1/conversations/${asking}/close`);
  });

  it('a transfer frees a slot that a queued conversation then takes', async () => {
    await h.putAgent('t-ann', { team: 'desk', capacity: 1 });
    const holder = await assignedTo('t-ann', 'holder');
    const waiting = h.contactId('waiting');
    await h.open({ id: waiting, email: `${waiting}@example.com` });
    await h.waitForState(waiting, 'queued');
    assert.equal((await transfer(holder, { team: 'vip-desk' })).status, 200);
    const served = await h.waitForState(waiting, 'assigned');
    assert.equal(served.assignee?.agentId, 't-ann');
    assert.equal(await open('t-ann'), 1);
  });

  it('re-routes an agent’s conversations when they go offline, as the rules say', async () => {
    await h.putAgent('t-ann', { team: 'desk', capacity: 5 });
    await h.putAgent('t-eve', { team: 'desk', capacity: 5, online: false });
    const first = await assignedTo('t-ann', 'offline-1');
    const second = await assignedTo('t-ann', 'offline-2');
    await h.request('PATCH', '/v1/agents/t-eve', { online: true });
    assert.equal((await h.request('PATCH', '/v1/agents/t-ann', { online: false })).status, 200);
    for (const id of [first, second]) {
      const status = await h.waitFor(id, (s) => s.assignee?.agentId === 't-eve');
      assert.ok(status.path.includes('agent_offline'));
    }
    assert.equal(await open('t-ann'), 0);
    await h.recordHistory(first, 'rerouted-agent-offline');
  });

  it('keeps capacity accounting exact: every open conversation counted once, zero after all close', async () => {
    const { rows: openRows } = await h.db.query(
      `SELECT count(*)::int AS assignments, count(DISTINCT conversation_id)::int AS conversations FROM assignments WHERE released_at IS NULL`,
    );
    assert.equal(openRows[0].assignments, openRows[0].conversations, 'no conversation with two assignees');
    const { body } = await h.request('GET', '/v1/agents');
    const counted = body.agents.reduce((sum: number, a: { openConversations: number }) => sum + a.openConversations, 0);
    assert.equal(counted, openRows[0].assignments);

    const { rows: contacts } = await h.db.query(`SELECT DISTINCT contact_id FROM assignments WHERE released_at IS NULL`);
    for (const { contact_id } of contacts) await h.request('POST', `/v1/conversations/${contact_id}/close`);
    for (const { contact_id } of contacts) await h.waitForState(contact_id, 'closed');
    assert.equal(await h.openAssignments(), 0);
    const after = await h.request('GET', '/v1/agents');
    assert.ok(after.body.agents.every((a: { openConversations: number }) => a.openConversations === 0));
  });
});
