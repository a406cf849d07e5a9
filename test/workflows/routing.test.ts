import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeCrm } from '../support/fake-crm';
import { Harness } from '../support/harness';
import { askedThenRouted } from '../support/paths';

/** The routing flow end to end: API → Temporal dev server → worker → PostgreSQL and a CRM on loopback. */
describe('routing flow against the built-in directory', () => {
  let h: Harness;
  // Support agents named in id order: round robin goes by id after the team's cursor, least-open by load.
  const support = ['sup-ada', 'sup-bo', 'sup-cy'];
  before(async () => {
    h = await Harness.start();
    await h.putAgent('am-alex', { team: 'account-managers', capacity: 5 });
    await h.putAgent('vip-vera', { team: 'vip', capacity: 5 });
    for (const id of support) await h.putAgent(id, { team: 'support', capacity: 5 });
    await h.putAgent('mgr-maria', { team: 'managers', role: 'manager', capacity: 5 });
  });
  after(() => h.close());

  /** Only these support agents online: whatever the strategy, the next conversation can only go to one of them. */
  async function onlySupportOnline(...online: string[]): Promise<void> {
    for (const id of support) {
      const { status } = await h.request('PATCH', `/v1/agents/${id}`, { online: online.includes(id) });
      assert.equal(status, 200);
    }
  }
  async function regularAssigned(label: string): Promise<{ id: string; agentId: string | undefined }> {
    const id = h.contactId(label);
    await h.putCustomer(`${id}@example.com`, { customerType: 'Regular' });
    await h.open({ id, email: `${id}@example.com` });
    const status = await h.waitForState(id, 'assigned');
    assert.equal(status.assignee?.team, 'support');
    return { id, agentId: status.assignee?.agentId };
  }

  it('routes a VIP with an email to their account manager', async () => {
    const id = h.contactId('vip-am');
    await h.putCustomer(`${id}@example.com`, { customerType: 'VIP', accountManager: 'am-alex' });
    const opened = await h.open({ id, email: `${id}@example.com` });
    assert.equal(opened.status, 202);
    const status = await h.waitForState(id, 'assigned');
    assert.equal(status.customerType, 'VIP');
    assert.deepEqual(status.assignee, { agentId: 'am-alex', name: 'am-alex', team: 'account-managers' });
    assert.deepEqual(status.path, ['trigger', 'check_email', 'fetch_crm', 'tier:vip', 'assigned']);
    await h.recordHistory(id, 'vip-account-manager');
  });

  it('routes a VIP without an account manager to the vip team', async () => {
    const id = h.contactId('vip-team');
    await h.putCustomer(`${id}@example.com`, { customerType: 'VIP' });
    await h.open({ id, email: `${id}@example.com` });
    const status = await h.waitForState(id, 'assigned');
    assert.equal(status.assignee?.team, 'vip');
    assert.equal(status.assignee?.agentId, 'vip-vera');
  });

  it('routes a regular customer to the support agent with the fewest open conversations', async () => {
    // Loads round robin and least-open answer differently: ada 1, bo 0, cy 2, and cy served last. Round robin
    // would go on after cy to ada (wrapping); the fewest open conversations are bo's.
    await onlySupportOnline('sup-ada');
    assert.equal((await regularAssigned('regular-ada')).agentId, 'sup-ada');
    await onlySupportOnline('sup-cy');
    assert.equal((await regularAssigned('regular-cy-1')).agentId, 'sup-cy');
    assert.equal((await regularAssigned('regular-cy-2')).agentId, 'sup-cy');
    await onlySupportOnline(...support);
    assert.deepEqual(await Promise.all(support.map((id) => h.openAssignments(id))), [1, 0, 2]);

    const next = await regularAssigned('regular-next');
    assert.equal(next.agentId, 'sup-bo', 'the agent with the fewest open conversations, not the next in turn');
    const { rows } = await h.db.query('SELECT agent_id, strategy FROM assignments WHERE contact_id = $1', [next.id]);
    assert.deepEqual(rows, [{ agent_id: 'sup-bo', strategy: 'least_open' }]);
    await h.recordHistory(next.id, 'regular-least-open');
  });
});

