import type { Queryable } from './pool';

export interface ClaimedEvent {
  seq: string;
  eventId: string;
  eventType: string;
  contactId: string | null;
  payload: unknown;
  attempts: number;
  receivedAt: Date;
}

/** Records an event once; false when its event_id was seen before (a redelivery). */
export async function insertWebhookEvent(
  db: Queryable,
  event: { eventId: string; eventType: string; contactId?: string; payload: unknown; status?: 'pending' | 'done'; outcome?: string },
): Promise<boolean> {
  const done = event.status === 'done';
  const { rowCount } = await db.query(
    `INSERT INTO webhook_events (event_id, event_type, contact_id, payload, status, outcome, processed_at)
     VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $5 = 'done' THEN now() END)
     ON CONFLICT (event_id) DO NOTHING`,
    [event.eventId, event.eventType, event.contactId ?? null, done ? null : JSON.stringify(event.payload), event.status ?? 'pending', event.outcome ?? null],
  );
  return rowCount === 1;
}

/**
 * Leases up to `limit` events that are due, taking only the oldest pending event of each contact, so one
 * contact's events apply in the order they came while other contacts' go on in parallel (and on other processes).
 */
export async function claimWebhookEvents(db: Queryable, limit: number, leaseMs: number): Promise<ClaimedEvent[]> {
  const { rows } = await db.query(
    `UPDATE webhook_events SET locked_until = now() + make_interval(secs => $2 / 1000.0), attempts = attempts + 1
      WHERE seq IN (
        SELECT e.seq FROM webhook_events e
         WHERE e.status = 'pending' AND e.available_at <= now() AND (e.locked_until IS NULL OR e.locked_until < now())
           AND NOT EXISTS (SELECT 1 FROM webhook_events p
                            WHERE p.status = 'pending' AND p.contact_id = e.contact_id AND p.seq < e.seq)
         ORDER BY e.seq LIMIT $1 FOR UPDATE SKIP LOCKED)
      RETURNING seq::text, event_id AS "eventId", event_type AS "eventType", contact_id AS "contactId", payload, attempts,
                received_at AS "receivedAt"`,
    [limit, leaseMs],
  );
  return rows.sort((a, b) => Number(a.seq) - Number(b.seq));
}

export async function completeWebhookEvent(db: Queryable, seq: string, outcome: string): Promise<void> {
  await db.query(
    `UPDATE webhook_events SET status = 'done', outcome = $2, processed_at = now(), payload = NULL, locked_until = NULL,
            last_error = NULL WHERE seq = $1`,
    [seq, outcome],
  );
}

/** Puts the event back for a later attempt, or gives up on it (`failed`) when retrying cannot help. */
export async function deferWebhookEvent(db: Queryable, seq: string, error: string, retryInMs: number | null): Promise<void> {
  await db.query(
    `UPDATE webhook_events SET locked_until = NULL, last_error = $2,
            status = CASE WHEN $3::bigint IS NULL THEN 'failed' ELSE 'pending' END,
            processed_at = CASE WHEN $3::bigint IS NULL THEN now() END,
            available_at = now() + make_interval(secs => COALESCE($3::bigint, 0) / 1000.0)
      WHERE seq = $1`,
    [seq, error.slice(0, 1000), retryInMs],
  );
}

/** Forgets events handled longer ago than the redelivery window. */
export async function pruneWebhookEvents(db: Queryable, olderThanMs: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM webhook_events WHERE status <> 'pending' AND processed_at < now() - make_interval(secs => $1 / 1000.0)`,
    [olderThanMs],
  );
  return rowCount ?? 0;
}

