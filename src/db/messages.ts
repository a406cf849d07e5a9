import type { Queryable } from './pool';

export type Direction = 'inbound' | 'outbound' | 'note';

export interface TranscriptMessage {
  id: string;
  contactId: string;
  conversationId: string | null;
  direction: Direction;
  kind: string;
  messageId: string;
  text: string;
  delivery: 'stored' | 'delivered' | 'received' | 'failed';
  timestamp: string;
  platformTimestamp: string | null;
  /** respond.io's id of the message as sent (or `comment` for a note): the record that it went out. */
  platformMessageId: string | null;
  deliveryError: string | null;
}

/** Stores a message once per (contact, direction, external id); returns the stored row either way. */
export async function recordMessage(
  db: Queryable,
  message: {
    contactId: string;
    conversationId?: string | null;
    direction: Direction;
    kind: string;
    externalId: string;
    text: string;
    occurredAt?: Date;
    platformTimestamp?: string;
    /** Unset: an inbound message is received, anything else stored (to be delivered). */
    delivery?: TranscriptMessage['delivery'];
  },
): Promise<{ message: TranscriptMessage; inserted: boolean }> {
  const inserted = await db.query(
    `INSERT INTO messages (contact_id, conversation_id, direction, kind, external_id, body, delivery, occurred_at,
                           platform_timestamp)
     VALUES ($1, $2, $3, $4, $5, $6, $7, COALESCE($8::timestamptz, clock_timestamp()), $9)
     ON CONFLICT (contact_id, direction, external_id) DO NOTHING
     RETURNING id`,
    [
      message.contactId,
      message.conversationId ?? null,
      message.direction,
      message.kind,
      message.externalId,
      message.text,
      message.delivery ?? (message.direction === 'inbound' ? 'received' : 'stored'),
      message.occurredAt ?? null,
      message.platformTimestamp ?? null,
    ],
  );
  const { rows } = await db.query(`SELECT ${columns} FROM messages WHERE contact_id = $1 AND direction = $2 AND external_id = $3`, [
    message.contactId,
    message.direction,
    message.externalId,
  ]);
  return { message: rows[0], inserted: inserted.rowCount === 1 };
}

/** `caveat`: what the transcript should say about a delivery that went through with a doubt (none: clears it). */
export async function markDelivered(db: Queryable, id: string, caveat?: string): Promise<void> {
  await db.query(`UPDATE messages SET delivery = 'delivered', delivery_error = $2 WHERE id = $1`, [id, caveat ?? null]);
}

/** The first record of a send stands: a late or second writer of the same message changes nothing. */
export async function markPlatformSent(db: Queryable, id: string, platformMessageId: string): Promise<void> {
  await db.query(`UPDATE messages SET platform_message_id = $2 WHERE id = $1 AND platform_message_id IS NULL`, [id, platformMessageId]);
}

/** Whether respond.io's message id is already recorded for another message of the contact. */
export async function platformMessageIdTaken(db: Queryable, contactId: string, platformMessageId: string, exceptId: string): Promise<boolean> {
  const { rowCount } = await db.query(`SELECT 1 FROM messages WHERE contact_id = $1 AND platform_message_id = $2 AND id <> $3`, [
    contactId,
    platformMessageId,
    exceptId,
  ]);
  return (rowCount ?? 0) > 0;
}

/** A channel refused the message for good: the transcript says so, with why. */
export async function markDeliveryFailed(db: Queryable, id: string, error: string): Promise<void> {
  await db.query(`UPDATE messages SET delivery = 'failed', delivery_error = $2 WHERE id = $1`, [id, error.slice(0, 1000)]);
}

const columns = `id::text, contact_id AS "contactId", conversation_id AS "conversationId", direction, kind,
  external_id AS "messageId", body AS text, delivery, occurred_at AS "timestamp",
  platform_timestamp AS "platformTimestamp", platform_message_id AS "platformMessageId", delivery_error AS "deliveryError"`;

export async function transcript(db: Queryable, contactId: string): Promise<TranscriptMessage[]> {
  const { rows } = await db.query(`SELECT ${columns} FROM messages WHERE contact_id = $1 ORDER BY occurred_at, id`, [contactId]);
  return rows;
}

/** Deletes transcript messages older than `olderThanMs`, a batch at a time (no long lock); returns how many. */
export async function pruneMessages(db: Queryable, olderThanMs: number, batch = 5_000): Promise<number> {
  let pruned = 0;
  for (;;) {
    const { rowCount } = await db.query(
      `DELETE FROM messages WHERE id IN (
         SELECT id FROM messages WHERE occurred_at < now() - make_interval(secs => $1 / 1000.0) LIMIT $2)`,
      [olderThanMs, batch],
    );
    pruned += rowCount ?? 0;
    if ((rowCount ?? 0) < batch) return pruned;
  }
}