describe('the last_agent step', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start({ routing: { regular: { chain: [{ kind: 'last_agent', withinDays: 30 }, { kind: 'team', team: 'desk' }] } } });
    await h.putAgent('desk-ana', { team: 'desk', capacity: 5 });
    await h.putAgent('desk-bob', { team: 'desk', capacity: 5, online: false });
  });
  after(() => h.close());

  async function assigned(id: string): Promise<{ agentId?: string; via?: string }> {
    assert.equal((await h.open({ id, email: `${id}@example.com` })).status, 202);
    const status = await h.waitForState(id, 'assigned');
    const { rows } = await h.db.query(
      'SELECT via FROM assignments WHERE conversation_id = $1 AND released_at IS NULL',
      [status.conversationId],
    );
    return { agentId: status.assignee?.agentId, via: rows[0]?.via };
  }
  async function close(id: string): Promise<void> {
    assert.equal((await h.request('POST', `/v1/conversations/${id}/close`)).status, 202);
    await h.waitForState(id, 'closed');
  }

  it('gives a returning contact the agent who served them last, over the team\'s own choice, within the window only', async () => {
    const returning = h.contactId('returning');
    // First conversation: nobody served this contact yet, so the team step decides (bob is offline).
    assert.deepEqual(await assigned(returning), { agentId: 'desk-ana', via: 'team' });
    await close(returning);
    // Ana gets busier than Bob: the team step alone would now choose Bob, as a new contact shows.
    const other = h.contactId('other');
    assert.deepEqual(await assigned(other), { agentId: 'desk-ana', via: 'team' });
    assert.equal((await h.request('PATCH', '/v1/agents/desk-bob', { online: true })).status, 200);
    const newcomer = h.contactId('newcomer');
    assert.deepEqual(await assigned(newcomer), { agentId: 'desk-bob', via: 'team' });
    await close(newcomer);

    assert.deepEqual(await assigned(returning), { agentId: 'desk-ana', via: 'last_agent' }, 'back to the agent who served them');
    await close(returning);

    // The same contact, last served 31 days ago: outside withinDays, the team decides again.
    await h.db.query(`UPDATE assignments SET assigned_at = now() - interval '31 days' WHERE contact_id = $1`, [returning]);
    assert.deepEqual(await assigned(returning), { agentId: 'desk-bob', via: 'team' });
  });
});

describe('CRM step against a CRM on loopback', () => {
  const crm = new FakeCrm();
  let h: Harness;
  before(async () => {
    await crm.start();
    // The harness's patient timeout: every answer below arrives in time however loaded the machine, so each
    // attempt is one request and the counts are exact.
    h = await Harness.start({ routing: { crm: { url: crm.lookupUrl } } });
    await h.putAgent('vip-vic', { team: 'vip', capacity: 10 });
    await h.putAgent('sup-sue', { team: 'support', capacity: 10 });
  });
  after(async () => {
    await h.close();
    await crm.stop();
  });

  it('routes a contact the CRM does not know (404) as regular, asking once', async () => {
    const id = h.contactId('crm-404');
    await h.open({ id, email: `${id}@example.com` });
    const status = await h.waitForState(id, 'assigned');
    assert.equal(status.assignee?.team, 'support');
    assert.ok(status.path.includes('crm_not_found'));
    assert.equal(crm.requestsFor(`${id}@example.com`), 1, '404 is an answer, not a failure: no retry');
    await h.recordHistory(id, 'crm-not-found');
  });

  it('retries a CRM answering 500 twice, then routes by the third answer', async () => {
    const id = h.contactId('crm-500');
    const email = `${id}@example.com`;
    crm.script(email, { status: 500 }, { status: 503 }, { status: 200, body: { customerType: 'VIP' } });
    await h.open({ id, email });
    const status = await h.waitForState(id, 'assigned');
    assert.equal(status.customerType, 'VIP');
    assert.equal(status.assignee?.agentId, 'vip-vic');
    assert.equal(crm.requestsFor(email), 3);
    assert.equal(status.path.filter((s) => s === 'crm_error').length, 2);
    await h.recordHistory(id, 'crm-retried');
  });

  it('retries a CRM answering 408 and 429, then routes by the third answer', async () => {
    const id = h.contactId('crm-408-429');
    const email = `${id}@example.com`;
    crm.script(email, { status: 408 }, { status: 429 }, { status: 200, body: { customerType: 'VIP' } });
    await h.open({ id, email });
    const status = await h.waitForState(id, 'assigned');
    assert.equal(status.assignee?.agentId, 'vip-vic', 'routed by the answer after the retries');
    assert.equal(crm.requestsFor(email), 3);
    assert.deepEqual(
      status.decisions.filter((d) => d.step === 'crm_error').map((d) => d.detail),
      [`attempt 1/${h.routing.crm.retry.maxAttempts}: CRM answered 408`, `attempt 2/${h.routing.crm.retry.maxAttempts}: CRM answered 429`],
    );
    assert.equal(status.reason, undefined, 'the CRM answered in the end: nothing to explain');
  });

  it('does not retry a 4xx other than 404, and routes as regular with the reason', async () => {
    const id = h.contactId('crm-401');
    const email = `${id}@example.com`;
    crm.script(email, { status: 401, body: { error: 'bad token' } });
    await h.open({ id, email });
    const status = await h.waitForState(id, 'assigned');
    assert.equal(status.assignee?.team, 'support');
    assert.equal(crm.requestsFor(email), 1);
    assert.match(status.reason ?? '', /401/);
  });
});

