import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RoutingConfigInput } from '../../src/domain/routing-config';
import type { ConversationStatus } from '../../src/domain/conversation';
import { AWAITS_FIRST_RESPONSE_MEMO, stateQuery, workflowIdForContact } from '../../src/workflows/definitions';
import { putAgent } from '../../src/db/agents';
import { SHIPPED_MESSAGES } from '../../src/domain/routing-texts';
import { Harness } from '../support/harness';
import { type RespondioStandIn, startRespondioStandIn } from '../support/respondio-standin';
import { assignmentsOf, type RoutingHandle, TimeSkippingServer, TimeSkippingWorld, timeSkippingWorldPerTest, waitForPendingTimer } from '../support/time-skipping';

const assignee = (agentId: string) => (s: ConversationStatus) => s.assignee?.agentId === agentId;
const decisionsOf = (s: ConversationStatus, step: string) => s.decisions.filter((d) => d.step === step).map((d) => d.detail);

async function signalsOf(handle: RoutingHandle, name: string): Promise<number> {
  const { events } = await handle.fetchHistory();
  return (events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === name).length;
}

async function memoOf(handle: RoutingHandle): Promise<unknown> {
  return (await handle.describe()).memo?.[AWAITS_FIRST_RESPONSE_MEMO];
}

// First in the file: the Harness installs the SDK's runtime with its metrics exported (once per process).
describe('a first-response timer outlives the worker', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start({ routing: { regular: { chain: [{ kind: 'agent', agentId: 'fr-ana' }, { kind: 'team', team: 'fr-next' }], firstResponse: '2s' } } });
    await h.putAgent('fr-ana', { team: 'support' });
    await h.putAgent('fr-ben', { team: 'fr-next' });
  });
  after(() => h.close());

  it('fires while no worker runs and moves the conversation on once one is back', async () => {
    const id = h.contactId('fr-restart');
    assert.equal((await h.open({ id, email: `${id}@example.com` })).status, 202);
    await h.waitFor(id, assignee('fr-ana'));
    await h.stopWorker();
    // The timer is the server's: it fires while nobody runs the workflow.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await h.startWorker();
    const moved = await h.waitFor(id, assignee('fr-ben'));
    assert.deepEqual(decisionsOf(moved, 'first_response_missed'), ['fr-ana did not write to the contact within 2 seconds']);
    assert.deepEqual(await assignmentsOf(h.db, id), [
      { agentId: 'fr-ana', via: 'dedicated_agent', released: true },
      { agentId: 'fr-ben', via: 'team', released: false },
    ]);
    const events = (await h.client.workflow.getHandle(workflowIdForContact(id)).fetchHistory()).events ?? [];
    assert.ok(events.some((e) => e.timerFiredEventAttributes), 'the timer fired on the server');
    const metrics: string = (await h.request('GET', '/metrics')).body;
    assert.match(metrics, /^vip_router_first_response_missed_total\{[^}]*tier="regular"[^}]*\} 1$/m);
  });
});

/**
 * The first-response timer on the time-skipping test server: an assignee who does not write to the contact within
 * the tier's time loses the conversation to the chain's next step (then the escalation path), with a note for the
 * agents; one who writes in time keeps it. The real dispatcher, PostgreSQL and API underneath.
 */
