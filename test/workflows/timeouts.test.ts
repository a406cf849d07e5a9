import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ms from 'ms';
import { getContact } from '../../src/db/contacts';
import { messageReceivedSignal, stateQuery } from '../../src/workflows/definitions';
import { decided, TimeSkippingWorld, timeSkippingWorldPerTest, waitForPendingTimer } from '../support/time-skipping';
import { askedThenRouted } from '../support/paths';

/** Waits measured in hours and days, on one time-skipping test server: each test reads its clock, in its own world. */
describe('reply and queue timeouts', () => {
  let w: TimeSkippingWorld;
  timeSkippingWorldPerTest((world) => (w = world));


  describe('no reply to the email question within 24 h', () => {
    it('routes the contact as regular by default (onReplyTimeout: route_regular)', async () => {
      await w.putAgent('sup-sam', { team: 'support' });
      const id = w.contactId('silent-regular');
      const handle = await w.open({ id, firstName: 'Ana' });
      await waitForPendingTimer(handle);
      await w.env.sleep('24h');

      const status = await w.waitFor(handle, decided);
      assert.equal(status.state, 'assigned');
      assert.equal(status.tier, 'regular');
      assert.deepEqual(status.assignee, { agentId: 'sup-sam', name: 'sup-sam', team: 'support' });
      assert.deepEqual(status.path, ['trigger', 'check_email', 'ask_email', 'reply_timeout', 'tier:regular', 'assigned']);
      assert.deepEqual(await w.assignments(id), [{ agentId: 'sup-sam', via: 'team', released: false }]);
      assert.deepEqual(
        (await w.transcript(id)).map((m) => [m.direction, m.kind]),
        [['outbound', 'question']],
      );
      await w.recordHistory(id, 'reply-timeout-route-regular');
    });

    it('escalates to an online manager, with a note, when onReplyTimeout is escalate', async () => {
      await w.putAgent('sup-sam', { team: 'support' });
      await w.putAgent('mgr-maria', { team: 'managers', role: 'manager' });
      const id = w.contactId('silent-escalate');
      const handle = await w.open({ id }, { askEmail: { onReplyTimeout: 'escalate' } });
      await waitForPendingTimer(handle);
      await w.env.sleep('24h');

      const status = await w.waitFor(handle, decided);
      assert.equal(status.state, 'escalated');
      assert.deepEqual(status.assignee, { agentId: 'mgr-maria', name: 'mgr-maria', team: 'managers' });
      assert.deepEqual(status.path, ['trigger', 'check_email', 'ask_email', 'reply_timeout', 'escalate', 'assigned']);
      assert.deepEqual(await w.assignments(id), [{ agentId: 'mgr-maria', via: 'escalation', released: false }]);
      assert.deepEqual(
        (await w.transcript(id)).map((m) => [m.direction, m.kind]),
        [
          ['outbound', 'question'],
          ['note', 'escalation_note'],
        ],
      );
      await w.recordHistory(id, 'reply-timeout-escalate');
    });

    it('closes the conversation without assigning anyone when onReplyTimeout is close', async () => {
      await w.putAgent('sup-sam', { team: 'support' });
      await w.putAgent('mgr-maria', { team: 'managers', role: 'manager' });
      const id = w.contactId('silent-close');
      const handle = await w.open({ id }, { askEmail: { onReplyTimeout: 'close' } });
      await waitForPendingTimer(handle);
      await w.env.sleep('24h');

      const final = await handle.result();
      assert.equal(final.state, 'closed');
      assert.equal(final.assignee, undefined);
      assert.deepEqual(final.path, ['trigger', 'check_email', 'ask_email', 'reply_timeout', 'close']);
      assert.deepEqual(await w.assignments(id), []);
      assert.deepEqual(
        (await w.transcript(id)).map((m) => m.kind),
        ['question'],
      );
      await w.recordHistory(id, 'reply-timeout-close');
    });
  });

  it('still accepts a valid email that arrives 23 h after the question (the reply timer is 24 h)', async () => {
    await w.putAgent('sup-sam', { team: 'support' });
    const id = w.contactId('late-reply');
    const email = `${id}@example.com`;
    w.crm.script(email, { status: 200, body: { customerType: 'Regular' } });
    const handle = await w.open({ id });
    const askedAt = await waitForPendingTimer(handle);
    await w.env.sleep('23h');
    assert.ok((await w.env.currentTimeMs()) - askedAt >= ms('23h'), 'the test server skipped 23 h');
    assert.equal((await handle.query(stateQuery)).state, 'asking_email');

    await handle.signal(messageReceivedSignal, { messageId: `${id}-m1`, text: `sorry for the delay, it's ${email}` });
    const status = await w.waitFor(handle, decided);
    assert.equal(status.state, 'assigned');
    assert.equal(status.customerType, 'Regular');
    assert.deepEqual(status.assignee, { agentId: 'sup-sam', name: 'sup-sam', team: 'support' });
    assert.deepEqual(status.path, askedThenRouted('regular'));
    assert.equal((await getContact(w.db, id))?.email, email);
    assert.deepEqual(
      (await w.transcript(id)).map((m) => m.kind),
      ['question', 'success'],
    );
    await w.recordHistory(id, 'reply-after-23h');
  });

  describe('nobody online on the routing chain', () => {
    /** The manager is online but not on the regular chain (team support only), so the conversation queues. */
    async function openQueuedRegular(label: string, routing: Parameters<TimeSkippingWorld['open']>[1] = {}) {
      await w.putAgent('sup-sam', { team: 'support', online: false });
      await w.putAgent('mgr-maria', { team: 'managers', role: 'manager' });
      const id = w.contactId(label);
      const email = `${id}@example.com`;
      w.crm.script(email, { status: 200, body: { customerType: 'Regular' } });
      const handle = await w.open({ id, email }, routing);
      await waitForPendingTimer(handle);
      assert.equal((await handle.query(stateQuery)).state, 'queued');
      assert.ok(await w.isQueued(id), 'a queue row while waiting');
      return { id, handle };
    }

    it('escalates to the manager once the default 72 h maximum queue wait passes (onQueueTimeout: escalate)', async () => {
      const { id, handle } = await openQueuedRegular('queued-escalate');
      await w.env.sleep('71h');
      assert.equal((await handle.query(stateQuery)).state, 'queued', 'still waiting after 71 h');
      assert.deepEqual(await w.assignments(id), []);
      await w.env.sleep('1h');

      const status = await w.waitFor(handle, decided);
      assert.equal(status.state, 'escalated');
      assert.deepEqual(status.assignee, { agentId: 'mgr-maria', name: 'mgr-maria', team: 'managers' });
      assert.deepEqual(status.path, ['trigger', 'check_email', 'fetch_crm', 'tier:regular', 'queued', 'queue_timeout', 'escalate', 'assigned']);
      assert.deepEqual(await w.assignments(id), [{ agentId: 'mgr-maria', via: 'escalation', released: false }]);
      assert.deepEqual(
        (await w.transcript(id)).map((m) => [m.direction, m.kind]),
        [['note', 'escalation_note']],
      );
      assert.equal(await w.isQueued(id), false, 'the queue row is gone');
      await w.recordHistory(id, 'queue-timeout-escalate');
    });

    it('closes the conversation and removes its queue row after the maximum wait when onQueueTimeout is close', async () => {
      const { id, handle } = await openQueuedRegular('queued-close', { assignment: { onQueueTimeout: 'close' } });
      await w.env.sleep('72h');

      const final = await handle.result();
      assert.equal(final.state, 'closed');
      assert.equal(final.assignee, undefined);
      assert.deepEqual(final.path, ['trigger', 'check_email', 'fetch_crm', 'tier:regular', 'queued', 'queue_timeout', 'close']);
      assert.deepEqual(await w.assignments(id), []);
      assert.equal(await w.isQueued(id), false);
      assert.deepEqual(await w.transcript(id), []);
      await w.recordHistory(id, 'queue-timeout-close');
    });
  });
});
