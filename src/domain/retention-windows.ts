/** How long respond.io event ids are kept (from when they were handled) to recognise a redelivery. */
export const WEBHOOK_DEDUPE_WINDOW_MS = 7 * 24 * 3_600_000;

/**
 * The dedupe window under a transcript retention: event ids never outlive the transcripts (their contact ids are
 * personal data too), and the window shrinks with them, so an event is never older than the ids kept to check it.
 */
export function webhookDedupeWindowMs(transcriptRetentionMs: number | undefined): number {
  return Math.min(WEBHOOK_DEDUPE_WINDOW_MS, transcriptRetentionMs ?? Infinity);
}