describe('CRM step against a CRM that answers too late', () => {
  const crm = new FakeCrm();
  let h: Harness;
  before(async () => {
    await crm.start();
    // The CRM below answers after a minute, so every attempt ends by this timeout however slow the machine is.
    h = await Harness.start({ routing: { crm: { url: crm.lookupUrl, timeout: '2s' } } });
    await h.putAgent('vip-vic', { team: 'vip', capacity: 10 });
    await h.putAgent('sup-sue', { team: 'support', capacity: 10 });
  });
  after(async () => {
    await h.close();
    await crm.stop();
  });

  it('routes as regular with the reason when the CRM answers too slowly every time', async () => {
    const id = h.contactId('crm-slow');
    const email = `${id}@example.com`;
    crm.script(email, { status: 200, body: { customerType: 'VIP' }, delayMs: 60_000 });
    await h.open({ id, email });
    const status = await h.waitForState(id, 'assigned', 60_000);
    assert.equal(status.assignee?.agentId, 'sup-sue', 'the late VIP answer was never used');
    // The request's own timeout ends each attempt; on a starved machine the activity's start-to-close (5 s more)
    // may end one first. Either way the CRM gave no answer in time, and that is what the run records.
    const tooLate = '(no answer within 2000 ms|activity StartToClose timeout)';
    assert.match(status.reason ?? '', new RegExp(`^CRM unavailable: ${tooLate}$`));
    const { maxAttempts } = h.routing.crm.retry;
    const attempts = status.decisions.filter((d) => d.step === 'crm_error').map((d) => d.detail);
    assert.equal(attempts.length, maxAttempts, `a bounded number of attempts: ${JSON.stringify(attempts)}`);
    attempts.forEach((detail, i) => assert.match(detail, new RegExp(`^attempt ${i + 1}/${maxAttempts}: ${tooLate}$`)));
    assert.ok(attempts.some((detail) => detail.includes('no answer within 2000 ms')), 'the CRM timeout is what ends them');
    const requests = crm.requestsFor(email);
    assert.ok(requests >= 1 && requests <= maxAttempts, `the CRM was asked, never more than once per attempt (${requests})`);
  });
});

describe('CRM step when the CRM is down', () => {
  let h: Harness;
  before(async () => {
    // A port nothing listens on: every request is refused.
    const down = new FakeCrm();
    await down.start();
    await down.stop();
    h = await Harness.start({ routing: { crm: { url: down.lookupUrl } } });
    await h.putAgent('sup-dan', { team: 'support', capacity: 10 });
  });
  after(() => h.close());

  it('routes the contact as regular after the bounded retries and records why', async () => {
    const id = h.contactId('crm-down');
    await h.open({ id, email: `${id}@example.com` });
    const status = await h.waitForState(id, 'assigned');
    assert.equal(status.assignee?.agentId, 'sup-dan');
    assert.match(status.reason ?? '', /^CRM unavailable: request failed/);
    assert.equal(status.path.filter((s) => s === 'crm_error').length, h.routing.crm.retry.maxAttempts);
    assert.ok(status.path.includes('crm_failed'));
    await h.recordHistory(id, 'crm-down');
  });
});

