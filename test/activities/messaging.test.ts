import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createMessagingActivities, type OutboundMessage } from '../../src/activities/messaging';
import { transcript } from '../../src/db/messages';
import { createPool, type Db, migrateDatabase } from '../../src/db/pool';
import { Harness } from '../support/harness';
import { acquireTestServers, createScratchDatabase } from '../support/servers';

/** Outbound messages: stored once in the transcript, delivered once to a real webhook on loopback, signed. */
describe('outbound channel', () => {
  const deliveries: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  let status = 200;
  const webhook = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      deliveries.push({ headers: req.headers, body });
      res.writeHead(status).end();
    });
  });
  let db: Db;
  let release: () => Promise<void>;
  let url = '';
  before(async () => {
    await new Promise<void>((ready) => webhook.listen(0, '127.0.0.1', ready));
    url = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`;
    const acquired = await acquireTestServers();
    release = acquired.release;
    db = createPool(await createScratchDatabase(acquired.servers.databaseUrl));
    await migrateDatabase(db);
  });
  after(async () => {
    await db.end();
    await release();
    await new Promise<void>((done) => webhook.close(() => done()));
  });

  const send = (message: OutboundMessage) =>
    new MockActivityEnvironment().run(createMessagingActivities({ db, fetch, outbound: { webhookUrl: url, webhookSecret: 'hook-secret' } }).sendMessage, message);
  const question = (key: string): OutboundMessage => ({ contactId: 'c-out', conversationId: 'run-1', key, kind: 'question', text: 'Your email?', direction: 'outbound' });

  it('stores, signs and delivers a message once, however often the activity runs', async () => {
    await send(question('ask'));
    await send(question('ask'));
    assert.equal(deliveries.length, 1);
    const [delivery] = deliveries;
    // Checked the way a receiver would, with its own HMAC over the bytes it got: hex SHA-256 under the shared secret.
    const expected = `sha256=${createHmac('sha256', 'hook-secret').update(delivery!.body).digest('hex')}`;
    assert.equal(delivery!.headers['x-vip-router-signature'], expected);
    assert.equal(delivery!.headers['idempotency-key'], 'run-1:ask');
    assert.equal(JSON.parse(delivery!.body).text, 'Your email?');
    const stored = await transcript(db, 'c-out');
    assert.deepEqual(stored.map((m) => [m.kind, m.delivery]), [['question', 'delivered']]);
  });

  it('keeps the message when the webhook refuses it, and delivers it on a later attempt', async () => {
    status = 503;
    await assert.rejects(send(question('retry')), /answered 503/);
    status = 200;
    await send(question('retry'));
    const stored = (await transcript(db, 'c-out')).filter((m) => m.messageId === 'run-1:retry');
    assert.equal(stored.length, 1);
    assert.equal(stored[0]!.delivery, 'delivered');
  });

  it('keeps notes for agents in the transcript without sending them to the contact', async () => {
    const before = deliveries.length;
    await send({ ...question('note'), kind: 'escalation_note', text: 'escalated', direction: 'note' });
    assert.equal(deliveries.length, before);
    assert.ok((await transcript(db, 'c-out')).some((m) => m.direction === 'note' && m.text === 'escalated'));
  });
});

/** OUTBOUND_WEBHOOK_URL end to end: the worker running the conversation delivers its messages, signed, to a real receiver. */
describe('outbound webhook from a running worker', () => {
  const SECRET = 'outbound-secret-from-the-environment';
  const received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  let h: Harness;
  before(async () => {
    await new Promise<void>((ready) => receiver.listen(0, '127.0.0.1', ready));
    const webhookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/inbox`;
    h = await Harness.start({ outbound: { webhookUrl, webhookSecret: SECRET } });
    await h.putAgent('out-sup', { team: 'support', capacity: 5 });
  });
  after(async () => {
    await h.close();
    await new Promise<void>((done) => receiver.close(() => done()));
  });

  async function deliveriesFor(contactId: string, count: number) {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const mine = received.map((d) => ({ ...d, json: JSON.parse(d.body) })).filter((d) => d.json.contactId === contactId);
      if (mine.length >= count) return mine;
      if (Date.now() > deadline) assert.fail(`the webhook got ${mine.length} of ${count} messages for ${contactId}`);
      await new Promise((tick) => setTimeout(tick, 50));
    }
  }

  it('delivers the question and the thank-you, signed with the secret, each once and marked delivered', async () => {
    const id = h.contactId('outbound');
    await h.open({ id });
    await h.waitForState(id, 'asking_email');
    await deliveriesFor(id, 1);
    assert.equal((await h.say(id, 'm-1', `${id}@example.com`)).status, 202);
    await h.waitForState(id, 'assigned');
    const deliveries = await deliveriesFor(id, 2);

    const { conversationId } = await h.conversation(id);
    assert.deepEqual(
      deliveries.map((d) => ({ type: d.json.type, kind: d.json.kind, conversationId: d.json.conversationId })),
      [
        { type: 'message.outbound', kind: 'question', conversationId },
        { type: 'message.outbound', kind: 'success', conversationId },
      ],
    );
    for (const delivery of deliveries) {
      // What a receiver does: its own HMAC-SHA256 of the raw body under the shared secret.
      const expected = `sha256=${createHmac('sha256', SECRET).update(delivery.body).digest('hex')}`;
      assert.equal(delivery.headers['x-vip-router-signature'], expected);
      assert.equal(delivery.headers['idempotency-key'], delivery.json.messageId);
      assert.equal(delivery.headers['content-type'], 'application/json');
    }
    const outbound = (await h.transcript(id)).filter((m) => m.direction === 'outbound');
    assert.deepEqual(
      outbound.map((m) => [m.kind, m.delivery, m.messageId, m.text]),
      deliveries.map((d) => [d.json.kind, 'delivered', d.json.messageId, d.json.text]),
      'what the contact was sent is what the transcript keeps, marked delivered',
    );
  });
});
