import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { READS_MESSAGES_MEMO, workflowIdForContact } from '../../src/workflows/definitions';
import { Harness } from '../support/harness';

/** The contact's messages: the ones written before the question count, and the ones after routing cost the run nothing. */
describe("a contact's messages", () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start();
    await h.putAgent('msg-sam', { team: 'support', capacity: 50 });
    await h.putCustomer('early@example.com', { customerType: 'Regular' });
  });
  after(() => h.close());

  const historyLength = async (id: string) => ((await h.client.workflow.getHandle(workflowIdForContact(id)).fetchHistory()).events ?? []).length;

  it('uses an email the contact wrote before the question was sent, instead of asking for it', async () => {
    // A busy worker: the run exists, its first task waits, and the contact writes meanwhile.
    await h.stopWorker();
    const id = h.contactId('early-email');
    try {
      assert.equal((await h.open({ id })).status, 202);
      assert.equal((await h.say(id, 'm-early-1', 'hi, I need help')).status, 202);
      assert.equal((await h.say(id, 'm-early-2', 'my email is Early@Example.com')).status, 202);
    } finally {
      await h.startWorker();
    }
    const status = await h.waitForState(id, 'assigned');
    assert.deepEqual(status.path, [
      'trigger',
      'check_email',
      'message_not_counted',
      'email_from_earlier_message',
      'save_email',
      'check_email',
      'fetch_crm',
      'tier:regular',
      'assigned',
    ]);
    assert.match(status.decisions.find((d) => d.step === 'email_from_earlier_message')!.detail, /early@example\.com from message m-early-2/);
    assert.match(status.decisions.find((d) => d.step === 'message_not_counted')!.detail, /^m-early-1: written before the question/);
    assert.deepEqual(
      (await h.transcript(id)).map((m) => `${m.direction}:${m.kind}`),
      ['inbound:reply', 'inbound:reply'],
      'no question was sent',
    );
    await h.request('POST', `/v1/conversations/${id}/close`);
    await h.waitForState(id, 'closed');
    await h.recordHistory(id, 'early-email-used');
  });

  it('records the messages written before the question that hold no email, and asks', async () => {
    await h.stopWorker();
    const id = h.contactId('early-chatter');
    try {
      await h.open({ id });
      await h.say(id, 'm-chatter-1', 'hello?');
    } finally {
      await h.startWorker();
    }
    const status = await h.waitForState(id, 'asking_email');
    assert.deepEqual(status.path.slice(0, 4), ['trigger', 'check_email', 'message_not_counted', 'ask_email']);
    assert.equal(status.invalidReplies, 0, 'what came before the question is not a reply to it');
    await h.request('POST', `/v1/conversations/${id}/close`);
  });

  it('keeps a conversation of 10,000 messages to a short history: after routing, messages go to the transcript only', async () => {
    const id = h.contactId('chatty');
    await h.open({ id, email: 'early@example.com' });
    await h.waitForState(id, 'assigned');
    const handle = h.client.workflow.getHandle(workflowIdForContact(id));
    assert.equal((await handle.describe()).memo?.[READS_MESSAGES_MEMO], false, 'the run told the API it reads no more messages');
    const events = await historyLength(id);

    const count = 10_000;
    const started = Date.now();
    let next = 0;
    const sender = async () => {
      while (next < count) {
        const n = next++;
        const response = await h.say(id, `m-chatty-${n}`, `message ${n} with some words in it`);
        assert.equal(response.status, 202, JSON.stringify(response.body));
      }
    };
    await Promise.all(Array.from({ length: 16 }, sender));
    const seconds = (Date.now() - started) / 1000;
    console.log(`# ${count} messages in ${seconds.toFixed(1)} s (${Math.round(count / seconds)}/s)`);

    assert.equal(await historyLength(id), events, 'not one event more in the history');
    const { rows } = await h.db.query(`SELECT count(*)::int AS n FROM messages WHERE contact_id = $1 AND direction = 'inbound'`, [id]);
    assert.equal(rows[0].n, count, 'every message is in the transcript');
    const again = await h.say(id, 'm-chatty-42', 'message 42 with some words in it');
    assert.equal(again.body.duplicate, true, 'a redelivered message is still recognised');
    assert.equal((await h.conversation(id)).state, 'assigned');
  });
});
