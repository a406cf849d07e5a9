import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { markSuperseded, recordGivenUpEffect } from '../../src/db/platform-calls';
import { deferWebhookEvent, insertWebhookEvent } from '../../src/db/webhook-events';
import { workflowIdForContact } from '../../src/workflows/definitions';
import { Harness } from '../support/harness';
import { conversationOpened, deliverWebhook, messageReceived } from '../support/respondio-payloads';
import { type RespondioStandIn, startRespondioStandIn } from '../support/respondio-standin';

const TOKEN = 'respondio-test-token-erasure';
const KEY = 'whsec-erasure-0123456789abcdef';

/** Every text-like column of every table of ours: where personal data could sit. */
async function textColumns(h: Harness): Promise<Array<{ table: string; column: string }>> {
  const { rows } = await h.db.query(
    `SELECT table_name AS table, column_name AS column FROM information_schema.columns
      WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb')
      ORDER BY table_name, column_name`,
  );
  return rows;
}

/** Where (table.column) any of these strings still appears, and how often. */
async function whereFound(h: Harness, needles: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const { table, column } of await textColumns(h)) {
    for (const needle of needles) {
      const { rows } = await h.db.query(`SELECT count(*)::int AS n FROM "${table}" WHERE strpos(lower("${column}"::text), lower($1)) > 0`, [needle]);
      if (rows[0].n > 0) found.push(`${table}.${column} holds "${needle}" ${rows[0].n}×`);
    }
  }
  return found;
}

/** `DELETE /v1/contacts/{contactId}`: a contact's personal data, gone from every table. */
describe('erasing a contact', () => {
  let h: Harness;
  let respondio: RespondioStandIn;
  let url: string;
  const base = 7_600_000 + Math.floor(Math.random() * 100_000) * 10;
  let messageId = 995_000 + Math.floor(Math.random() * 1_000);

  before(async () => {
    respondio = await startRespondioStandIn({ token: TOKEN });
    h = await Harness.start({ respondio: { baseUrl: respondio.baseUrl, token: TOKEN, signingKeys: [KEY] } });
    url = `${h.baseUrl}/v1/webhooks/respondio`;
    await h.request('PUT', '/v1/agents/erasure-sup', { name: 'Eri Support', team: 'support', email: 'eri@support.example.com' });
  });
  after(async () => {
    await h.close();
    await respondio.close();
  });

  const send = async (payload: unknown) => {
    const response = await deliverWebhook(url, payload, KEY);
    assert.equal(response.status, 200, JSON.stringify(response.body));
  };

  /** A contact served end to end through respond.io: asked for the email, given it, assigned; its texts are its own. */
  async function servedContact(id: number, label: string): Promise<{ email: string; texts: string[] }> {
    const email = `${label}-${id}@erasure.example.com`;
    await h.putCustomer(email, { customerType: 'Regular' });
    await send(conversationOpened({ id, email: null, firstName: `First${label}` }));
    await h.waitFor(String(id), (s) => s.state === 'asking_email');
    const texts = [`my address is ${email}`, `${label} needs help with order ${id}`];
    await send(messageReceived({ id }, { messageId: messageId++, text: texts[0]! }));
    await h.waitFor(String(id), (s) => s.state === 'assigned');
    await send(messageReceived({ id }, { messageId: messageId++, text: texts[1]! }));
    // A failed event keeps its payload for the operator: that too is the contact's.
    await insertWebhookEvent(h.db, { eventId: `erasure-failed-${id}`, eventType: 'message.received', contactId: String(id), payload: { note: texts[1], email } });
    const { rows } = await h.db.query(`SELECT seq::text FROM webhook_events WHERE event_id = $1`, [`erasure-failed-${id}`]);
    await deferWebhookEvent(h.db, rows[0].seq, `could not apply for ${email}`, null);
    return { email, texts };
  }

  it('closes the open conversation, then leaves no table holding the contact’s email or message texts, and says what it removed', async () => {
    const erased = await servedContact(base, 'gone');
    const kept = await servedContact(base + 1, 'kept');
    assert.deepEqual(await whereFound(h, [erased.email, ...erased.texts]).then((found) => found.length > 0), true, 'the scan finds the data before');
    // What the platform records keep of the contact past a conversation: a conversation a reopen replaced, an effect
    // given up after its time bound.
    await markSuperseded(h.db, `erasure-old-${base}`, String(base));
    await recordGivenUpEffect(h.db, { conversationId: `erasure-old-${base}`, key: 'close', contactId: String(base), effect: 'close', reason: 'respond.io down' });
    await markSuperseded(h.db, `erasure-old-${base + 1}`, String(base + 1));

    const response = await h.request('DELETE', `/v1/contacts/${base}?directory=true`);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.contactId, String(base));
    assert.equal(response.body.conversationClosed, true);
    const removed = response.body.removed;
    assert.ok(removed.messages >= 2, JSON.stringify(removed));
    assert.equal(removed.contacts, 1);
    assert.equal(removed.directoryCustomers, 1);
    assert.ok(removed.webhookEvents >= 3, JSON.stringify(removed));
    assert.ok(removed.assignments >= 1, JSON.stringify(removed));
    assert.equal(removed.supersededConversations, 1);
    assert.equal(removed.givenUpEffects, 1);
    const left = await h.db.query(
      `SELECT contact_id FROM superseded_conversations WHERE conversation_id LIKE 'erasure-old-%'
       UNION ALL SELECT contact_id FROM given_up_effects WHERE conversation_id LIKE 'erasure-old-%'`,
    );
    assert.deepEqual(left.rows.map((row) => row.contact_id), [String(base + 1)], 'only the other contact keeps its record');

    assert.deepEqual(await whereFound(h, [erased.email, ...erased.texts]), []);
    const status = await h.client.workflow.getHandle(workflowIdForContact(String(base))).describe().catch(() => undefined);
    assert.notEqual(status?.status.name, 'RUNNING', 'the run was closed first');
    // Another contact keeps everything.
    assert.equal((await whereFound(h, [kept.email, ...kept.texts])).length >= 3, true);
    assert.equal((await h.request('GET', `/v1/contacts/${base + 1}/messages`)).status, 200);
    assert.equal((await h.request('GET', `/v1/contacts/${base}/messages`)).status, 404);
  });

  it('is idempotent: erasing again, or a contact never seen, answers 200 with every count 0', async () => {
    for (const id of [String(base), 'never-seen-contact']) {
      const response = await h.request('DELETE', `/v1/contacts/${id}`);
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.equal(response.body.conversationClosed, false);
      assert.ok(Object.values(response.body.removed).every((n) => n === 0), JSON.stringify(response.body.removed));
    }
  });

  it('keeps the directory entry unless asked, and refuses a directory flag that is not true or false, changing nothing', async () => {
    const { email } = await servedContact(base + 2, 'dir');
    for (const query of ['?directory=yes', '?directory=', '?purge=true']) {
      const refused = await h.request('DELETE', `/v1/contacts/${base + 2}${query}`);
      assert.equal(refused.status, 400, `${query}: ${JSON.stringify(refused.body)}`);
      assert.equal(refused.body.error.code, 'validation_failed');
    }
    assert.equal((await h.conversation(String(base + 2))).state, 'assigned', 'nothing was closed');
    const response = await h.request('DELETE', `/v1/contacts/${base + 2}`);
    assert.equal(response.status, 200);
    assert.equal(response.body.removed.directoryCustomers, 0);
    assert.equal((await h.request('GET', `/v1/directory/customers?email=${encodeURIComponent(email)}`)).status, 200);
  });
});