describe('asking for the email', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start();
    await h.putAgent('vip-val', { team: 'vip', capacity: 10 });
    await h.putAgent('sup-stu', { team: 'support', capacity: 10 });
    await h.putAgent('mgr-max', { team: 'managers', role: 'manager', capacity: 10 });
  });
  after(() => h.close());

  it('asks, takes a valid reply, thanks, saves the email, asks the CRM and assigns', async () => {
    const id = h.contactId('ask-valid');
    const email = `${id}@example.com`;
    await h.putCustomer(email, { customerType: 'VIP' });
    assert.equal((await h.open({ id, firstName: 'Ana' })).status, 202);
    await h.waitForState(id, 'asking_email');
    assert.equal((await h.say(id, 'm-1', `sure, it's ${email.toUpperCase()}`)).status, 202);
    const status = await h.waitForState(id, 'assigned');
    assert.equal(status.assignee?.agentId, 'vip-val', 'the saved email led the CRM step to the VIP record');
    assert.deepEqual(status.path, askedThenRouted('vip'));
    const { rows } = await h.db.query('SELECT email FROM contacts WHERE id = $1', [id]);
    assert.equal(rows[0].email, email);
    const transcript = (await h.transcript(id)).map((m) => `${m.direction}:${m.kind}`);
    assert.deepEqual(transcript, ['outbound:question', 'inbound:reply', 'outbound:success'], 'oldest first, reply before the answer to it');
    await h.recordHistory(id, 'ask-email-valid');
  });

  it('re-asks after each of 3 invalid replies, then takes a valid one and counts the invalid ones', async () => {
    const id = h.contactId('ask-3-invalid');
    await h.open({ id });
    await h.waitForState(id, 'asking_email');
    for (const [n, text] of ['hello?', 'my email is ana at example', 'ana@example'].entries()) {
      await h.say(id, `bad-${n}`, text);
      await h.waitFor(id, (s) => s.invalidReplies === n + 1);
    }
    await h.say(id, 'good', `${id}@example.com`);
    const status = await h.waitForState(id, 'assigned');
    assert.equal(status.invalidReplies, 3);
    assert.equal(status.assignee?.agentId, 'sup-stu');
    const kinds = (await h.transcript(id)).filter((m) => m.direction === 'outbound').map((m) => m.kind);
    assert.deepEqual(kinds, ['question', 'invalid_reply', 'invalid_reply', 'invalid_reply', 'success']);
    await h.recordHistory(id, 'ask-email-three-invalid');
  });

  it('escalates to an online manager with a note on the 4th invalid reply', async () => {
    const id = h.contactId('ask-4-invalid');
    await h.open({ id });
    await h.waitForState(id, 'asking_email');
    for (let n = 1; n <= 4; n++) {
      await h.say(id, `bad-${n}`, `not an email ${n}`);
      await h.waitFor(id, (s) => s.invalidReplies === n);
    }
    const status = await h.waitForState(id, 'escalated');
    assert.equal(status.assignee?.agentId, 'mgr-max');
    const messages = await h.transcript(id);
    assert.equal(messages.filter((m) => m.kind === 'invalid_reply').length, 3, 'three re-asks, not four');
    const note = messages.find((m) => m.direction === 'note');
    assert.match(note?.text ?? '', /4 replies/);
    const { rows } = await h.db.query('SELECT via, note FROM assignments WHERE contact_id = $1', [id]);
    assert.deepEqual(rows.map((r) => r.via), ['escalation']);
    await h.recordHistory(id, 'ask-email-escalated');
  });

  it('counts a message delivered twice (same messageId) once', async () => {
    const id = h.contactId('dup-message');
    await h.open({ id });
    await h.waitForState(id, 'asking_email');
    const first = await h.say(id, 'same-id', 'not an email');
    const second = await h.say(id, 'same-id', 'not an email');
    assert.equal(first.status, 202);
    assert.equal(second.status, 202);
    assert.equal(second.body.duplicate, true);
    await h.waitFor(id, (s) => s.invalidReplies === 1);
    await h.say(id, 'next', `${id}@example.com`);
    const status = await h.waitForState(id, 'assigned');
    assert.equal(status.invalidReplies, 1);
    const messages = await h.transcript(id);
    assert.equal(messages.filter((m) => m.direction === 'inbound' && m.messageId === 'same-id').length, 1);
    assert.equal(messages.filter((m) => m.kind === 'invalid_reply').length, 1);
  });

  it('ends the run on close while asking: nothing assigned, nothing queued', async () => {
    const id = h.contactId('close-asking');
    await h.open({ id });
    await h.waitForState(id, 'asking_email');
    assert.equal((await h.request('POST', `/v1/conversations/${id}/close`)).status, 202);
    const status = await h.waitForState(id, 'closed');
    assert.equal(status.assignee, undefined);
    const { rows } = await h.db.query('SELECT count(*)::int AS n FROM assignments WHERE contact_id = $1', [id]);
    assert.equal(rows[0].n, 0);
    assert.equal((await h.say(id, 'late', 'a@b.co')).status, 404, 'a closed conversation takes no more messages');
    await h.recordHistory(id, 'close-while-asking');
  });
});

