import type { Queryable } from './pool';

export interface QueueEntry {
  conversationId: string;
  workflowId: string;
  contactId: string;
  tier: string;
  priority: number;
  enqueuedAt: string;
}

/** Waiting conversations in the order the dispatcher serves them: higher priority first, then the longest waiting. */
export async function listQueue(db: Queryable, limit = 500): Promise<QueueEntry[]> {
  const { rows } = await db.query<QueueEntry>(
    `SELECT conversation_id AS "conversationId", workflow_id AS "workflowId", contact_id AS "contactId", tier,
            priority, enqueued_at AS "enqueuedAt"
       FROM queue_entries ORDER BY priority DESC, enqueued_at, conversation_id LIMIT $1`,
    [limit],
  );
  return rows;
}
