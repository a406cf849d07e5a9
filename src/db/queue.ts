import type { Queryable } from './pool';

export interface QueueEntry {
  conversationId: string;
  workflowId: string;
  contactId: string;
  tier: string;
  priority: number;
  enqueuedAt: string;
}

export async function enqueue(
  db: Queryable,
  entry: Omit<QueueEntry, 'enqueuedAt'>,
): Promise<void> {
  await db.query(
    `INSERT INTO queue_entries (conversation_id, workflow_id, contact_id, tier, priority)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (conversation_id) DO NOTHING`,
    [entry.conversationId, entry.workflowId, entry.contactId, entry.tier, entry.priority],
  );
}

export async function dequeue(db: Queryable, conversationId: string): Promise<void> {
  await db.query(`DELETE FROM queue_entries WHERE conversation_id = $1`, [conversationId]);
}

/** Waiting conversations in the order they are served: higher priority first, then the longest waiting. */
export async function listQueue(db: Queryable, limit = 500): Promise<QueueEntry[]> {
  const { rows } = await db.query(
    `SELECT conversation_id AS "conversationId", workflow_id AS "workflowId", contact_id AS "contactId", tier,
            priority, enqueued_at AS "enqueuedAt"
       FROM queue_entries ORDER BY priority DESC, enqueued_at, conversation_id LIMIT $1`,
    [limit],
  );
  return rows;
}
