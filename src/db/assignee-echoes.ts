import type { Queryable } from './pool';

export interface AssigneeRef {
  userId?: string | null;
  email?: string | null;
}

/** Notes an assignee change about to be sent to respond.io, before it is sent, so its echo is recognised. */
export async function recordAssigneeSend(db: Queryable, contactId: string, assignee: AssigneeRef | null): Promise<void> {
  await db.query(`INSERT INTO assignee_echoes (contact_id, user_id, email) VALUES ($1, $2, $3)`, [
    contactId,
    assignee?.userId ?? null,
    assignee?.email?.toLowerCase() ?? null,
  ]);
}

/**
 * True when an assignee change respond.io reports is the echo of one this service sent within `windowMs`
 * (matched by user id or email; an un-assignment by both being empty). Each send matches one echo.
 */
export async function consumeAssigneeEcho(db: Queryable, contactId: string, assignee: AssigneeRef | null, windowMs: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE assignee_echoes SET seen_at = now()
      WHERE id = (
        SELECT id FROM assignee_echoes
         WHERE contact_id = $1 AND seen_at IS NULL AND sent_at > now() - make_interval(secs => $4 / 1000.0)
           AND CASE WHEN $2::text IS NULL AND $3::text IS NULL THEN user_id IS NULL AND email IS NULL
                    ELSE user_id = $2 OR email = $3 END
         ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)`,
    [contactId, assignee?.userId ?? null, assignee?.email?.toLowerCase() ?? null, windowMs],
  );
  return rowCount === 1;
}
