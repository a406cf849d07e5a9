import { ApplicationFailure, Context } from '@temporalio/activity';
import { setContactEmail, upsertContact } from '../db/contacts';
import type { Db } from '../db/pool';
import type { RespondioClient } from '../respondio/client';
import type { ContactInput, RoutingInput } from '../domain/conversation';
import { identifierOf, platformFailure, requirePlatform } from './platform';

export function createContactActivities(deps: { db: Db; respondio?: RespondioClient }) {
  return {
    async saveContact(contact: ContactInput): Promise<void> {
      await upsertContact(deps.db, contact);
    },
    /**
     * Saves the email to the contact, here and (for a run with a platform) in respond.io. A refusal there for good
     * is answered, not thrown: the email is saved here either way and the run goes on, noting why.
     */
    async saveContactEmail(input: {
      contactId: string;
      conversationId: string;
      email: string;
      platform?: RoutingInput['platform'];
    }): Promise<{ platformRefused?: string }> {
      // Named before the email is saved: a contact known by email is looked up in respond.io by the old one.
      const identifier = input.platform ? await identifierOf(deps.db, input.contactId) : undefined;
      await setContactEmail(deps.db, input.contactId, input.email);
      if (!identifier) return {};
      try {
        await requirePlatform(deps.respondio).updateContactEmail(identifier, input.email, { signal: Context.current().cancellationSignal });
      } catch (error) {
        const failure = platformFailure(error);
        if (failure instanceof ApplicationFailure && failure.nonRetryable) return { platformRefused: failure.message };
        throw failure;
      }
      return {};
    },
  };
}
