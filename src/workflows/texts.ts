import type { RoutingConfig } from '../domain/routing-config';
import { type MessageSet, SHIPPED_MESSAGES } from '../domain/routing-texts';

type LegacyMessages = Pick<MessageSet, 'question' | 'invalid' | 'success' | 'escalationNote'>;

/**
 * Runs started before texts came per language carry one set, and said these notes in English. The texts that came
 * later still (out of hours, first response, queue notices) are English for them too.
 */
const LEGACY_NOTES: Omit<MessageSet, keyof LegacyMessages> = {
  escalationNoReply: 'the contact did not reply to the email question',
  escalationQueueTimeout: 'nobody on the routing chain became available in time',
  outOfHours: SHIPPED_MESSAGES.en.outOfHours,
  firstResponseMissed: SHIPPED_MESSAGES.en.firstResponseMissed,
  queued: SHIPPED_MESSAGES.en.queued,
  queuedFewMinutes: SHIPPED_MESSAGES.en.queuedFewMinutes,
};

function isLegacy(messages: unknown): messages is LegacyMessages {
  return typeof (messages as { question?: unknown }).question === 'string';
}

/** The texts for a contact: their language's, else the configured fallback's. */
export function textsFor(askEmail: RoutingConfig['askEmail'], language?: string | null): MessageSet {
  const messages: unknown = askEmail.messages;
  if (isLegacy(messages)) return { ...LEGACY_NOTES, ...messages };
  return askEmail.messages[textsLanguage(askEmail, language)]!;
}

/** The language a contact is written to in: theirs when the rules have texts for it, else the fallback. */
export function textsLanguage(askEmail: RoutingConfig['askEmail'], language?: string | null): string {
  const byLanguage = askEmail.messages;
  if (isLegacy(byLanguage)) return askEmail.fallbackLanguage;
  return [language ?? '', askEmail.fallbackLanguage].find((candidate) => byLanguage[candidate]) ?? Object.keys(byLanguage)[0]!;
}
