import express from 'express';
import type { Logger } from '../../observability/logger';
import { verifyWebhookSignature, webhookEventSchema, WebhookPayloadError } from '../../respondio/webhook';
import { workflowIdForContact } from '../../workflows/definitions';
import { answer, error, failure, webhookReceived } from '../answers';
import { body, route } from '../contract';
import { HttpError, notFound } from '../errors';
import { storableJson } from '../storable-text';
import type { WebhookInbox } from '../webhook-inbox';

/** respond.io's events nest a few levels; far deeper is not one of them. */
const MAX_DEPTH = 64;

export interface WebhookDeps {
  inbox: WebhookInbox;
  /** One per webhook configured in respond.io: each has its own signing key. */
  signingKeys: readonly string[];
  log: Pick<Logger, 'info' | 'warn'>;
}

/**
 * `POST /v1/webhooks/respondio`: respond.io's events as it sends them. Authenticated by the signature, not an API
 * key. The answer comes once the event is recorded (milliseconds); its effect follows in the background.
 */
export const webhookRoutes = [
  route<WebhookDeps>()({
    method: 'post',
    path: '/v1/webhooks/respondio',
    operationId: 'receiveRespondioEvent',
    tag: 'respond.io',
    summary: "respond.io's webhook events",
    description:
      'Signed by respond.io, not called with an API key: `X-Webhook-Signature` is base64(HMAC-SHA256(raw body, signing key)) with the key of one of the webhooks in `RESPONDIO_WEBHOOK_SIGNING_KEYS`. Answered once the event is recorded (milliseconds); applied in the background, per contact in order. Bodies up to 1 MB.',
    access: 'signature',
    body: {
      readByHandler: true,
      ...body(webhookEventSchema, {
      conversationOpened: {
        summary: 'conversation.opened',
        value: {
          event_id: '6b0f3c2e-8a51-4d27-9a0c-1f2e3d4c5b6a',
          event_type: 'conversation.opened',
          contact: { id: 1048576, firstName: 'Ana', lastName: 'Souza', email: 'ana@example.com', phone: '+34600111222', language: 'pt-BR', status: 'open', assignee: null, tags: [] },
          conversation: { source: 'whatsapp_cloud', conversationOpenedAt: 1748942100, firstIncomingMessage: 'Olá!' },
        },
      },
      messageReceived: {
        summary: 'message.received (incoming)',
        value: {
          event_id: '0d9e8f7a-6b5c-4d3e-2f1a-0b9c8d7e6f5a',
          event_type: 'message.received',
          contact: { id: 1048577, firstName: 'Bob', lastName: 'Diaz', email: null, phone: null, language: 'es', status: 'open', assignee: null },
          message: {
            messageId: 3021448,
            channelMessageId: 'wamid.HBgLMzQ2MDAxMTEyMjIVAgASGBQzQTdC',
            contactId: 1048577,
            channelId: 1,
            traffic: 'incoming',
            message: { type: 'text', text: 'bob@example.com' },
            timestamp: 1748942200,
          },
          channel: { id: 1, name: 'WhatsApp', source: 'whatsapp_cloud' },
        },
      },
      conversationClosed: {
        summary: 'conversation.closed',
        value: {
          event_id: '4c3b2a19-0f8e-4d7c-b6a5-9e8d7c6b5a49',
          event_type: 'conversation.closed',
          contact: { id: 1048576, firstName: 'Ana', lastName: 'Souza', email: 'ana@example.com', status: 'closed', assignee: null },
          conversation: { category: 'Resolved', summary: '', openedTime: 1748942100, closedTime: 1748945700, closedBySource: 'user' },
        },
      },
      contactAssigneeUpdated: {
        summary: 'contact.assignee.updated (re-assigned by hand)',
        value: {
          event_id: '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a',
          event_type: 'contact.assignee.updated',
          contact: {
            id: 1048576,
            firstName: 'Ana',
            lastName: 'Souza',
            email: 'ana@example.com',
            status: 'open',
            assignee: { id: 5120, firstName: 'Sam', lastName: 'Ortega', email: 'sam@example.com' },
          },
        },
      },
    }),
    },
    responses: {
      200: answer('Recorded.', webhookReceived, {
        received: { summary: 'Recorded', value: { received: true, eventId: '6b0f3c2e-8a51-4d27-9a0c-1f2e3d4c5b6a', duplicate: false } },
      }),
      409: failure(
        'respond.io dates the event (a message timestamp, a conversation opening or closing time) before the dedupe window (7 days, or `VIP_ROUTER_TRANSCRIPT_RETENTION` when shorter): a redelivery of it could no longer be recognised, so it is refused and nothing is recorded.',
        { tooOld: { summary: 'Too old', value: error('event_too_old', 'the event happened at 2025-06-03T09:15:00.000Z, before the 168 h in which redeliveries are recognised') } },
      ),
      401: failure('The signature is missing or matches no signing key; nothing is recorded.', {
        badSignature: {
          summary: 'Bad signature',
          value: error('invalid_signature', 'X-Webhook-Signature is missing or does not match any configured signing key'),
        },
      }),
      404: failure('Webhooks are not enabled (no signing key configured).', {
        disabled: { summary: 'Not enabled', value: error('not_found', 'respond.io webhooks are not enabled: set RESPONDIO_WEBHOOK_SIGNING_KEYS') },
      }),
    },
    // The signature is checked over the raw bytes.
    use: [express.raw({ type: () => true, limit: '1mb' })],
    handle: async (_input, { inbox, signingKeys, log }, res, req) => {
      if (signingKeys.length === 0) throw notFound('respond.io webhooks are not enabled: set RESPONDIO_WEBHOOK_SIGNING_KEYS');
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      if (!verifyWebhookSignature(raw, req.get('x-webhook-signature'), signingKeys)) {
        log.warn({ bytes: raw.length, signed: req.get('x-webhook-signature') !== undefined }, 'respond.io webhook refused: bad signature');
        throw new HttpError(401, 'invalid_signature', 'X-Webhook-Signature is missing or does not match any configured signing key');
      }
      const payload = eventOf(raw);
      try {
        const { event, duplicate } = await inbox.accept(payload);
        const { eventId, eventType, contactId } = event;
        const workflowId = contactId === undefined ? undefined : workflowIdForContact(contactId);
        log.info({ eventId, eventType, contactId, workflowId, duplicate }, 'respond.io event received');
        res.json({ received: true, eventId: event.eventId, duplicate });
      } catch (error) {
        if (error instanceof WebhookPayloadError) throw new HttpError(400, 'validation_failed', error.message, error.details);
        throw error;
      }
    },
  }),
];

function eventOf(raw: Buffer): unknown {
  let payload: unknown;
  try {
    payload = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new HttpError(400, 'invalid_json', 'the body is not valid JSON');
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) throw new HttpError(400, 'invalid_json', 'the body is not a JSON object');
  try {
    return storableJson(payload, MAX_DEPTH);
  } catch (error) {
    throw new HttpError(400, 'validation_failed', `the body is ${(error as Error).message}`);
  }
}
