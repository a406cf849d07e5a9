import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { workflowIdForContact } from '../../src/workflows/definitions';
import { Harness } from '../support/harness';

/**
 * How long the worker's event loop is held (a starved CPU, a long GC pause). A heartbeat the SDK holds back is sent
 * at the next throttle point even while the loop is held, so the server hears of the activity up to one throttle
 * interval into the stall: with a 5 s timeout and 4 s throttle a stall past 9 s timed the attempt out; with 15 s and
 * 2 s, one up to 13 s does not.
 */
const STALL_MS = 11_000;

/**
 * A worker that stalls for a few seconds mid-activity is slow, not dead: the activity's heartbeat timeout must not
 * start a second attempt while the first is still at work (for a send, the second would be a second message).
 */
describe('an activity whose worker stalls for seconds', () => {
  let h: Harness;
  const attempts: number[] = [];
  // The question's send, on its first attempt: some heartbeats go out, then the whole process is held.
  const stallFirstSend: ActivityInterceptorsFactory = (ctx) => ({
    inbound: {
      async execute(input, next) {
        if (ctx.info.activityType !== 'sendMessage') return next(input);
        attempts.push(ctx.info.attempt);
        if (ctx.info.attempt === 1) {
          await new Promise((wait) => setTimeout(wait, 2_500));
          const until = Date.now() + STALL_MS;
          while (Date.now() < until) {
            // Busy: no timer, no heartbeat, no I/O runs meanwhile.
          }
        }
        return next(input);
      },
    },
  });

  before(async () => {
    h = await Harness.start({ interceptors: { activity: [stallFirstSend] } });
  });
  after(() => h.close());

  it('is not given to a second attempt: the send runs once, on its first attempt, and completes', async () => {
    const contactId = `stall-${Date.now()}`;
    assert.equal((await h.open({ id: contactId })).status, 202);
    const handle = h.client.workflow.getHandle(workflowIdForContact(contactId));
    const deadline = Date.now() + 40_000;
    for (;;) {
      const events = (await handle.fetchHistory()).events ?? [];
      const send = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'sendMessage');
      const ofSend = (id: unknown) => send !== undefined && String(id) === String(send.eventId);
      const started = events.find((e) => ofSend(e.activityTaskStartedEventAttributes?.scheduledEventId));
      if (events.some((e) => ofSend(e.activityTaskCompletedEventAttributes?.scheduledEventId))) {
        assert.equal(started?.activityTaskStartedEventAttributes?.attempt, 1, 'completed on its first attempt');
        break;
      }
      assert.ok(Date.now() < deadline, 'the send completed');
      await new Promise((tick) => setTimeout(tick, 200));
    }
    assert.deepEqual(attempts, [1], 'no second attempt ever started');
    assert.equal((await h.transcript(contactId)).filter((m) => m.kind === 'question').length, 1);
  });
});
