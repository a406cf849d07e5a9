import type { Queryable } from '../db/pool';
import { SERVING_ORDER } from './store';

/** The queue as it is read (the operator, the API, a queued contact's notice), in the dispatcher's serving order. */

export interface QueueEntry {
  conversationId: string;
  workflowId: string;
  contactId: string;
  tier: string;
  priority: number;
  /** `priority` risen with the wait when the entry ages: what the dispatcher orders by now. */
  effectivePriority: number;
  enqueuedAt: string;
}

/** Waiting conversations in the order the dispatcher serves them: highest effective priority first, then the longest waiting. */
export async function listQueue(db: Queryable, limit = 500): Promise<QueueEntry[]> {
  const { rows } = await db.query<QueueEntry>(
    `SELECT conversation_id AS "conversationId", workflow_id AS "workflowId", contact_id AS "contactId", tier,
            priority, ${SERVING_ORDER.effectivePriority} AS "effectivePriority", enqueued_at AS "enqueuedAt"
       FROM queue_entries ORDER BY ${SERVING_ORDER.orderBy} LIMIT $1`,
    [limit],
  );
  return rows;
}

export interface WaitingEntry extends QueueEntry {
  /** 1: served next. */
  position: number;
  waitingMs: number;
}

/** The queue as an operator reads it: serving order, each entry's place and how long it has waited. */
export async function waitingQueue(db: Queryable, limit?: number): Promise<WaitingEntry[]> {
  const now = Date.now();
  return (await listQueue(db, limit)).map((entry, index) => ({
    position: index + 1,
    ...entry,
    waitingMs: now - new Date(entry.enqueuedAt).getTime(),
  }));
}

/** Where a waiting conversation stands in its tier's queue, and how many of its tier were assigned lately. */
export interface QueueStanding {
  tier: string;
  /** 1: the next of its tier to be served. */
  position: number;
  assignedInWindow: number;
}

/**
 * The conversation's place among the waiting conversations of its tier (in serving order) and its tier's assignments
 * over the last `windowMs`; null when it is not waiting (served, withdrawn).
 */
export async function queueStanding(db: Queryable, conversationId: string, windowMs: number): Promise<QueueStanding | null> {
  const { rows } = await db.query<QueueStanding>(
    `WITH ordered AS (
            SELECT conversation_id, tier, row_number() OVER (PARTITION BY tier ORDER BY ${SERVING_ORDER.orderBy}) AS position
              FROM queue_entries)
     SELECT o.tier, o.position::int AS position,
            (SELECT count(*)::int FROM assignments s
              WHERE s.tier = o.tier AND s.assigned_at > now() - make_interval(secs => $2)) AS "assignedInWindow"
       FROM ordered o WHERE o.conversation_id = $1`,
    [conversationId, windowMs / 1000],
  );
  return rows[0] ?? null;
}
