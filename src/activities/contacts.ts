import { setContactEmail, upsertContact } from '../db/contacts';
import type { Db } from '../db/pool';
import type { ContactInput } from '../workflows/types';

export function createContactActivities(deps: { db: Db }) {
  return {
    async saveContact(contact: ContactInput): Promise<void> {
      await upsertContact(deps.db, contact);
    },
    async saveContactEmail({ contactId, email }: { contactId: string; email: string }): Promise<void> {
      await setContactEmail(deps.db, contactId, email);
    },
  };
}
