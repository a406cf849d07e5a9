import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { createApp } from '../../src/api/app';
import { createPool } from '../../src/db/pool';
import { findFreePort } from '../../src/local/ports';
import { createLogger } from '../../src/observability/logger';
import { ApiKeys } from '../../src/security/api-key-tokens';
import { workflowIdForContact } from '../../src/workflows/definitions';
import { Harness, testRouting } from '../support/harness';
import { parseEnv } from '../../src/service/config';
import { pruneWebhookEvents } from '../../src/db/webhook-events';
import { WEBHOOK_DEDUPE_WINDOW_MS } from '../../src/domain/retention-windows';
import { apiSettings } from '../../src/service/compose';
import {
  contactAssigneeUpdated,
  conversationClosed,
  conversationOpened,
  deliverWebhook,
  messageReceived,
  signRespondioBody,
  tagUpdated,
} from '../support/respondio-payloads';
import { startRespondioStandIn, type RespondioStandIn } from '../support/respondio-standin';
import { createScratchDatabase } from '../support/servers';
import { waitUntil } from '../../src/local/processes';

const TOKEN = 'respondio-test-token-webhooks';
/** Two webhooks configured in respond.io, each with its own key. */
const KEYS = ['whsec-opened-and-closed-0123456789', 'whsec-messages-and-assignees-9876543210'];