describe('conversation lifecycle', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start();
  });
  after(() => h.close());

  it('starts exactly one run for concurrent duplicate triggers', async () => {
    await h.putAgent('sup-one', { team: 'support', capacity: 10 });
    const id = h.contactId('dup-start');
    const answers = await Promise.all(Array.from({ length: 5 }, () => h.open({ id, email: `${id}@example.com` })));
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 200, 200, 200, 202]);
    assert.equal(new Set(answers.map((a) => a.body.runId)).size, 1);
    await h.waitForState(id, 'assigned');
    assert.equal((await h.open({ id, email: `${id}@example.com` })).status, 200, 'still open: a duplicate');
    assert.equal(await h.openAssignments('sup-one'), 1);
  });

  it('queues when nobody is online and assigns when an agent comes online', async () => {
    const lateTeam = await Harness.start({ routing: { regular: { chain: [{ kind: 'team', team: 'late-shift' }] } } });
    try {
      await lateTeam.putAgent('late-1', { team: 'late-shift', online: false, capacity: 1 });
      const id = lateTeam.contactId('queued');
      await lateTeam.open({ id, email: `${id}@example.com` });
      const queued = await lateTeam.waitForState(id, 'queued');
      assert.equal(queued.assignee, undefined);
      const queue = await lateTeam.request('GET', '/v1/queue');
      assert.deepEqual(queue.body.queue.map((e: { contactId: string }) => e.contactId), [id]);

      assert.equal((await lateTeam.request('PATCH', '/v1/agents/late-1', { online: true })).status, 200);
      const status = await lateTeam.waitForState(id, 'assigned');
      assert.equal(status.assignee?.agentId, 'late-1');
      assert.deepEqual((await lateTeam.request('GET', '/v1/queue')).body.queue, []);
      await lateTeam.recordHistory(id, 'queued-then-assigned');

      // The agent is now full: the next conversation waits until the first one closes.
      const next = lateTeam.contactId('queued-next');
      await lateTeam.open({ id: next, email: `${next}@example.com` });
      await lateTeam.waitForState(next, 'queued');
      await lateTeam.request('POST', `/v1/conversations/${id}/close`);
      const served = await lateTeam.waitForState(next, 'assigned');
      assert.equal(served.assignee?.agentId, 'late-1');
      assert.equal(await lateTeam.openAssignments('late-1'), 1, 'capacity 1 is never exceeded');
    } finally {
      await lateTeam.close();
    }
  });

  it('frees the agent when an assigned conversation closes', async () => {
    await h.putAgent('sup-free', { team: 'support', capacity: 10 });
    const id = h.contactId('close-assigned');
    await h.open({ id, email: `${id}@example.com` });
    const assigned = await h.waitForState(id, 'assigned');
    const agentId = assigned.assignee!.agentId;
    const before = await h.openAssignments(agentId);
    await h.request('POST', `/v1/conversations/${id}/close`);
    const closed = await h.waitForState(id, 'closed');
    assert.equal(closed.assignee, undefined);
    assert.equal(await h.openAssignments(agentId), before - 1);
    assert.equal((await h.request('POST', `/v1/conversations/${id}/close`)).status, 404, 'closing twice finds nothing open');
    const reopened = await h.open({ id, email: `${id}@example.com` });
    assert.equal(reopened.status, 202, 'a closed conversation can be reopened as a new run');
    assert.notEqual(reopened.body.runId, assigned.conversationId);
  });
});
