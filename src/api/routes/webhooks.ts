import express, { Router } from 'express';
import type { Logger } from '../../logger';
import { verifyWebhookSignature, WebhookPayloadError } from '../../respondio/webhook';
import { HttpError, notFound } from '../errors';
import { storableJson } from '../storable-text';
import type { WebhookInbox } from '../webhook-inbox';
import { workflowIdForContact } from '../../workflows/definitions';

/** respond.io's events nest a few levels; far deeper is not one of them. */
const MAX_DEPTH = 64;

export interface WebhookRouteDeps {
  inbox: WebhookInbox;
  /** One per webhook configured in respond.io: each has its own signing key. */
  signingKeys: readonly string[];
  log: Pick<Logger, 'info' | 'warn'>;
}

/**
 * `POST /v1/webhooks/respondio`: respond.io's events as it sends them. Authenticated by the signature, not an API
 * key. The answer comes once the event is recorded (milliseconds); its effect follows in the background.
 */
export function webhookRoutes({ inbox, signingKeys, log }: WebhookRouteDeps): Router {
  const router = Router();
  router.post('/v1/webhooks/respondio', express.raw({ type: () => true, limit: '1mb' }), async (req, res) => {
    if (signingKeys.length === 0) throw notFound('respond.io webhooks are not enabled: set RESPONDIO_WEBHOOK_SIGNING_KEYS');
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (!verifyWebhookSignature(raw, req.get('x-webhook-signature'), signingKeys)) {
      log.warn({ bytes: raw.length, signed: req.get('x-webhook-signature') !== undefined }, 'respond.io webhook refused: bad signature');
      throw new HttpError(401, 'invalid_signature', 'X-Webhook-Signature is missing or does not match any configured signing key');
    }
    let payload: unknown;
    try {
      payload = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new HttpError(400, 'invalid_json', 'the body is not valid JSON');
    }
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) throw new HttpError(400, 'invalid_json', 'the body is not a JSON object');
    try {
      payload = storableJson(payload, MAX_DEPTH);
    } catch (error) {
      throw new HttpError(400, 'validation_failed', `the body is ${(error as Error).message}`);
    }
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
  });
  return router;
}