describe('first-response timer', () => {
  let w: TimeSkippingWorld;
  timeSkippingWorldPerTest((world) => (w = world));

  const routing: RoutingConfigInput = {
    tiers: [
      {
        name: 'vip',
        customerTypes: ['VIP'],
        priority: 10,
        firstResponse: '5m',
        chain: [{ kind: 'account_manager' }, { kind: 'team', team: 'vip' }],
      },
    ],
    regular: { firstResponse: '30m' },
    escalation: { firstResponse: '10m' },
  };

  const agentMessage = (contactId: string, messageId: string, agentId: string) =>
    w.callApi('POST', `/v1/contacts/${contactId}/messages`, { messageId, text: 'Hello, how can I help?', direction: 'outbound', agentId });

  it('moves a VIP on when nobody writes in time: account manager → VIP team → a manager, a note each time', async () => {
    await w.putAgent('am-1', { team: 'account-managers' });
    await w.putAgent('vip-vera', { team: 'vip' });
    await w.putAgent('mgr-maria', { team: 'managers', role: 'manager' });
    const id = w.contactId('fr-missed');
    const email = `${id}@example.com`;
    w.crm.script(email, { status: 200, body: { customerType: 'VIP', accountManager: 'am-1' } });
    const handle = await w.open({ id, email, language: 'es' }, routing);
    await w.waitFor(handle, assignee('am-1'));
    await waitForPendingTimer(handle);
    assert.equal(await memoOf(handle), true, 'agents’ messages are awaited');

    await w.env.sleep('4m');
    assert.equal((await handle.query(stateQuery)).assignee?.agentId, 'am-1', 'still within the 5 minutes');
    await w.env.sleep('1m');
    const moved = await w.waitFor(handle, assignee('vip-vera'));
    assert.equal(moved.state, 'assigned');
    assert.deepEqual(decisionsOf(moved, 'first_response_missed'), ['am-1 did not write to the contact within 5 minutes']);

    await waitForPendingTimer(handle);
    await w.env.sleep('5m');
    const escalated = await w.waitFor(handle, assignee('mgr-maria'));
    assert.equal(escalated.state, 'escalated');
    assert.deepEqual(decisionsOf(escalated, 'first_response_missed'), [
      'am-1 did not write to the contact within 5 minutes',
      'vip-vera did not write to the contact within 5 minutes',
    ]);
    assert.deepEqual(decisionsOf(escalated, 'escalate'), ['no first response on the last step of the vip chain']);

    // The escalation path's own time: the manager answers within 10 minutes and keeps the conversation.
    await waitForPendingTimer(handle);
    await w.env.sleep('8m');
    assert.equal((await agentMessage(id, `${id}-a1`, 'mgr-maria')).status, 202);
    const answered = await w.waitFor(handle, (s) => decisionsOf(s, 'first_response').length === 1);
    assert.match(decisionsOf(answered, 'first_response')[0]!, /^mgr-maria wrote to the contact after 4[89]\d(\.\d+)? s$/);
    await w.env.sleep('30m');
    assert.equal((await handle.query(stateQuery)).assignee?.agentId, 'mgr-maria');

    assert.deepEqual(await w.assignments(id), [
      { agentId: 'am-1', via: 'account_manager', released: true },
      { agentId: 'vip-vera', via: 'team', released: true },
      { agentId: 'mgr-maria', via: 'escalation', released: false },
    ]);
    const notes = (await w.transcript(id)).filter((m) => m.kind === 'first_response_note').map((m) => [m.direction, m.text]);
    assert.deepEqual(notes, [
      ['note', 'Reasignado: am-1 no respondió en 5 minutos.'],
      ['note', 'Reasignado: vip-vera no respondió en 5 minutos.'],
    ]);
    const { rows } = await w.db.query(
      `SELECT agent_id AS "agentId", first_response_tier AS tier, first_response_missed AS missed, round(first_response_seconds)::int AS seconds
         FROM assignments WHERE contact_id = $1 ORDER BY id`,
      [id],
    );
    assert.equal(rows.length, 3);
    assert.deepEqual(rows.slice(0, 2), [
      { agentId: 'am-1', tier: 'vip', missed: true, seconds: 300 },
      { agentId: 'vip-vera', tier: 'vip', missed: true, seconds: 300 },
    ]);
    assert.deepEqual({ ...rows[2], seconds: undefined }, { agentId: 'mgr-maria', tier: 'vip', missed: false, seconds: undefined });
    assert.equal(await memoOf(handle), false, 'answered: agents’ messages are no longer signalled');

    assert.equal((await w.callApi('POST', `/v1/conversations/${id}/close`)).status, 202);
    await w.waitFor(handle, (s) => s.state === 'closed');
    await w.recordHistory(id, 'first-response-missed-escalated');
  });

  it('keeps the conversation with an assignee who writes in time; the contact’s and other agents’ messages do not count', async () => {
    await w.putAgent('sup-sam', { team: 'support' });
    const id = w.contactId('fr-answered');
    const handle = await w.open({ id, email: `${id}@example.com` }, routing);
    await w.waitFor(handle, assignee('sup-sam'));
    await waitForPendingTimer(handle);

    await w.env.sleep('10m');
    assert.equal((await w.callApi('POST', `/v1/contacts/${id}/messages`, { messageId: `${id}-c1`, text: 'anyone there?' })).status, 202);
    assert.equal((await agentMessage(id, `${id}-o1`, 'sup-olga')).status, 202, 'another agent’s message is kept');
    assert.equal((await agentMessage(id, `${id}-s1`, 'sup-sam')).status, 202);
    const answered = await w.waitFor(handle, (s) => decisionsOf(s, 'first_response').length === 1);
    assert.match(decisionsOf(answered, 'first_response')[0]!, /^sup-sam wrote to the contact after 6\d\d(\.\d+)? s$/);

    await w.env.sleep('1h');
    const later = await handle.query(stateQuery);
    assert.equal(later.assignee?.agentId, 'sup-sam');
    assert.deepEqual(decisionsOf(later, 'first_response_missed'), []);
    assert.equal((await agentMessage(id, `${id}-s2`, 'sup-sam')).status, 202);
    assert.equal(await signalsOf(handle, 'agentMessageSent'), 2, 'signalled only while the timer ran: sup-olga’s and sup-sam’s first');
    assert.equal(await signalsOf(handle, 'messageReceived'), 0, 'an outbound message is never the contact’s answer');
    const transcript = (await w.transcript(id)).map((m) => `${m.direction}:${m.kind}:${m.messageId}`);
    assert.deepEqual(transcript, [`inbound:reply:${id}-c1`, `outbound:agent:${id}-o1`, `outbound:agent:${id}-s1`, `outbound:agent:${id}-s2`]);
    assert.deepEqual(await assignmentsOf(w.db, id), [{ agentId: 'sup-sam', via: 'team', released: false }]);
  });

  it('gives a new assignee after an operator’s transfer the full time again', async () => {
    await w.putAgent('sup-sam', { team: 'support' });
    await w.putAgent('sup-tina', { team: 'support' });
    const id = w.contactId('fr-transfer');
    const handle = await w.open({ id, email: `${id}@example.com` }, { ...routing, regular: { chain: [{ kind: 'agent', agentId: 'sup-sam' }], firstResponse: '30m' } });
    await w.waitFor(handle, assignee('sup-sam'));
    await waitForPendingTimer(handle);
    await w.env.sleep('20m');
    assert.equal((await w.callApi('POST', `/v1/conversations/${id}/transfer`, { agentId: 'sup-tina' })).status, 200);
    await w.waitFor(handle, assignee('sup-tina'));
    await waitForPendingTimer(handle);
    await w.env.sleep('20m');
    assert.equal((await handle.query(stateQuery)).assignee?.agentId, 'sup-tina', '40 minutes since the assignment, 20 since the transfer');
    await w.env.sleep('10m');
    // The chain's only step gave it to sup-sam: next is the escalation path, and nobody is a manager here.
    const missed = await w.waitFor(handle, (s) => s.state === 'queued');
    assert.deepEqual(decisionsOf(missed, 'first_response_missed'), ['sup-tina did not write to the contact within 30 minutes']);
    assert.equal(missed.assignee, undefined);
    assert.ok(await w.isQueued(id), 'waits for a manager in the queue');
    assert.deepEqual(await assignmentsOf(w.db, id), [
      { agentId: 'sup-sam', via: 'dedicated_agent', released: true },
      { agentId: 'sup-tina', via: 'transfer', released: true },
    ]);
  });
});

