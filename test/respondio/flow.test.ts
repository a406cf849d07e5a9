import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SHIPPED_MESSAGES } from '../../src/domain/routing-texts';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { decodeHistoryPayloads } from '../../src/security/history';
import { payloadTexts } from '../support/history';
import { workflowIdForContact } from '../../src/workflows/definitions';
import type { ConversationStatus } from '../../src/domain/conversation';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createPlatformActivities } from '../../src/activities/platform';
import { markSuperseded } from '../../src/db/platform-calls';
import { createRespondioClient } from '../../src/respondio/client';
import { Harness } from '../support/harness';
import {
  contactAssigneeUpdated,
  conversationClosed,
  conversationOpened,
  deliverWebhook,
  messageReceived,
} from '../support/respondio-payloads';
import { type RecordedCall, type RespondioStandIn, startRespondioStandIn } from '../support/respondio-standin';

const TOKEN = 'respondio-test-token-flow';
const KEY = 'whsec-flow-0123456789abcdef';
const CRM_SECRET = 'crm-secret-from-the-environment-5d2a';

/**
 * The seed flow driven by respond.io: signed webhooks in, the Developer API out (a stand-in on loopback that checks
 * every call), in the contact's language.
 */
describe('respond.io end to end', () => {
  let h: Harness;
  let respondio: RespondioStandIn;
  let url: string;
  let nextContact = 7_200_000 + Math.floor(Math.random() * 100_000) * 10;
  const contactNumber = () => nextContact++;
  let messageId = 990_000;

  before(async () => {
    process.env['VIP_TEST_CRM_SECRET'] = CRM_SECRET;
    respondio = await startRespondioStandIn({ token: TOKEN });
    h = await Harness.start({
      respondio: { baseUrl: respondio.baseUrl, token: TOKEN, signingKeys: [KEY] },
      routing: {
        askEmail: { maxReAsks: 1 },
        tiers: [{ name: 'vip', customerTypes: ['VIP'], priority: 10, chain: [{ kind: 'account_manager' }, { kind: 'manager' }] }],
        regular: { chain: [{ kind: 'team', team: 'rio-support' }] },
        crm: { headers: { 'x-crm-secret': '${env:VIP_TEST_CRM_SECRET}' } },
      },
      crmEnvNames: ['VIP_TEST_CRM_SECRET'],
    });
    url = `${h.baseUrl}/v1/webhooks/respondio`;
    await h.request('PUT', '/v1/agents/rio-am', { name: 'Alba AM', team: 'account-managers', respondioUserId: '7001' });
    await h.request('PUT', '/v1/agents/rio-sup', { name: 'Sol Support', team: 'rio-support', email: 'sol@support.example.com' });
    await h.request('PUT', '/v1/agents/rio-mgr', { name: 'Mara Manager', team: 'managers', role: 'manager', respondioUserId: '7003' });
    await h.putCustomer('vip-rio@example.com', { customerType: 'VIP', accountManager: 'rio-am' });
    await h.putCustomer('regular-rio@example.com', { customerType: 'Regular' });
  });
  after(async () => {
    await h.close();
    await respondio.close();
  });

  const send = async (payload: unknown) => {
    const response = await deliverWebhook(url, payload, KEY);
    assert.equal(response.status, 200, JSON.stringify(response.body));
  };
  const callsFor = (id: number) => respondio.calls.filter((c) => c.identifier === `id:${id}`);
  const summary = (c: RecordedCall) => `${c.method} ${c.path.replace(/^\/v2\/contact\/[^/]+/, '')} ${c.status}`;
  const waitForCalls = async (id: number, count: number) => {
    const deadline = Date.now() + 20_000;
    while (callsFor(id).length < count) {
      if (Date.now() > deadline) assert.fail(`respond.io got ${callsFor(id).map(summary).join(', ')}; expected ${count} calls`);
      await new Promise((tick) => setTimeout(tick, 50));
    }
    return callsFor(id);
  };
  const waitFor = (id: number, done: (s: ConversationStatus) => boolean) => h.waitFor(String(id), done);
  /**
   * "No further call": after the event that ends what could call respond.io (a run finished, a send recorded, a
   * webhook event applied), respond.io hears nothing more for `ms`; a call in that window fails at once.
   */
  const holdNoFurtherCalls = async (id: number, count: number, why: string, ms = 1_500) => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      assert.equal(callsFor(id).length, count, `${why}: ${callsFor(id).map(summary).join(', ')}`);
      await new Promise((tick) => setTimeout(tick, 50));
    }
  };
  /** The webhook event's effect is done (the inbox applied it). */
  const applied = async (event: { event_id: string }) => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const { rows } = await h.db.query(`SELECT status FROM webhook_events WHERE event_id = $1`, [event.event_id]);
      if (rows[0]?.status === 'done') return;
      if (Date.now() > deadline) assert.fail(`webhook event ${event.event_id} not applied: ${rows[0]?.status ?? 'no row'}`);
      await new Promise((tick) => setTimeout(tick, 50));
    }
  };
  /** The transcript's question has a final delivery state (its send activity finished). */
  const questionDelivery = async (id: number, delivery: string) => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const question = (await h.transcript(String(id))).find((m) => m.kind === 'question') as any;
      if (question?.delivery === delivery) return question;
      if (Date.now() > deadline) assert.fail(`the question's delivery is ${question?.delivery}, expected ${delivery}`);
      await new Promise((tick) => setTimeout(tick, 50));
    }
  };

  it('asks a Spanish-speaking contact in Spanish, saves the email there and assigns the account manager there', async () => {
    const id = contactNumber();
    await send(conversationOpened({ id, email: null, language: 'es', firstName: 'Lucía' }));
    await waitFor(id, (s) => s.state === 'asking_email');
    await send(messageReceived({ id, language: 'es' }, { messageId: messageId++, text: 'mi correo es vip-rio@example.com' }));
    const status = await waitFor(id, (s) => s.state === 'assigned');
    assert.equal(status.assignee?.agentId, 'rio-am');

    const calls = await waitForCalls(id, 4);
    assert.deepEqual(calls.map(summary), [
      'POST /message 200',
      'POST /message 200',
      'PUT  200',
      'POST /conversation/assignee 200',
    ]);
    assert.deepEqual(calls[0]!.body, { message: { type: 'text', text: SHIPPED_MESSAGES.es.question } });
    assert.deepEqual(calls[1]!.body, { message: { type: 'text', text: SHIPPED_MESSAGES.es.success } });
    assert.deepEqual(calls[2]!.body, { email: 'vip-rio@example.com' });
    assert.deepEqual(calls[3]!.body, { assignee: 7001 }, 'assigned by the respond.io user id');
    for (const call of calls) assert.equal(call.headers['authorization'], `Bearer ${TOKEN}`);

    const outbound = (await h.transcript(String(id))).filter((m) => m.direction === 'outbound') as any[];
    assert.deepEqual(
      outbound.map((m) => [m.kind, m.delivery, typeof m.platformMessageId]),
      [
        ['question', 'delivered', 'string'],
        ['success', 'delivered', 'string'],
      ],
      'the transcript keeps each message with its delivery and respond.io message id',
    );

    // Secrets stay in the worker's environment: the run's history, decrypted, names the variable, never its value.
    const decoded = await decodeHistoryPayloads(await h.client.workflow.getHandle(workflowIdForContact(String(id))).fetchHistory(), h.codec);
    const history = payloadTexts(JSON.parse(historyToJSON(decoded))).join('\n');
    assert.match(history, /vip-rio@example\.com/, 'the decrypted history is readable');
    assert.ok(history.includes('${env:VIP_TEST_CRM_SECRET}'));
    for (const secret of [CRM_SECRET, TOKEN, KEY]) assert.ok(!history.includes(secret), 'no secret in the history');

    // respond.io closed the conversation itself: the run ends and tells respond.io nothing more.
    await send(conversationClosed({ id }));
    await waitFor(id, (s) => s.state === 'closed');
    await h.recordHistory(String(id), 'respondio-spanish-ask-vip-closed-in-respondio');
    assert.equal(await h.openAssignments('rio-am'), 0, 'capacity freed');
    await h.client.workflow.getHandle(workflowIdForContact(String(id))).result();
    await holdNoFurtherCalls(id, 4, "a call after respond.io's own close");
  });

  it('writes to a Portuguese-speaking contact in Portuguese, assigns by email, and carries an API close to respond.io', async () => {
    const id = contactNumber();
    await send(conversationOpened({ id, email: null, language: 'pt-BR' }));
    await waitFor(id, (s) => s.state === 'asking_email');
    await send(messageReceived({ id }, { messageId: messageId++, text: 'regular-rio@example.com' }));
    const status = await waitFor(id, (s) => s.state === 'assigned');
    assert.equal(status.assignee?.agentId, 'rio-sup');
    const calls = await waitForCalls(id, 4);
    assert.deepEqual(calls[0]!.body, { message: { type: 'text', text: SHIPPED_MESSAGES.pt.question } });
    assert.deepEqual(calls[3]!.body, { assignee: 'sol@support.example.com' }, 'an agent without a user id is assigned by email');

    assert.equal((await h.request('POST', `/v1/conversations/${id}/close`)).status, 202);
    await waitFor(id, (s) => s.state === 'closed');
    const all = await waitForCalls(id, 6);
    assert.deepEqual(all.slice(4).map(summary), ['POST /conversation/assignee 200', 'POST /conversation/status 200']);
    assert.deepEqual(all[4]!.body, { assignee: null });
    assert.equal((all[5]!.body as { status: string }).status, 'close');
    await h.recordHistory(String(id), 'respondio-assigned-by-email-closed-through-api');
  });

  it('escalates after too many invalid replies with a comment for the agents, and assigns a manager there', async () => {
    const id = contactNumber();
    await send(conversationOpened({ id, email: null, language: 'en' }));
    await waitFor(id, (s) => s.state === 'asking_email');
    await send(messageReceived({ id }, { messageId: messageId++, text: 'no' }));
    await waitFor(id, (s) => s.invalidReplies === 1);
    await send(messageReceived({ id }, { messageId: messageId++, text: 'still no' }));
    const status = await waitFor(id, (s) => s.state === 'escalated');
    assert.equal(status.assignee?.agentId, 'rio-mgr');
    const calls = await waitForCalls(id, 4);
    assert.deepEqual(calls.map(summary), ['POST /message 200', 'POST /message 200', 'POST /comment 200', 'POST /conversation/assignee 200']);
    assert.deepEqual(calls[1]!.body, { message: { type: 'text', text: SHIPPED_MESSAGES.en.invalid } });
    assert.deepEqual(calls[2]!.body, { text: SHIPPED_MESSAGES.en.escalationNote.replace('{{invalidReplies}}', '2') });
    assert.deepEqual(calls[3]!.body, { assignee: 7003 });
    await h.request('POST', `/v1/conversations/${id}/close`);
    await waitFor(id, (s) => s.state === 'closed');
    await h.recordHistory(String(id), 'respondio-escalated-with-comment');
  });

  it('retries a 429 after its Retry-After and a 500 with backoff, sending each message once', async () => {
    const id = contactNumber();
    respondio.failNext({ method: 'POST', path: `/v2/contact/id:${id}/message` }, { status: 429, headers: { 'retry-after': '1' }, body: { message: 'Too many requests' } });
    respondio.failNext({ method: 'POST', path: `/v2/contact/id:${id}/message` }, { status: 500, body: { message: 'oops' } });
    await send(conversationOpened({ id, email: null }));
    await waitFor(id, (s) => s.state === 'asking_email');
    const calls = await waitForCalls(id, 4);
    assert.deepEqual(
      calls.map(summary),
      ['POST /message 429', 'POST /message 500', 'GET /message/list 200', 'POST /message 200'],
      'one message delivered, after two refusals; after the 500 (which may have taken effect) respond.io was asked first',
    );
    const waited = calls[1]!.at.getTime() - calls[0]!.at.getTime();
    assert.ok(waited >= 900, `the retry after the 429 waited its Retry-After (${waited} ms)`);
    await questionDelivery(id, 'delivered');
    await holdNoFurtherCalls(id, 4, 'a call after the question was delivered');
    assert.equal(callsFor(id).filter((c) => c.method === 'POST' && c.status === 200).length, 1);
    assert.equal(respondio.messagesOf(`id:${id}`).length, 1);
  });

  it('does not retry a refusal (4xx): the transcript and the decisions say what respond.io answered', async () => {
    const id = contactNumber();
    respondio.failNext({ method: 'POST', path: `/v2/contact/id:${id}/message` }, { status: 422, body: { message: 'Contact has no channel' } });
    await send(conversationOpened({ id, email: null }));
    const status = await waitFor(id, (s) => s.path.includes('message_not_delivered'));
    assert.match(status.decisions.find((d) => d.step === 'message_not_delivered')!.detail, /answered 422: Contact has no channel/);
    const question = await questionDelivery(id, 'failed');
    await holdNoFurtherCalls(id, 1, 'the refused message was retried');
    assert.match(question.deliveryError, /422/);
    assert.equal((await h.conversation(String(id))).state, 'asking_email', 'the run goes on');
  });

  it('routes a conversation reopened while respond.io is down for the last close, and never sends that close to the new one', async () => {
    const id = contactNumber();
    await send(conversationOpened({ id, email: 'regular-rio@example.com' }));
    const first = await waitFor(id, (s) => s.state === 'assigned' && s.assignee?.agentId === 'rio-sup');
    await waitForCalls(id, 1);

    respondio.failNext({ path: new RegExp(`^/v2/contact/id:${id}/conversation/`) }, { status: 503, body: { message: 'Service Unavailable' } }, 10_000);
    assert.equal((await h.request('POST', `/v1/conversations/${id}/close`)).status, 202);
    const deadline = Date.now() + 20_000;
    while (callsFor(id).filter((c) => c.status === 503).length < 2) {
      if (Date.now() > deadline) assert.fail(`the un-assign was not being retried: ${callsFor(id).map(summary).join(', ')}`);
      await new Promise((tick) => setTimeout(tick, 50));
    }
    const firstRun = h.client.workflow.getHandle(workflowIdForContact(String(id)), first.conversationId);
    assert.equal((await firstRun.describe()).status.name, 'RUNNING', 'the ended conversation is still sending its close');

    // The contact writes again: respond.io opens a new conversation.
    await send(conversationOpened({ id, email: 'regular-rio@example.com' }));
    const second = await waitFor(id, (s) => s.conversationId !== first.conversationId && s.state === 'assigned');
    assert.equal(second.assignee?.agentId, 'rio-sup', 'routed at once, while respond.io is still down');
    const ended: ConversationStatus = await firstRun.result();
    assert.equal(ended.state, 'closed');
    assert.match(ended.decisions.find((d) => d.step === 'platform_dropped')?.detail ?? '', /newer conversation/);
    await h.recordHistory(String(id), 'respondio-reopened-while-closing', first.conversationId);
    const { rows } = await h.db.query(`SELECT outcome FROM webhook_events WHERE contact_id = $1 AND event_type = 'conversation.opened' ORDER BY seq`, [String(id)]);
    assert.deepEqual(rows.map((r) => r.outcome), ['routing started', "routing started; the previous conversation's pending close was dropped"]);

    // respond.io recovers: the new conversation gets its assignee, and nothing of the old close reaches it.
    const downCalls = callsFor(id).length;
    respondio.reset();
    const recovered = async () => respondio.calls.filter((c) => c.identifier === `id:${id}` && c.status === 200);
    const assignDeadline = Date.now() + 90_000;
    while (!(await recovered()).some((c) => c.path.endsWith('/conversation/assignee'))) {
      if (Date.now() > assignDeadline) assert.fail('the new conversation never got its assignee in respond.io');
      await new Promise((tick) => setTimeout(tick, 100));
    }
    await new Promise((hold) => setTimeout(hold, 3_000));
    const after = respondio.calls.filter((c) => c.identifier === `id:${id}`).map((c) => ({ what: summary(c), body: c.body }));
    assert.deepEqual(after, [{ what: 'POST /conversation/assignee 200', body: { assignee: 'sol@support.example.com' } }], `before recovery: ${downCalls} calls`);
    assert.equal((await h.conversation(String(id))).state, 'assigned', 'the new conversation stays open');
    await h.request('POST', `/v1/conversations/${id}/close`);
    await waitFor(id, (s) => s.state === 'closed');
  });

  it('refuses, in the activity itself, an un-assign or close of a conversation a newer one replaced', async () => {
    const id = contactNumber();
    const activities = createPlatformActivities({ db: h.db, respondio: createRespondioClient({ baseUrl: respondio.baseUrl, token: TOKEN }) });
    const step = { contactId: String(id), conversationId: `ended-${id}` };
    const skipped = async (outcome: Promise<unknown>) => ((await outcome) as { skipped?: string }).skipped;
    const unassign = (key: string) => skipped(new MockActivityEnvironment().run(activities.mirrorAssignee, { ...step, key, agentId: null }));
    assert.equal(await unassign('assignee-1'), undefined, 'sent while current');
    await markSuperseded(h.db, step.conversationId, step.contactId);
    assert.match((await unassign('assignee-2')) ?? '', /newer conversation/);
    assert.match((await skipped(new MockActivityEnvironment().run(activities.closeInPlatform, { ...step, key: 'close' }))) ?? '', /newer conversation/);
    assert.deepEqual(callsFor(id).map(summary), ['POST /conversation/assignee 200'], 'only the un-assign sent before the new conversation opened');
  });

  describe('assignments changed by hand in respond.io', () => {
    const routedRegular = async () => {
      const id = contactNumber();
      await send(conversationOpened({ id, email: 'regular-rio@example.com' }));
      await waitFor(id, (s) => s.state === 'assigned' && s.assignee?.agentId === 'rio-sup');
      await waitForCalls(id, 1);
      return id;
    };

    it('moves the conversation and its capacity to an agent we know, without echoing it back', async () => {
      const id = await routedRegular();
      const before = { sup: await h.openAssignments('rio-sup'), am: await h.openAssignments('rio-am') };
      const byHand = contactAssigneeUpdated({ id }, { id: 7001, firstName: 'Alba', lastName: 'AM', email: 'alba@example.com' });
      await send(byHand);
      const status = await waitFor(id, (s) => s.assignee?.agentId === 'rio-am');
      assert.equal(status.state, 'assigned');
      assert.ok(status.path.includes('assigned_in_platform'));
      assert.deepEqual({ sup: await h.openAssignments('rio-sup'), am: await h.openAssignments('rio-am') }, { sup: before.sup - 1, am: before.am + 1 });
      await applied(byHand);
      await holdNoFurtherCalls(id, 1, 'something was sent back to respond.io');
    });

    it('releases the capacity of a conversation given to a respond.io user who is not one of our agents', async () => {
      const id = await routedRegular();
      const before = await h.openAssignments('rio-sup');
      await send(contactAssigneeUpdated({ id }, { id: 9999, firstName: 'Outside', lastName: 'Helper', email: 'outside@example.com' }));
      const status = await waitFor(id, (s) => s.assignee?.agentId === 'respondio:9999');
      assert.equal(status.assignee?.name, 'Outside Helper');
      assert.equal(await h.openAssignments('rio-sup'), before - 1);
      const { rows } = await h.db.query(`SELECT count(*)::int AS n FROM assignments WHERE contact_id = $1 AND released_at IS NULL`, [String(id)]);
      assert.equal(rows[0].n, 0, 'counted against nobody');
    });

    it('routes an un-assigned conversation again, to someone other than the agent who let it go', async () => {
      await h.request('PUT', '/v1/agents/rio-sup-2', { name: 'Sam Second', team: 'rio-support', respondioUserId: '7002', online: false });
      const id = await routedRegular();
      await h.request('PATCH', '/v1/agents/rio-sup-2', { online: true });
      await send(contactAssigneeUpdated({ id }, null));
      const status = await waitFor(id, (s) => s.state === 'assigned' && s.assignee?.agentId === 'rio-sup-2');
      assert.ok(status.path.includes('unassigned_in_platform'));
      const calls = await waitForCalls(id, 2);
      assert.deepEqual(calls[1]!.body, { assignee: 7002 }, 'the new assignee is set in respond.io');
      await h.request('PATCH', '/v1/agents/rio-sup-2', { online: false });
      await h.request('POST', `/v1/conversations/${id}/close`);
      await waitFor(id, (s) => s.state === 'closed');
      await h.recordHistory(String(id), 'respondio-unassigned-by-hand-rerouted');
    });

    it('stops asking for the email when a person takes the conversation over by hand', async () => {
      const id = contactNumber();
      await send(conversationOpened({ id, email: null }));
      await waitFor(id, (s) => s.state === 'asking_email');
      await send(contactAssigneeUpdated({ id }, { id: 7003, firstName: 'Mara', lastName: 'Manager', email: 'mara@example.com' }));
      const status = await waitFor(id, (s) => s.state === 'assigned');
      assert.equal(status.assignee?.agentId, 'rio-mgr');
      assert.ok(status.path.includes('assigned_in_platform'));
      const afterTakeOver = messageReceived({ id }, { messageId: messageId++, text: 'hello?' });
      await send(afterTakeOver);
      await applied(afterTakeOver);
      await holdNoFurtherCalls(id, 1, 'something besides the question was sent');
      assert.deepEqual(callsFor(id).map(summary), ['POST /message 200'], 'only the question was ever sent');
      await send(conversationClosed({ id }));
      await waitFor(id, (s) => s.state === 'closed');
      await h.recordHistory(String(id), 'respondio-taken-over-while-asking');
    });
  });
});

