import { pruneMessages } from '../db/messages';
import type { Db } from '../db/pool';
import { prunePlatformRecords } from '../db/platform-calls';
import { pruneWebhookEvents } from '../db/webhook-events';
import { webhookDedupeWindowMs } from '../domain/retention-windows';

/** What one pass of the transcript retention removed. */
export interface RetentionSummary {
  messages: number;
  webhookEvents: number;
  platformCalls: number;
  supersededConversations: number;
  givenUpEffects: number;
}

export function createRetentionActivities({ db }: { db: Db }) {
  return {
    /**
     * Transcript messages and the platform's records older than the retention, and handled webhook events older
     * than the dedupe window.
     */
    async pruneExpiredRows({ retentionMs }: { retentionMs: number }): Promise<RetentionSummary> {
      return {
        messages: await pruneMessages(db, retentionMs),
        webhookEvents: await pruneWebhookEvents(db, webhookDedupeWindowMs(retentionMs)),
        ...(await prunePlatformRecords(db, retentionMs)),
      };
    },
  };
}