/** `POST /v1/webhooks/respondio`: respond.io's events as respond.io sends them, signed, each applied once. */
describe('respond.io webhooks', () => {
  let h: Harness;
  let respondio: RespondioStandIn;
  let url: string;
  let nextContact = 7_100_000 + Math.floor(Math.random() * 100_000) * 10;
  const contactNumber = () => nextContact++;

  before(async () => {
    respondio = await startRespondioStandIn({ token: TOKEN });
    h = await Harness.start({ respondio: { baseUrl: respondio.baseUrl, token: TOKEN, signingKeys: KEYS } });
    url = `${h.baseUrl}/v1/webhooks/respondio`;
    await h.putAgent('wh-sam', { team: 'support' });
  });
  after(async () => {
    await h.close();
    await respondio.close();
  });

  const events = async (eventId: string) => (await h.db.query(`SELECT status, outcome FROM webhook_events WHERE event_id = $1`, [eventId])).rows;
  const runExists = async (contactId: string) =>
    h.client.workflow
      .getHandle(workflowIdForContact(contactId))
      .describe()
      .then(
        () => true,
        () => false,
      );
  const applied = (eventId: string) =>
    waitUntil(`event ${eventId} applied`, async () => {
      const [row] = await events(eventId);
      return row && row.status !== 'pending' ? row : undefined;
    }, { timeoutMs: 20_000 });

  it('accepts an event signed with any of the configured keys (base64 HMAC-SHA256 of the raw body)', async () => {
    for (const key of KEYS) {
      const id = contactNumber();
      const event = conversationOpened({ id, email: null });
      const response = await deliverWebhook(url, event, key);
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.deepEqual(response.body, { received: true, eventId: event.event_id, duplicate: false });
      assert.equal((await applied(event.event_id)).outcome, 'routing started');
      assert.ok(await runExists(String(id)));
    }
  });

  it('refuses a missing or wrong signature with 401, and nothing happens', async () => {
    const id = contactNumber();
    const event = conversationOpened({ id, email: null });
    const raw = JSON.stringify(event);
    const cases = [
      { name: 'no header', key: null, signature: undefined },
      { name: 'a key respond.io does not have', key: 'whsec-someone-else', signature: undefined },
      { name: 'not base64 of anything', key: null, signature: 'not-a-signature' },
      { name: 'the signature of other bytes (re-serialized JSON)', key: null, signature: signRespondioBody(JSON.stringify(event, null, 2), KEYS[0]!) },
      { name: 'a hex digest instead of base64', key: null, signature: Buffer.from(signRespondioBody(raw, KEYS[0]!), 'base64').toString('hex') },
    ];
    for (const { name, key, signature } of cases) {
      const response = await deliverWebhook(url, event, key, { raw, signature });
      assert.equal(response.status, 401, name);
      assert.equal((response.body as any).error.code, 'invalid_signature', name);
    }
    assert.deepEqual(await events(event.event_id), [], 'no event recorded');
    assert.equal(await runExists(String(id)), false, 'no routing started');
  });

  it('verifies the exact bytes: a body with extra whitespace signed as sent is accepted', async () => {
    const id = contactNumber();
    const event = conversationOpened({ id, email: null });
    const raw = `${JSON.stringify(event, null, 3)}\n`;
    const response = await deliverWebhook(url, event, KEYS[1]!, { raw });
    assert.equal(response.status, 200);
  });

  it('refuses a signed payload it cannot use with 400, recording nothing', async () => {
    const notJson = await deliverWebhook(url, undefined, KEYS[0]!, { raw: '{"event_id": "x", ' });
    assert.equal(notJson.status, 400);
    assert.equal((notJson.body as any).error.code, 'invalid_json');
    const noContactId = { ...conversationOpened({ id: contactNumber() }), contact: { firstName: 'Ana' } };
    const refused = await deliverWebhook(url, noContactId, KEYS[0]!);
    assert.equal(refused.status, 400);
    assert.equal((refused.body as any).error.code, 'validation_failed');
    assert.ok((refused.body as any).error.details.some((d: { path: string }) => d.path === 'contact.id'));
    assert.deepEqual(await events(noContactId.event_id), []);
  });

  it('answers 2xx to event types it does not route on, and keeps unknown fields without failing', async () => {
    const event = { ...tagUpdated({ id: contactNumber() }), something_new: { nested: [1, 2, 3] } };
    const response = await deliverWebhook(url, event, KEYS[0]!);
    assert.equal(response.status, 200);
    assert.deepEqual(await events(event.event_id), [{ status: 'done', outcome: 'ignored: event type contact.tag.updated is not used' }]);
    const id = contactNumber();
    const opened = { ...conversationOpened({ id, email: null }), brand_new_field: 'kept' };
    (opened.contact as any).customAttribute = { a: 1 };
    assert.equal((await deliverWebhook(url, opened, KEYS[0]!)).status, 200);
    assert.equal((await applied(opened.event_id)).outcome, 'routing started');
  });

  it('starts routing a contact whose email is null by asking for it', async () => {
    const id = contactNumber();
    const event = conversationOpened({ id, email: null, language: 'en' });
    assert.equal((await deliverWebhook(url, event, KEYS[0]!)).status, 200);
    const status = await h.waitForState(String(id), 'asking_email');
    assert.deepEqual(status.path.slice(0, 3), ['trigger', 'check_email', 'ask_email']);
  });

  it('has exactly one effect for an event delivered 10 times at once and again later', async () => {
    const id = contactNumber();
    const opened = conversationOpened({ id, email: null });
    const answers = await Promise.all(Array.from({ length: 10 }, () => deliverWebhook(url, opened, KEYS[0]!)));
    assert.deepEqual(
      answers.map((a) => a.status),
      Array(10).fill(200),
    );
    assert.equal(answers.filter((a) => (a.body as any).duplicate === false).length, 1, 'one delivery is the event, nine are redeliveries');
    await applied(opened.event_id);
    await h.waitForState(String(id), 'asking_email');

    const reply = messageReceived({ id }, { messageId: 880_001, text: 'not an email' });
    const replies = await Promise.all(Array.from({ length: 10 }, () => deliverWebhook(url, reply, KEYS[1]!)));
    assert.ok(replies.every((a) => a.status === 200));
    await applied(reply.event_id);
    // "Later": after the event was applied, as a retry hours later would be.
    assert.equal(((await deliverWebhook(url, reply, KEYS[1]!)).body as any).duplicate, true);
    assert.equal(((await deliverWebhook(url, opened, KEYS[0]!)).body as any).duplicate, true);
    const status = await h.waitFor(String(id), (s) => s.invalidReplies > 0);
    assert.equal(status.invalidReplies, 1, 'the reply counted once');
    const inbound = (await h.transcript(String(id))).filter((m) => m.direction === 'inbound');
    assert.equal(inbound.length, 1);
    const { rows } = await h.db.query(`SELECT count(*)::int AS n FROM webhook_events WHERE event_id = ANY($1)`, [[opened.event_id, reply.event_id]]);
    assert.equal(rows[0].n, 2);
    const history = await h.client.workflow.getHandle(workflowIdForContact(String(id))).fetchHistory();
    const starts = (history.events ?? []).filter((e) => e.workflowExecutionStartedEventAttributes).length;
    const signals = (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'messageReceived').length;
    assert.deepEqual({ starts, signals }, { starts: 1, signals: 1 });
  });

  it('ignores outgoing messages and messages for a contact without an open conversation', async () => {
    const id = contactNumber();
    const lonely = messageReceived({ id }, { messageId: 880_100, text: 'hello?' });
    await deliverWebhook(url, lonely, KEYS[1]!);
    assert.equal((await applied(lonely.event_id)).outcome, 'ignored: no open conversation');
    const outgoing = messageReceived({ id }, { messageId: 880_101, text: 'from an agent' });
    (outgoing.message as any).traffic = 'outgoing';
    await deliverWebhook(url, outgoing, KEYS[1]!);
    assert.equal((await events(outgoing.event_id))[0]?.outcome, 'ignored: outgoing message');
    assert.equal(await runExists(String(id)), false);
  });

  it('records the event and answers before applying it: an accepted event waits out a Temporal outage', async () => {
    // An API whose Temporal is unreachable: the event is accepted all the same, and applied once Temporal is back.
    const databaseUrl = await createScratchDatabase(h.servers.databaseUrl);
    const db = createPool(databaseUrl);
    const { migrateDatabase } = await import('../../src/db/pool');
    await migrateDatabase(db);
    const deadTemporal = Connection.lazy({ address: `127.0.0.1:${await findFreePort()}` });
    const { app, inbox } = createApp({
      client: new Client({ connection: deadTemporal }),
      db,
      routing: testRouting(),
      taskQueue: h.taskQueue,
      log: createLogger('silent'),
      apiKeys: new ApiKeys(db),
      respondio: { signingKeys: KEYS },
      inbox: { pollMs: 100, effectTimeoutMs: 1_000 },
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((ready) => server.once('listening', ready));
    inbox.start();
    try {
      const event = conversationOpened({ id: contactNumber(), email: null });
      const started = performance.now();
      const response = await deliverWebhook(`http://127.0.0.1:${(server.address() as any).port}/v1/webhooks/respondio`, event, KEYS[0]!);
      const answeredInMs = performance.now() - started;
      assert.equal(response.status, 200);
      console.log(`# webhook answered in ${answeredInMs.toFixed(1)} ms with Temporal unreachable`);
      const retried = await waitUntil('a second attempt of the event', async () => {
        const { rows } = await db.query(`SELECT status, attempts, last_error FROM webhook_events WHERE event_id = $1`, [event.event_id]);
        return rows[0]?.attempts >= 2 ? rows[0] : undefined;
      }, { timeoutMs: 20_000 });
      assert.equal(retried.status, 'pending', 'kept for another attempt');
    } finally {
      await inbox.stop();
      server.close();
      await db.end();
      // The lazy connection is left to the garbage collector: closing it under a call still retrying throws.
    }
  });

  it('refuses an event respond.io dates before the dedupe window, by its own timestamp, recording nothing', async () => {
    const DAY = 86_400;
    const now = Math.floor(Date.now() / 1000);
    const id = contactNumber();
    const stale = [
      messageReceived({ id }, { messageId: 880_001, text: 'from last month', timestamp: now - 8 * DAY }),
      conversationOpened({ id }, { conversationOpenedAt: now - 8 * DAY }),
      conversationClosed({ id }, { openedTime: now - 9 * DAY, closedTime: now - 8 * DAY }),
    ];
    for (const event of stale) {
      const response = await deliverWebhook(url, event, KEYS[0]!);
      assert.equal(response.status, 409, JSON.stringify(response.body));
      assert.equal((response.body as any).error.code, 'event_too_old');
      assert.deepEqual(await events(event.event_id), [], 'nothing recorded');
    }
    assert.equal(await runExists(String(id)), false, 'no run started');
    // Inside the window it is taken, and its row is what recognises a redelivery.
    const recent = messageReceived({ id }, { messageId: 880_002, text: 'from last week', timestamp: now - 6 * DAY });
    assert.equal((await deliverWebhook(url, recent, KEYS[0]!)).status, 200);
    assert.equal((await events(recent.event_id)).length, 1);
  });

  it('keeps an event id at least as long as the window: a redelivery at its end is still known as one', async () => {
    const window = WEBHOOK_DEDUPE_WINDOW_MS;
    const id = contactNumber();
    // Dated 5 minutes inside the window and handled when it happened: the latest a redelivery can still be taken.
    const occurred = Date.now() - window + 5 * 60_000;
    const event = messageReceived({ id }, { messageId: 880_003, text: 'late redelivery', timestamp: Math.floor(occurred / 1000) });
    assert.equal((await deliverWebhook(url, event, KEYS[0]!)).status, 200);
    await applied(event.event_id);
    await h.db.query(`UPDATE webhook_events SET received_at = to_timestamp($2 / 1000.0), processed_at = to_timestamp($2 / 1000.0) WHERE event_id = $1`, [event.event_id, occurred]);
    await pruneWebhookEvents(h.db, window);
    const again = await deliverWebhook(url, event, KEYS[0]!);
    assert.equal(again.status, 200);
    assert.equal((again.body as any).duplicate, true, 'the id was still kept');
    // A transcript retention shorter than the window shrinks the window with it, never the other way round.
    assert.equal(apiSettings(parseEnv({ VIP_ROUTER_TRANSCRIPT_RETENTION: '2d' })).inbox?.retentionMs, 2 * 86_400_000);
    assert.equal(apiSettings(parseEnv({ VIP_ROUTER_TRANSCRIPT_RETENTION: '90d' })).inbox?.retentionMs, window);
  });

  it('does not act on the echo of its own assignment', async () => {
    const id = contactNumber();
    await h.putAgent('wh-echo', { team: 'echo-team' });
    await h.request('PUT', '/v1/agents/wh-echo', { name: 'Echo', team: 'echo-team', respondioUserId: '5501' });
    const opened = conversationOpened({ id, email: null });
    await deliverWebhook(url, opened, KEYS[0]!);
    await h.waitForState(String(id), 'asking_email');
    // The contact is assigned by respond.io's own rules to a user... then our echo: what we sent ourselves.
    await h.db.query(`INSERT INTO assignee_echoes (contact_id, user_id) VALUES ($1, '5501')`, [String(id)]);
    const echo = contactAssigneeUpdated({ id }, { id: 5501, firstName: 'Echo', lastName: 'Agent', email: 'echo@example.com' });
    await deliverWebhook(url, echo, KEYS[1]!);
    assert.equal((await applied(echo.event_id)).outcome, 'echo of our own assignment');
    assert.equal((await h.conversation(String(id))).state, 'asking_email', 'the run did not hear of it');
  });
});

