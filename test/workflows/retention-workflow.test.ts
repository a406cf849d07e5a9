import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ScheduleNotFoundError } from '@temporalio/client';
import { recordMessage } from '../../src/db/messages';
import { markSuperseded, prunePlatformRecords, recordGivenUpEffect } from '../../src/db/platform-calls';
import { completeWebhookEvent, insertWebhookEvent } from '../../src/db/webhook-events';
import { ensureRetentionSchedule, retentionScheduleId } from '../../src/temporal/retention-schedule';
import { Harness } from '../support/harness';

const DAY = 86_400_000;

/** VIP_ROUTER_TRANSCRIPT_RETENTION: a Temporal Schedule's workflow prunes old transcripts and handled webhook events. */
describe('transcript retention', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start();
  });
  after(() => h.close());

  const daysAgo = (days: number) => new Date(Date.now() - days * DAY);

  async function message(contactId: string, text: string, at: Date): Promise<void> {
    await recordMessage(h.db, { contactId, direction: 'inbound', kind: 'reply', externalId: text, text, occurredAt: at });
  }

  async function event(eventId: string, handledAt: Date | null): Promise<void> {
    await insertWebhookEvent(h.db, { eventId, eventType: 'message.received', contactId: 'retention-contact', payload: { eventId } });
    if (handledAt === null) return;
    const { rows } = await h.db.query(`SELECT seq::text FROM webhook_events WHERE event_id = $1`, [eventId]);
    await completeWebhookEvent(h.db, rows[0].seq, 'applied');
    await h.db.query(`UPDATE webhook_events SET processed_at = $2, received_at = $2 WHERE event_id = $1`, [eventId, handledAt]);
  }

  const remaining = async (sql: string) => (await h.db.query(sql)).rows.map((row) => Object.values(row)[0]).sort();

  it('prunes messages and handled events older than the retention on its schedule, and keeps the newer ones and the pending', async () => {
    await message('retention-contact', 'three days old', daysAgo(3));
    await message('retention-contact', 'one day old', daysAgo(1));
    await message('retention-contact', 'just now', new Date());
    await event('retention-old-done', daysAgo(3));
    await event('retention-new-done', daysAgo(1));
    // Not handled yet: it stays, whatever its age, until it is applied.
    await event('retention-old-pending', null);
    await h.db.query(`UPDATE webhook_events SET received_at = $1 WHERE event_id = 'retention-old-pending'`, [daysAgo(3)]);

    // What the platform records keep past a conversation: a completed call (its request can hold a comment's text),
    // one still pending (kept: its run is still trying), a superseded conversation and a given-up effect.
    for (const [key, completedAt] of [['old-done', daysAgo(3)], ['new-done', daysAgo(1)], ['old-pending', null]] as const) {
      await h.db.query(
        `INSERT INTO platform_calls (conversation_id, call_key, contact_id, kind, request, completed_at, created_at)
         VALUES ($1, $2, 'retention-contact', 'comment', '{"text":"a note"}', $3, $4)`,
        ['retention-conversation', key, completedAt, daysAgo(3)],
      );
    }
    for (const [id, at] of [['retention-old', daysAgo(3)], ['retention-new', daysAgo(1)]] as const) {
      await markSuperseded(h.db, id, 'retention-contact');
      await recordGivenUpEffect(h.db, { conversationId: id, key: 'close', contactId: 'retention-contact', effect: 'close', reason: 'down' });
      await h.db.query(`UPDATE superseded_conversations SET superseded_at = $2 WHERE conversation_id = $1`, [id, at]);
      await h.db.query(`UPDATE given_up_effects SET given_up_at = $2 WHERE conversation_id = $1`, [id, at]);
    }

    await ensureRetentionSchedule(h.client, { taskQueue: h.taskQueue, retentionMs: 2 * DAY });
    const schedule = await h.client.schedule.getHandle(retentionScheduleId(h.taskQueue)).describe();
    assert.deepEqual((schedule.action as { args?: unknown[] }).args, [{ retentionMs: 2 * DAY }]);

    // The schedule starts its first run at once; the worker's activity does the deleting.
    const deadline = Date.now() + 30_000;
    while ((await remaining(`SELECT body FROM messages WHERE contact_id = 'retention-contact'`)).includes('three days old')) {
      assert.ok(Date.now() < deadline, 'the scheduled run did not prune within 30 s');
      await new Promise((tick) => setTimeout(tick, 200));
    }
    const runs = await h.client.schedule.getHandle(retentionScheduleId(h.taskQueue)).describe();
    const started = runs.info.recentActions[0]!.action.workflow;
    const summary = await h.client.workflow.getHandle(started.workflowId, started.firstExecutionRunId).result();
    assert.deepEqual(summary, { messages: 1, webhookEvents: 1, platformCalls: 1, supersededConversations: 1, givenUpEffects: 1 });

    assert.deepEqual(await remaining(`SELECT body FROM messages WHERE contact_id = 'retention-contact'`), ['just now', 'one day old']);
    assert.deepEqual(await remaining(`SELECT event_id FROM webhook_events WHERE event_id LIKE 'retention-%'`), ['retention-new-done', 'retention-old-pending']);
    assert.deepEqual(await remaining(`SELECT call_key FROM platform_calls WHERE conversation_id = 'retention-conversation'`), ['new-done', 'old-pending']);
    assert.deepEqual(await remaining(`SELECT conversation_id FROM superseded_conversations WHERE contact_id = 'retention-contact'`), ['retention-new']);
    assert.deepEqual(await remaining(`SELECT conversation_id FROM given_up_effects WHERE contact_id = 'retention-contact'`), ['retention-new']);
  });

  it('keeps platform records younger than a day under an hour’s retention: a pending effect may still need them', async () => {
    const HOUR = 3_600_000;
    for (const [id, at] of [['short-2h', new Date(Date.now() - 2 * HOUR)], ['short-25h', new Date(Date.now() - 25 * HOUR)]] as const) {
      await markSuperseded(h.db, id, 'short-contact');
      await h.db.query(`UPDATE superseded_conversations SET superseded_at = $2 WHERE conversation_id = $1`, [id, at]);
    }
    // (The first test's day-old rows are at the floor too: only this contact's are counted here.)
    assert.ok((await prunePlatformRecords(h.db, HOUR)).supersededConversations >= 1);
    assert.deepEqual(await remaining(`SELECT conversation_id FROM superseded_conversations WHERE contact_id = 'short-contact'`), ['short-2h']);
  });

  it('is removed when a worker starts without a retention', async () => {
    await ensureRetentionSchedule(h.client, { taskQueue: h.taskQueue, retentionMs: 90 * DAY });
    await ensureRetentionSchedule(h.client, { taskQueue: h.taskQueue });
    await assert.rejects(h.client.schedule.getHandle(retentionScheduleId(h.taskQueue)).describe(), ScheduleNotFoundError);
    // And once more is no error.
    await ensureRetentionSchedule(h.client, { taskQueue: h.taskQueue });
  });
});
