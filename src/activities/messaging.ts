import { createHmac } from 'node:crypto';
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { markDelivered, markDeliveryFailed, markPlatformSent, platformMessageIdTaken, recordMessage, type TranscriptMessage } from '../db/messages';
import type { Db } from '../db/pool';
import type { RespondioClient, RespondioListedMessage } from '../respondio/client';
import type { OutboundKind, RoutingInput } from '../domain/conversation';
import { identifierOf, requirePlatform, sendLeaseMs, sendOnce } from './platform';

export interface OutboundMessage {
  contactId: string;
  conversationId: string;
  /** Stable per workflow step, so a retried or replayed send stores and delivers one message. */
  key: string;
  kind: OutboundKind;
  text: string;
  /** Notes are for agents: kept in the transcript (and a comment in respond.io), never sent to the contact. */
  direction: 'outbound' | 'note';
  /** The run's platform: messages go to the contact there, notes become comments. */
  platform?: RoutingInput['platform'];
}

export interface OutboundChannel {
  webhookUrl?: string;
  webhookSecret?: string;
}

function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * How far respond.io's clock may run behind ours: a message it lists as sent up to this long before our attempt
 * began may still be that attempt's.
 */
const CLOCK_SKEW_MS = 60_000;

/** How many of the contact's newest messages a look-up reads at most, when respond.io's list gives no times. */
const LOOKUP_DEPTH = 100;

/** When respond.io first noted the message (its earliest status), in ms; Unix seconds or ms alike. */
function listedAt(listed: RespondioListedMessage): number | undefined {
  const times = (listed.status ?? []).flatMap((status) => (typeof status.timestamp === 'number' ? [status.timestamp] : []));
  if (times.length === 0) return undefined;
  const first = Math.min(...times);
  return first < 1e11 ? first * 1000 : first;
}

/** A channel refused the message for good: recorded in the transcript, not retried. */
async function refused(db: Db, stored: TranscriptMessage, failure: unknown): Promise<never> {
  if (failure instanceof ApplicationFailure && failure.nonRetryable) await markDeliveryFailed(db, stored.id, failure.message);
  throw failure;
}

export function createMessagingActivities(deps: { db: Db; fetch: typeof fetch; outbound: OutboundChannel; respondio?: RespondioClient }) {
  const { db } = deps;

  /**
   * To respond.io, once (see sendOnce): a message's send that was never confirmed is looked for among the contact's
   * messages at respond.io, an outgoing one with the same text sent since that attempt began and recorded for no
   * other message; a note's cannot be (respond.io lists no comments) and is not added twice: its transcript row says
   * so. Answers the caveat for the transcript, if any.
   */
  async function toPlatform(message: OutboundMessage, stored: TranscriptMessage): Promise<string | undefined> {
    if (stored.platformMessageId) return undefined;
    const respondio = requirePlatform(deps.respondio);
    const identifier = await identifierOf(db, message.contactId);
    const signal = Context.current().cancellationSignal;
    const note = message.direction === 'note';
    let outcome: Awaited<ReturnType<typeof sendOnce>>;
    try {
      outcome = await sendOnce(db, { table: 'messages', id: stored.id }, sendLeaseMs(respondio), {
        send: async () => {
          if (note) {
            await respondio.addComment(identifier, message.text, { signal });
            return 'comment';
          }
          return (await respondio.sendMessage(identifier, message.text, { signal })).messageId;
        },
        confirm: (sentAs) => markPlatformSent(db, stored.id, sentAs),
        ...(note ? {} : { recover: (since: Date) => recoverMessage(respondio, identifier, message, stored, since, signal) }),
      });
    } catch (error) {
      return refused(db, stored, error);
    }
    if (outcome !== 'unconfirmed') return undefined;
    await markPlatformSent(db, stored.id, 'comment');
    return 'respond.io did not confirm an earlier attempt at this comment; not added again, so it is not there twice';
  }

  /** Finds the message an unconfirmed attempt sent since `since` among the contact's at respond.io, and records it. */
  async function recoverMessage(
    respondio: RespondioClient,
    identifier: string,
    message: OutboundMessage,
    stored: TranscriptMessage,
    since: Date,
    signal: AbortSignal,
  ): Promise<boolean> {
    const from = since.getTime() - CLOCK_SKEW_MS;
    let read = 0;
    for await (const listed of respondio.listMessages(identifier, {}, { signal })) {
      const at = listedAt(listed);
      if ((at !== undefined && at < from) || ++read > LOOKUP_DEPTH) break;
      if (listed.traffic !== 'outgoing' || listed.message.type !== 'text' || listed.message.text !== message.text) continue;
      const messageId = String(listed.messageId);
      if (await platformMessageIdTaken(db, message.contactId, messageId, stored.id)) continue;
      log.info('found at respond.io the message an earlier attempt sent; recording it instead of sending again', { messageId });
      await markPlatformSent(db, stored.id, messageId);
      return true;
    }
    return false;
  }

  async function toWebhook(message: OutboundMessage, stored: TranscriptMessage, webhookUrl: string): Promise<void> {
    const body = JSON.stringify({
      type: 'message.outbound',
      messageId: stored.messageId,
      contactId: message.contactId,
      conversationId: message.conversationId,
      kind: message.kind,
      text: message.text,
    });
    const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': stored.messageId };
    if (deps.outbound.webhookSecret) headers['x-vip-router-signature'] = signBody(deps.outbound.webhookSecret, body);
    let status: number;
    try {
      status = (await deps.fetch(webhookUrl, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) })).status;
    } catch (cause) {
      throw ApplicationFailure.create({ type: 'OutboundDeliveryFailed', message: 'outbound webhook unreachable', cause: cause as Error });
    }
    if (status < 200 || status >= 300) {
      log.warn('outbound webhook refused a message', { status });
      return refused(
        db,
        stored,
        ApplicationFailure.create({
          type: 'OutboundDeliveryFailed',
          message: `outbound webhook answered ${status}`,
          // A 4xx will not get better by retrying the same request.
          nonRetryable: status >= 400 && status < 500 && status !== 408 && status !== 429,
        }),
      );
    }
  }

  return {
    /** Stores the message in the transcript, then delivers it on every channel configured for it. */
    async sendMessage(message: OutboundMessage): Promise<{ id: string; delivered: boolean }> {
      const { message: stored } = await recordMessage(db, {
        contactId: message.contactId,
        conversationId: message.conversationId,
        direction: message.direction,
        kind: message.kind,
        externalId: `${message.conversationId}:${message.key}`,
        text: message.text,
      });
      if (stored.delivery === 'delivered') return { id: stored.id, delivered: true };
      const webhookUrl = message.direction === 'note' ? undefined : deps.outbound.webhookUrl;
      if (!message.platform && !webhookUrl) return { id: stored.id, delivered: false };
      const caveat = message.platform ? await toPlatform(message, stored) : undefined;
      if (webhookUrl) await toWebhook(message, stored, webhookUrl);
      await markDelivered(db, stored.id, caveat);
      return { id: stored.id, delivered: true };
    },
  };
}
