import type { RoutingConfig } from '../domain/routing-config';
import { type MessageSet, SHIPPED_MESSAGES } from '../domain/routing-texts';

type LegacyMessages = Pick<MessageSet, 'question' | 'invalid' | 'success' | 'escalationNote'>;

/** Runs started before texts came per language carry one set, and said these notes in English. */
const LEGACY_NOTES: Pick<MessageSet, 'escalationNoReply' | 'escalationQueueTimeout' | 'firstResponseMissed'> = {
  escalationNoReply: 'the contact did not reply to the email question',
  escalationQueueTimeout: 'nobody on the routing chain became available in time',
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
  return byLanguage[language ?? ''] ?? byLanguage[askEmail.fallbackLanguage] ?? Object.values(byLanguage)[0]!;
}
