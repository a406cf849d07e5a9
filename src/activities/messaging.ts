import { createHmac } from 'node:crypto';
import { ApplicationFailure, log } from '@temporalio/activity';
import { markDelivered, recordMessage } from '../db/messages';
import type { Db } from '../db/pool';
import type { OutboundKind } from '../workflows/types';

export interface OutboundMessage {
  contactId: string;
  conversationId: string;
  /** Stable per workflow step, so a retried or replayed send stores and delivers one message. */
  key: string;
  kind: OutboundKind;
  text: string;
  /** Notes are for agents: kept in the transcript, never sent to the contact. */
  direction: 'outbound' | 'note';
}

export interface OutboundChannel {
  webhookUrl?: string;
  webhookSecret?: string;
}

export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function createMessagingActivities(deps: { db: Db; fetch: typeof fetch; outbound: OutboundChannel }) {
  return {
    async sendMessage(message: OutboundMessage): Promise<{ id: string; delivered: boolean }> {
      const { message: stored } = await recordMessage(deps.db, {
        contactId: message.contactId,
        conversationId: message.conversationId,
        direction: message.direction,
        kind: message.kind,
        externalId: `${message.conversationId}:${message.key}`,
        text: message.text,
      });
      const { webhookUrl, webhookSecret } = deps.outbound;
      if (message.direction === 'note' || !webhookUrl || stored.delivery === 'delivered') {
        return { id: stored.id, delivered: stored.delivery === 'delivered' };
      }
      const body = JSON.stringify({
        type: 'message.outbound',
        messageId: stored.messageId,
        contactId: message.contactId,
        conversationId: message.conversationId,
        kind: message.kind,
        text: message.text,
      });
      const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': stored.messageId };
      if (webhookSecret) headers['x-vip-router-signature'] = signBody(webhookSecret, body);
      let status: number;
      try {
        status = (await deps.fetch(webhookUrl, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) })).status;
      } catch (cause) {
        throw ApplicationFailure.create({ type: 'OutboundDeliveryFailed', message: 'outbound webhook unreachable', cause: cause as Error });
      }
      if (status < 200 || status >= 300) {
        log.warn('outbound webhook refused a message', { status });
        throw ApplicationFailure.create({
          type: 'OutboundDeliveryFailed',
          message: `outbound webhook answered ${status}`,
          // A 4xx will not get better by retrying the same request.
          nonRetryable: status >= 400 && status < 500 && status !== 408 && status !== 429,
        });
      }
      await markDelivered(deps.db, stored.id);
      return { id: stored.id, delivered: true };
    },
  };
}
