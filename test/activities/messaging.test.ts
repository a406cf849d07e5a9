import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createMessagingActivities, type OutboundMessage, signBody } from '../../src/activities/messaging';
import { transcript } from '../../src/db/messages';
import { createPool, type Db, migrateDatabase } from '../../src/db/pool';
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
    assert.equal(delivery!.headers['x-vip-router-signature'], signBody('hook-secret', delivery!.body));
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
