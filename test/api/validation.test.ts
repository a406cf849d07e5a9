import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import { workflowIdForContact } from '../../src/workflows/definitions';
import { Harness } from '../support/harness';

/** Bad input gets a 4xx JSON error and changes nothing: no workflow, no row. */
describe('API input validation', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start();
  });
  after(() => h.close());

  const assertError = (response: { status: number; body: any }, status: number, code: string) => {
    assert.equal(response.status, status, JSON.stringify(response.body));
    assert.equal(response.body.error.code, code);
    assert.equal(typeof response.body.error.message, 'string');
  };

  async function assertNoWorkflow(contactId: string) {
    await assert.rejects(h.client.workflow.getHandle(workflowIdForContact(contactId)).describe(), WorkflowNotFoundError);
  }

  async function rowCounts() {
    const { rows } = await h.db.query(`SELECT
      (SELECT count(*) FROM contacts)::int AS contacts, (SELECT count(*) FROM agents)::int AS agents,
      (SELECT count(*) FROM messages)::int AS messages, (SELECT count(*) FROM directory_customers)::int AS customers`);
    return rows[0];
  }

  it('refuses conversation starts with missing or wrongly typed fields, starting nothing', async () => {
    const before = await rowCounts();
    const cases: Array<[unknown, string]> = [
      [{}, 'contact missing'],
      [{ contact: {} }, 'contact.id missing'],
      [{ contact: { id: 42 } }, 'id is a number'],
      [{ contact: { id: '' } }, 'empty id'],
      [{ contact: { id: 'has space' } }, 'id with a space'],
      [{ contact: { id: 'bad-email-1', email: 'not-an-email' } }, 'invalid email'],
      [{ contact: { id: 'bad-email-2', email: 7 } }, 'email is a number'],
      [{ contact: { id: 'x'.repeat(129) } }, 'id too long'],
      [{ contact: { id: 'ana@example.com' } }, 'an email address as the id (it would sit unencrypted in Temporal visibility)'],
      [[], 'an array'],
    ];
    for (const [body, why] of cases) {
      const response = await h.request('POST', '/v1/conversations', body);
      assert.equal(response.status, 400, why);
      assert.equal(response.body.error.code, 'validation_failed', why);
      assert.ok(Array.isArray(response.body.error.details), why);
    }
    await assertNoWorkflow('bad-email-1');
    await assertNoWorkflow('bad-email-2');
    await assertNoWorkflow('ana@example.com');
    assert.deepEqual(await rowCounts(), before);
  });

  it('refuses an email address as a new agent id, naming why, and writes no agent', async () => {
    const before = await rowCounts();
    const response = await h.request('PUT', '/v1/agents/sam@example.com', { name: 'Sam', team: 'support' });
    assertError(response, 400, 'validation_failed');
    assert.match(JSON.stringify(response.body.error.details), /an email address cannot be an id/);
    assert.deepEqual(await rowCounts(), before);
    // An agent whose id predates the rule stays reachable: PATCH still finds it.
    await h.db.query(`INSERT INTO teams (name) VALUES ('support') ON CONFLICT DO NOTHING`);
    await h.db.query(`INSERT INTO agents (id, name, team, role, capacity) VALUES ('old@example.com', 'Old', 'support', 'agent', 1)`);
    assert.equal((await h.request('PATCH', '/v1/agents/old@example.com', { online: false })).status, 200);
  });

  it('answers malformed JSON with 400 invalid_json', async () => {
    assertError(await h.request('POST', '/v1/conversations', undefined, '{"contact": {"id": "c-1"'), 400, 'invalid_json');
    await assertNoWorkflow('c-1');
  });

  it('refuses a body sent as another content type', async () => {
    const response = await fetch(`${h.baseUrl}/v1/conversations`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${h.adminKey}` },
      body: 'contact',
    });
    assert.equal(response.status, 400);
  });

  it('answers 413 to an oversized body', async () => {
    const big = { contact: { id: 'big', firstName: 'x'.repeat(200_000) } };
    assertError(await h.request('POST', '/v1/conversations', big), 413, 'entity.too.large');
    await assertNoWorkflow('big');
  });

  it('answers 404 to messages and closes for a contact without an open conversation, storing nothing', async () => {
    const before = await rowCounts();
    assertError(await h.request('POST', '/v1/contacts/nobody-here/messages', { messageId: 'm-1', text: 'hi' }), 404, 'not_found');
    assertError(await h.request('POST', '/v1/conversations/nobody-here/close'), 404, 'not_found');
    assertError(await h.request('GET', '/v1/conversations/nobody-here'), 404, 'not_found');
    assertError(await h.request('GET', '/v1/contacts/nobody-here/messages'), 404, 'not_found');
    assert.deepEqual(await rowCounts(), before);
  });

  it('refuses malformed inbound messages', async () => {
    const id = h.contactId('msg-validation');
    await h.open({ id });
    await h.waitForState(id, 'asking_email');
    for (const body of [{}, { messageId: 'm' }, { text: 'hi' }, { messageId: 5, text: 'hi' }, { messageId: 'm', text: 'x', timestamp: 'yesterday' }]) {
      assertError(await h.request('POST', `/v1/contacts/${id}/messages`, body), 400, 'validation_failed');
    }
    const status = await h.conversation(id);
    assert.equal(status.invalidReplies, 0, 'no refused message reached the workflow');
    assert.equal((await h.transcript(id)).filter((m) => m.direction === 'inbound').length, 0);
    await h.request('POST', `/v1/conversations/${id}/close`);
  });

  it('validates agents: PUT needs name and team, PATCH needs a known agent and a real change', async () => {
    const before = await rowCounts();
    assertError(await h.request('PUT', '/v1/agents/a-1', { team: 'support' }), 400, 'validation_failed');
    assertError(await h.request('PUT', '/v1/agents/a-1', { name: 'A', team: 'support', role: 'boss' }), 400, 'validation_failed');
    assertError(await h.request('PUT', '/v1/agents/a-1', { name: 'A', team: 'support', capacity: -1 }), 400, 'validation_failed');
    assertError(await h.request('PUT', '/v1/agents/a-1', { name: 'A', team: 'support', online: 'yes' }), 400, 'validation_failed');
    assertError(await h.request('PATCH', '/v1/agents/ghost', { online: true }), 404, 'not_found');
    await h.putAgent('a-2', { team: 'support' });
    assertError(await h.request('PATCH', '/v1/agents/a-2', {}), 400, 'validation_failed');
    assertError(await h.request('PATCH', '/v1/agents/a-2', { online: true, team: 'other' }), 400, 'validation_failed');
    assert.equal((await rowCounts()).agents, before.agents + 1);
  });

  it('creates, replaces and patches an agent, reporting open conversations', async () => {
    const created = await h.request('PUT', '/v1/agents/a-3', { name: 'Ana', team: 'support', role: 'agent', online: true, capacity: 3 });
    assert.equal(created.status, 200);
    assert.deepEqual(
      { ...created.body, lastAssignedAt: undefined },
      {
        id: 'a-3',
        name: 'Ana',
        team: 'support',
        role: 'agent',
        online: true,
        capacity: 3,
        openConversations: 0,
        lastAssignedAt: undefined,
        email: null,
        respondioUserId: null,
        removedAt: null,
      },
    );
    const linked = await h.request('PUT', '/v1/agents/a-3', { name: 'Ana', team: 'support', capacity: 3, email: 'Ana@Example.com', respondioUserId: '42' });
    assert.equal(linked.body.email, 'ana@example.com');
    assert.equal(linked.body.respondioUserId, '42');
    const replaced = await h.request('PUT', '/v1/agents/a-3', { name: 'Ana S.', team: 'support', capacity: 3 });
    assert.equal(replaced.body.respondioUserId, '42', 'how respond.io knows the agent is kept when a PUT leaves it out');
    assertError(await h.request('PUT', '/v1/agents/a-3', { name: 'Ana', team: 'support', respondioUserId: 'abc' }), 400, 'validation_failed');
    const patched = await h.request('PATCH', '/v1/agents/a-3', { online: false });
    assert.equal(patched.body.online, false);
    assert.equal(patched.body.capacity, 3);
    const list = await h.request('GET', '/v1/agents');
    assert.ok(list.body.agents.some((a: { id: string; openConversations: number }) => a.id === 'a-3' && a.openConversations === 0));
  });

  it('validates and serves the customer directory', async () => {
    assertError(await h.request('PUT', '/v1/directory/customers/not-an-email', { customerType: 'VIP' }), 400, 'validation_failed');
    assertError(await h.request('PUT', '/v1/directory/customers/a%40b.co', {}), 400, 'validation_failed');
    assertError(await h.request('GET', '/v1/directory/customers'), 400, 'validation_failed');
    assertError(await h.request('GET', '/v1/directory/customers?email=nobody%40example.com'), 404, 'not_found');
    const put = await h.request('PUT', '/v1/directory/customers/Ana%40Example.com', { customerType: 'VIP', accountManager: 'a-3' });
    assert.equal(put.status, 200);
    const got = await h.request('GET', '/v1/directory/customers?email=ana%40example.com');
    assert.equal(got.status, 200);
    assert.equal(got.body.customerType, 'VIP');
    assert.equal(got.body.accountManager, 'a-3');
  });

  it('answers unknown routes with a JSON 404', async () => {
    assertError(await h.request('GET', '/v1/nothing'), 404, 'not_found');
  });

  it('reports liveness and readiness', async () => {
    assert.equal((await h.request('GET', '/healthz')).status, 200);
    const ready = await h.request('GET', '/readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body.checks, { temporal: { ok: true }, postgres: { ok: true } });
  });
});
