import { createHmac } from 'node:crypto';
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { markDelivered, markDeliveryFailed, markPlatformSent, recordMessage, type TranscriptMessage } from '../db/messages';
import type { Db } from '../db/pool';
import type { RespondioClient } from '../respondio/client';
import type { OutboundKind, RoutingInput } from '../domain';
import { identifierOf, platformFailure, requirePlatform } from './platform';

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

export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** A channel refused the message for good: recorded in the transcript, not retried. */
async function refused(db: Db, stored: TranscriptMessage, failure: unknown): Promise<never> {
  if (failure instanceof ApplicationFailure && failure.nonRetryable) await markDeliveryFailed(db, stored.id, failure.message);
  throw failure;
}

export function createMessagingActivities(deps: { db: Db; fetch: typeof fetch; outbound: OutboundChannel; respondio?: RespondioClient }) {
  const { db } = deps;

  /**
   * To respond.io, once: its message id (or the comment's record) is stored when it answers, and a retry that finds
   * it does not send again. A crash after respond.io accepted and before that write sends it a second time.
   */
  async function toPlatform(message: OutboundMessage, stored: TranscriptMessage): Promise<void> {
    if (stored.platformMessageId) return;
    const respondio = requirePlatform(deps.respondio);
    const identifier = await identifierOf(db, message.contactId);
    const signal = Context.current().cancellationSignal;
    let sentAs: string;
    try {
      if (message.direction === 'note') {
        await respondio.addComment(identifier, message.text, { signal });
        sentAs = 'comment';
      } else {
        sentAs = (await respondio.sendMessage(identifier, message.text, { signal })).messageId;
      }
    } catch (error) {
      return refused(db, stored, platformFailure(error));
    }
    await markPlatformSent(db, stored.id, sentAs);
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
      if (message.platform) await toPlatform(message, stored);
      if (webhookUrl) await toWebhook(message, stored, webhookUrl);
      await markDelivered(db, stored.id);
      return { id: stored.id, delivered: true };
    },
  };
}