describe('respond.io and a timeout path that closes', () => {
  let h: Harness;
  let respondio: RespondioStandIn;
  before(async () => {
    respondio = await startRespondioStandIn({ token: TOKEN });
    h = await Harness.start({
      respondio: { baseUrl: respondio.baseUrl, token: TOKEN, signingKeys: [KEY] },
      routing: { askEmail: { replyTimeout: '1s', onReplyTimeout: 'close' } },
    });
  });
  after(async () => {
    await h.close();
    await respondio.close();
  });

  it('closes the conversation in respond.io when nobody replies to the question in time', async () => {
    const id = 7_500_000 + Math.floor(Math.random() * 1_000_000);
    assert.equal((await deliverWebhook(`${h.baseUrl}/v1/webhooks/respondio`, conversationOpened({ id, email: null }), KEY)).status, 200);
    const status = await h.waitFor(String(id), (s) => s.state === 'closed');
    assert.ok(status.path.includes('reply_timeout'));
    const calls = respondio.calls.filter((c) => c.identifier === `id:${id}`);
    assert.deepEqual(
      calls.map((c) => `${c.method} ${c.path.split('/').slice(4).join('/')}`),
      ['POST message', 'POST conversation/status'],
      'the question, then the close; no assignee to clear',
    );
    assert.equal((calls[1]!.body as { status: string }).status, 'close');
  });
});
