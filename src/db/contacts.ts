import type { ContactInput } from '../domain/conversation';
import type { Queryable } from './pool';

export interface ContactRecord extends ContactInput {
  customFields?: Record<string, unknown>;
}

/** Creates the contact or refreshes the fields the trigger carried; fields it did not carry are kept. */
export async function upsertContact(db: Queryable, contact: ContactRecord): Promise<void> {
  await db.query(
    `INSERT INTO contacts (id, first_name, last_name, email, phone, channel, custom_fields)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (id) DO UPDATE SET
       first_name = COALESCE(EXCLUDED.first_name, contacts.first_name),
       last_name = COALESCE(EXCLUDED.last_name, contacts.last_name),
       email = COALESCE(EXCLUDED.email, contacts.email),
       phone = COALESCE(EXCLUDED.phone, contacts.phone),
       channel = COALESCE(EXCLUDED.channel, contacts.channel),
       custom_fields = contacts.custom_fields || EXCLUDED.custom_fields,
       updated_at = now()`,
    [
      contact.id,
      contact.firstName ?? null,
      contact.lastName ?? null,
      contact.email ?? null,
      contact.phone ?? null,
      contact.channel ?? null,
      JSON.stringify(contact.customFields ?? {}),
    ],
  );
}

export async function setContactEmail(db: Queryable, contactId: string, email: string): Promise<void> {
  await db.query(
    `INSERT INTO contacts (id, email) VALUES ($1, $2)
     ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email, updated_at = now()`,
    [contactId, email],
  );
}

export async function getContact(db: Queryable, contactId: string): Promise<ContactRecord | undefined> {
  const { rows } = await db.query(
    `SELECT id, first_name AS "firstName", last_name AS "lastName", email, phone, channel,
            custom_fields AS "customFields"
       FROM contacts WHERE id = $1`,
    [contactId],
  );
  return rows[0];
}
