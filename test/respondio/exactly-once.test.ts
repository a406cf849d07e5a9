import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createMessagingActivities, type OutboundMessage } from '../../src/activities/messaging';
import { createPlatformActivities } from '../../src/activities/platform';
import { transcript } from '../../src/db/messages';
import { createPool, type Db, migrateDatabase } from '../../src/db/pool';
import { createRespondioClient } from '../../src/respondio/client';
import { type RespondioStandIn, startRespondioStandIn } from '../support/respondio-standin';
import { acquireTestServers, createScratchDatabase } from '../support/servers';

const TOKEN = 'respondio-test-token-exactly-once';
/** Short, so that "respond.io answers after our timeout" takes a moment; the lease is three times this. */
const TIMEOUT_MS = 400;
const POSTED_MESSAGE = { method: 'POST', path: /\/message$/ };

/**
 * A send to respond.io whose outcome the attempt never learnt (connection dropped, answer too late, the database
 * write lost) and attempts that overlap: each message reaches the contact once. The activities run as Temporal runs
 * them, one attempt after another, against real PostgreSQL and the respond.io stand-in on loopback.
 */
describe('a message reaches respond.io once, whatever happened to the attempt before', () => {
  let respondio: RespondioStandIn;
  let databaseUrl: string;
  let db: Db;
  let release: () => Promise<void>;
  let contact = 8_100_000 + Math.floor(Math.random() * 100_000);

  before(async () => {
    respondio = await startRespondioStandIn({ token: TOKEN });
    const acquired = await acquireTestServers();
    release = acquired.release;
    databaseUrl = await createScratchDatabase(acquired.servers.databaseUrl);
    db = createPool(databaseUrl);
    await migrateDatabase(db);
  });
  after(async () => {
    await db.end();
    await release();
    await respondio.close();
  });
  beforeEach(() => {
    contact++;
    respondio.reset();
  });

  const client = () => createRespondioClient({ token: TOKEN, baseUrl: respondio.baseUrl, timeoutMs: TIMEOUT_MS });
  /** One attempt of the activity, as a worker runs it: its own client, the given database pool. */
  const attempt = (message: OutboundMessage, pool: Db = db): Promise<{ id: string; delivered: boolean }> =>
    new MockActivityEnvironment().run(createMessagingActivities({ db: pool, fetch, outbound: {}, respondio: client() }).sendMessage, message);
  const question = (text = 'What is your email?', key = 'ask'): OutboundMessage => ({
    contactId: String(contact),
    conversationId: `run-${contact}`,
    key,
    kind: 'question',
    text,
    direction: 'outbound',
    platform: 'respondio',
  });
  const identifier = () => `id:${contact}`;
  const outgoing = () => respondio.messagesOf(identifier()).filter((m) => m.traffic === 'outgoing');
  const posts = () => respondio.calls.filter((c) => c.method === 'POST' && c.identifier === identifier());
  const row = async (key = 'ask') => (await transcript(db, String(contact))).find((m) => m.messageId === `run-${contact}:${key}`)!;
  /** Attempts until one completes, the way the retry policy would (each after the failure the last one gave). */
  const untilDone = async (message: OutboundMessage, attempts = 10) => {
    for (let n = 1; ; n++) {
      try {
        return await attempt(message);
      } catch (error) {
        if (n >= attempts) throw error;
        await new Promise((wait) => setTimeout(wait, 200));
      }
    }
  };

  it('after the connection dropped once respond.io had kept the message, the retry records it instead of sending it again', async () => {
    respondio.failNext(POSTED_MESSAGE, 'apply-then-drop');
    await assert.rejects(attempt(question()), /network|failed/i);
    assert.equal(outgoing().length, 1, 'respond.io kept the message before the connection dropped');

    assert.deepEqual((await attempt(question())).delivered, true);
    assert.equal(outgoing().length, 1, 'still one message at respond.io');
    assert.equal(posts().length, 1, 'the retry did not post it again');
    assert.equal((await row()).platformMessageId, String(outgoing()[0]!.messageId));
    assert.equal((await row()).delivery, 'delivered');
  });

  it('when respond.io answers after our timeout, the retry records the message it had already sent', async () => {
    respondio.failNext(POSTED_MESSAGE, { applyThenAnswerAfterMs: TIMEOUT_MS * 3 });
    await assert.rejects(attempt(question()), /within 400 ms/);
    await attempt(question());
    assert.equal(outgoing().length, 1);
    assert.equal(posts().length, 1);
    assert.equal((await row()).platformMessageId, String(outgoing()[0]!.messageId));
  });

  it('when the database write after the send fails (its pool gone, as with a worker or PostgreSQL lost), the retry does not send again', async () => {
    const doomed = createPool(databaseUrl);
    respondio.failNext(POSTED_MESSAGE, { applyThen: () => doomed.end() });
    await assert.rejects(attempt(question(), doomed), /pool/i);
    assert.equal(outgoing().length, 1, 'respond.io sent it; only our record of it was lost');
    assert.equal((await row()).platformMessageId, null);

    await attempt(question());
    assert.equal(outgoing().length, 1);
    assert.equal(posts().length, 1);
    assert.equal((await row()).platformMessageId, String(outgoing()[0]!.messageId));
  });

  it('two attempts at once (a stalled one and its retry) send one message', async () => {
    respondio.failNext(POSTED_MESSAGE, { applyThenAnswerAfterMs: 150 });
    const both = await Promise.allSettled([attempt(question()), attempt(question())]);
    for (const outcome of both) {
      if (outcome.status === 'rejected') assert.match(String(outcome.reason), /another attempt holds the claim/);
    }
    assert.ok(both.some((outcome) => outcome.status === 'fulfilled'));
    await untilDone(question());
    assert.equal(posts().length, 1);
    assert.equal(outgoing().length, 1);
    assert.equal((await row()).platformMessageId, String(outgoing()[0]!.messageId));
  });

  it('does not take for its own a message that is not it: too old, incoming, or recorded for another message; then sends its own', async () => {
    const text = 'That is not an email, please try again';
    // The first re-ask went out and is recorded; a person sent the same words ten minutes ago; the contact wrote them.
    await attempt(question(text, 'reask-1'));
    respondio.addMessage(identifier(), 'outgoing', text, new Date(Date.now() - 10 * 60_000));
    respondio.addMessage(identifier(), 'incoming', text);
    // The second re-ask's first attempt got no answer and had no effect.
    respondio.failNext(POSTED_MESSAGE, 'timeout');
    await assert.rejects(attempt(question(text, 'reask-2')), /within 400 ms/);
    await untilDone(question(text, 'reask-2'));

    const ours = outgoing().filter((m) => m.message.text === text);
    assert.equal(ours.length, 3, 'the old one, the first re-ask and the second, sent when nothing was found');
    const first = await row('reask-1');
    const second = await row('reask-2');
    assert.notEqual(first.platformMessageId, second.platformMessageId);
    assert.equal(second.platformMessageId, String(ours.at(-1)!.messageId));
  });

  it('a 500 is looked up before the next try, a 429 is not, and each sends once', async () => {
    respondio.failNext(POSTED_MESSAGE, { status: 500, body: { message: 'upstream failed' } });
    await assert.rejects(attempt(question()), /500/);
    await attempt(question());
    assert.equal(respondio.calls.filter((c) => c.path.endsWith('/message/list')).length, 1, 'looked up once after the 500');
    assert.equal(outgoing().length, 1);

    contact++;
    respondio.reset();
    respondio.failNext(POSTED_MESSAGE, { status: 429, headers: { 'retry-after': '0' }, body: { message: 'slow down' } });
    await assert.rejects(attempt(question()), /429/);
    await attempt(question());
    assert.equal(respondio.calls.filter((c) => c.path.endsWith('/message/list')).length, 0, 'a 429 sent nothing: no look-up');
    assert.equal(outgoing().length, 1);
  });

  it('a comment whose answer was lost is not added a second time, and the transcript says so', async () => {
    const note: OutboundMessage = { ...question('VIP waiting: escalated', 'escalate'), kind: 'escalation_note', direction: 'note' };
    respondio.failNext({ method: 'POST', path: /\/comment$/ }, 'apply-then-drop');
    await assert.rejects(attempt(note), /network|failed/i);
    await untilDone(note);
    assert.equal(respondio.calls.filter((c) => c.path.endsWith('/comment')).length, 1);
    const stored = await row('escalate');
    assert.equal(stored.delivery, 'delivered');
    assert.match(stored.deliveryError ?? '', /did not confirm/);
  });

  it('a close whose answer was lost is not sent again: the run is told it was skipped', async () => {
    const close = (): Promise<{ skipped?: string }> =>
      new MockActivityEnvironment().run(createPlatformActivities({ db, respondio: client() }).closeInPlatform, {
        conversationId: `run-${contact}`,
        contactId: String(contact),
        key: 'close',
      });
    const closes = () => respondio.calls.filter((c) => c.path.endsWith('/conversation/status'));
    respondio.failNext({ method: 'POST', path: /\/conversation\/status$/ }, 'apply-then-drop');
    await assert.rejects(close(), /network|failed/i);
    let outcome: { skipped?: string } | undefined;
    for (let n = 0; n < 10 && !outcome; n++) {
      outcome = await close().catch(() => new Promise<undefined>((wait) => setTimeout(() => wait(undefined), 200)));
    }
    assert.match(outcome?.skipped ?? '', /did not confirm/);
    assert.equal(closes().length, 1);
    assert.deepEqual(await close(), {}, 'later attempts find the call done');
    assert.equal(closes().length, 1);
  });
});
