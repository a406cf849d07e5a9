import type { RoutingConfig } from '../domain/routing-config';
import { type MessageSet, SHIPPED_MESSAGES } from '../domain/routing-texts';

type LegacyMessages = Pick<MessageSet, 'question' | 'invalid' | 'success' | 'escalationNote'>;

/** Runs started before texts came per language carry one set, and said these notes (and would say the rest) in English. */
const LEGACY_NOTES: Pick<MessageSet, 'escalationNoReply' | 'escalationQueueTimeout' | 'outOfHours' | 'firstResponseMissed'> = {
  escalationNoReply: 'the contact did not reply to the email question',
  escalationQueueTimeout: 'nobody on the routing chain became available in time',
  outOfHours: SHIPPED_MESSAGES.en.outOfHours,
  firstResponseMissed: SHIPPED_MESSAGES.en.firstResponseMissed,
};

function isLegacy(messages: unknown): messages is LegacyMessages {
  return typeof (messages as { question?: unknown }).question === 'string';
}

/** The texts for a contact: their language's, else the configured fallback's. */
export function textsFor(askEmail: RoutingConfig['askEmail'], language?: string | null): MessageSet {
  const messages: unknown = askEmail.messages;
  if (isLegacy(messages)) return { ...LEGACY_NOTES, ...messages };
  const byLanguage = askEmail.messages;
  return byLanguage[textLanguage(askEmail, language)] ?? Object.values(byLanguage)[0]!;
}

/** The language the contact is written to in: theirs when it has texts, else the fallback. */
export function textLanguage(askEmail: RoutingConfig['askEmail'], language?: string | null): string {
  return language && !isLegacy(askEmail.messages) && askEmail.messages[language] ? language : askEmail.fallbackLanguage;
}
