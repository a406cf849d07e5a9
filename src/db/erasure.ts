import type { Queryable } from './pool';

/** What an erasure removed (or emptied of personal data), rows per table. */
export interface ErasedRows {
  messages: number;
  contacts: number;
  webhookEvents: number;
  platformCalls: number;
  assignments: number;
  queueEntries: number;
  assigneeEchoes: number;
  directoryCustomers: number;
  supersededConversations: number;
  givenUpEffects: number;
}

/**
 * Removes a contact's personal data from every table, in one transaction (`db` is its client). Rows that only say
 * something happened are kept where they guard against doing it twice: a webhook event keeps its event_id (so a
 * redelivery is still known as one) and loses its payload, error and contact. The directory entry of the contact's
 * email goes only when asked: the directory is the customer list, not what a conversation left behind.
 */
export async function eraseContact(db: Queryable, contactId: string, { directory }: { directory: boolean }): Promise<ErasedRows> {
  const count = async (sql: string, params: unknown[] = [contactId]) => (await db.query(sql, params)).rowCount ?? 0;
  const { rows } = await db.query(`SELECT email FROM contacts WHERE id = $1`, [contactId]);
  const email: string | null = rows[0]?.email ?? null;
  return {
    directoryCustomers: directory && email ? await count(`DELETE FROM directory_customers WHERE lower(email) = lower($1)`, [email]) : 0,
    messages: await count(`DELETE FROM messages WHERE contact_id = $1`),
    contacts: await count(`DELETE FROM contacts WHERE id = $1`),
    webhookEvents: await count(
      `UPDATE webhook_events SET payload = NULL, last_error = NULL, contact_id = NULL, locked_until = NULL,
              status = CASE WHEN status = 'pending' THEN 'done' ELSE status END,
              outcome = CASE WHEN status = 'pending' THEN 'erased before it was applied' ELSE outcome END,
              processed_at = COALESCE(processed_at, now())
        WHERE contact_id = $1`,
    ),
    platformCalls: await count(`DELETE FROM platform_calls WHERE contact_id = $1`),
    // Released ones only: an open assignment is a conversation still closing, which the caller waited for.
    assignments: await count(`DELETE FROM assignments WHERE contact_id = $1 AND released_at IS NOT NULL`),
    queueEntries: await count(`DELETE FROM queue_entries WHERE contact_id = $1`),
    assigneeEchoes: await count(`DELETE FROM assignee_echoes WHERE contact_id = $1`),
    supersededConversations: await count(`DELETE FROM superseded_conversations WHERE contact_id = $1`),
    givenUpEffects: await count(`DELETE FROM given_up_effects WHERE contact_id = $1`),
  };
}