describe('a missed first response, in respond.io', () => {
  const TOKEN = 'respondio-test-token-first-response-missed';
  let server: TimeSkippingServer;
  let respondio: RespondioStandIn;
  let w: TimeSkippingWorld;
  before(async () => {
    [server, respondio] = await Promise.all([TimeSkippingServer.start(), startRespondioStandIn({ token: TOKEN })]);
    w = await TimeSkippingWorld.start({ server, respondio: { baseUrl: respondio.baseUrl, token: TOKEN } });
  });
  after(async () => {
    await w.close();
    await server.stop();
    await respondio.close();
  });

  it('gets the agents a comment in the contact’s language and the new assignee', async () => {
    const agent = (id: string, team: string, userId: string) => putAgent(w.db, { id, name: id, team, role: 'agent', online: true, capacity: 5, respondioUserId: userId });
    await agent('rio-ana', 'rio-first', '8101');
    await agent('rio-ben', 'rio-next', '8102');
    const id = String(7_400_000 + Math.floor(Math.random() * 100_000));
    const handle = await w.open(
      { id, email: `fr-${id}@example.com`, language: 'pt' },
      { regular: { chain: [{ kind: 'team', team: 'rio-first' }, { kind: 'team', team: 'rio-next' }], firstResponse: '15m' } },
      'respondio',
    );
    await w.waitFor(handle, assignee('rio-ana'));
    await waitForPendingTimer(handle);
    await w.env.sleep('15m');
    await w.waitFor(handle, assignee('rio-ben'));
    const calls = () => respondio.calls.filter((c) => c.identifier === `id:${id}`).map((c) => [c.method, c.path.replace(/^\/v2\/contact\/[^/]+/, ''), c.body]);
    const expected = [
      ['POST', '/conversation/assignee', { assignee: 8101 }],
      ['POST', '/comment', { text: 'Reatribuído: rio-ana não respondeu em 15 minutos.' }],
      ['POST', '/conversation/assignee', { assignee: null }],
      ['POST', '/conversation/assignee', { assignee: 8102 }],
    ];
    const deadline = Date.now() + 15_000;
    while (calls().length < expected.length && Date.now() < deadline) await new Promise((tick) => setTimeout(tick, 50));
    assert.deepEqual(calls(), expected);
    assert.equal(SHIPPED_MESSAGES.pt.firstResponseMissed, 'Reatribuído: {{agent}} não respondeu em {{within}}.');
  });
});
