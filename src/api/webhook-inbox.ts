import { agentOfPlatformUser } from '../assignment/store';
import { consumeAssigneeEcho } from '../db/assignee-echoes';
import type { Db } from '../db/pool';
import {
  claimWebhookEvents,
  type ClaimedEvent,
  completeWebhookEvent,
  deferWebhookEvent,
  insertWebhookEvent,
  pruneWebhookEvents,
} from '../db/webhook-events';
import type { Logger } from '../observability/logger';
import { inRequest } from '../observability/request-scope';
import { workflowIdForContact } from '../workflows/definitions';
import { parseWebhookEvent, type WebhookEvent, WebhookPayloadError } from '../respondio/webhook';
import type { Conversations } from './conversation-runs';
import { HttpError } from './errors';
import { receiveAgentMessage, receiveMessage } from './inbound';
import { platformAssignee } from '../workflows/rules';
import { WEBHOOK_DEDUPE_WINDOW_MS } from '../domain/retention-windows';

export interface WebhookInboxOptions {
  db: Db;
  conversations: Conversations;
  log: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
  /** How often events left by a crash or waiting for a retry are looked for. */
  pollMs?: number;
  batchSize?: number;
  /** An effect that takes longer is given up and tried again: every effect is safe to repeat. */
  effectTimeoutMs?: number;
  /** How long an echo of an assignee change sent to respond.io is expected. */
  echoWindowMs?: number;
  /**
   * The dedupe window: handled events are kept this long to recognise redeliveries, and an event respond.io dates
   * earlier than this is refused, since a redelivery of it could no longer be recognised.
   */
  retentionMs?: number;
  /** An event that still fails this long after it arrived is given up (status failed, logged). */
  giveUpAfterMs?: number;
}

const HOUR = 3_600_000;

/**
 * respond.io webhooks, durably: an event is written to PostgreSQL before it is answered (so the answer takes
 * milliseconds and an accepted event survives a crash), then applied in the background — per contact in arrival
 * order, with retries — by whichever API process claims it. Its event_id is unique, so a redelivery, concurrent or
 * hours later, finds the row and has no second effect.
 */
export class WebhookInbox {
  private timer?: NodeJS.Timeout;
  private draining?: Promise<void>;
  private again = false;
  private stopped = false;
  private lastPrune = 0;
  private readonly pollMs: number;
  private readonly batchSize: number;
  private readonly effectTimeoutMs: number;
  private readonly echoWindowMs: number;
  private readonly retentionMs: number;
  private readonly giveUpAfterMs: number;

  constructor(private readonly options: WebhookInboxOptions) {
    this.pollMs = options.pollMs ?? 1_000;
    this.batchSize = options.batchSize ?? 32;
    this.effectTimeoutMs = options.effectTimeoutMs ?? 20_000;
    this.echoWindowMs = options.echoWindowMs ?? 10 * 60_000;
    this.retentionMs = options.retentionMs ?? WEBHOOK_DEDUPE_WINDOW_MS;
    this.giveUpAfterMs = options.giveUpAfterMs ?? 24 * HOUR;
  }

  /** Validates and records an event; `duplicate` when its event_id was recorded before. Throws on a bad payload. */
  async accept(payload: unknown): Promise<{ event: WebhookEvent; duplicate: boolean }> {
    const event = parseWebhookEvent(payload);
    const { intent } = event;
    if (event.occurredAt && Date.now() - event.occurredAt.getTime() > this.retentionMs) {
      throw new HttpError(409, 'event_too_old', `the event happened at ${event.occurredAt.toISOString()}, before the ${Math.round(this.retentionMs / HOUR)} h in which redeliveries are recognised`);
    }
    const inserted = await insertWebhookEvent(this.options.db, {
      eventId: event.eventId,
      eventType: event.eventType,
      contactId: event.contactId,
      payload,
      // Nothing to apply: the row only remembers the event_id.
      ...(intent.kind === 'ignore' ? { status: 'done' as const, outcome: `ignored: ${intent.reason}` } : {}),
    });
    if (inserted && intent.kind !== 'ignore') this.kick();
    return { event, duplicate: !inserted };
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.kick(), this.pollMs);
    this.timer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.draining;
  }

  /** Applies what is due now, soon; a call while a drain runs makes it go round once more. */
  kick(): void {
    if (this.stopped) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = this.drain()
      .then(() => undefined)
      .catch((error: unknown) => this.options.log.warn({ err: error }, 'webhook inbox: drain failed'))
      .finally(() => {
        this.draining = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Applies due events until none is left; returns how many were handled. */
  async drain(): Promise<number> {
    let handled = 0;
    for (;;) {
      const batch = await claimWebhookEvents(this.options.db, this.batchSize, this.effectTimeoutMs * 2);
      if (batch.length === 0) break;
      await Promise.all(batch.map((event) => this.handle(event)));
      handled += batch.length;
      if (this.stopped) break;
    }
    if (Date.now() - this.lastPrune > HOUR) {
      this.lastPrune = Date.now();
      await pruneWebhookEvents(this.options.db, this.retentionMs);
    }
    return handled;
  }

  /** Applied as a request of its own (`respondio-event:<eventId>`): its log lines and what it signals carry that id. */
  private handle(claimed: ClaimedEvent): Promise<void> {
    return inRequest(`respondio-event:${claimed.eventId}`, () => this.applyClaimed(claimed));
  }

  private async applyClaimed(claimed: ClaimedEvent): Promise<void> {
    const { db, log } = this.options;
    const context = {
      eventId: claimed.eventId,
      eventType: claimed.eventType,
      contactId: claimed.contactId,
      ...(claimed.contactId === null ? {} : { workflowId: workflowIdForContact(claimed.contactId) }),
    };
    try {
      const outcome = await withTimeout(this.apply(parseWebhookEvent(claimed.payload)), this.effectTimeoutMs);
      await completeWebhookEvent(db, claimed.seq, outcome);
      log.info({ ...context, outcome }, 'respond.io event applied');
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const permanent = error instanceof WebhookPayloadError || Date.now() - claimed.receivedAt.getTime() > this.giveUpAfterMs;
      const retryInMs = permanent ? null : Math.min(1_000 * 2 ** Math.min(claimed.attempts - 1, 10), 60_000);
      await deferWebhookEvent(db, claimed.seq, message, retryInMs);
      if (permanent) log.error({ ...context, err: error }, 'respond.io event given up');
      else log.warn({ ...context, attempts: claimed.attempts, retryInMs, error: message }, 'respond.io event will be retried');
    }
  }

  /** The event's effect; every one of them is safe to repeat after a crash. */
  private async apply({ eventId, intent }: WebhookEvent): Promise<string> {
    const { conversations, db } = this.options;
    try {
      switch (intent.kind) {
        case 'open': {
          const { created, replaced } = await conversations.open(intent.contact, 'webhook');
          if (replaced && created) return "routing started; the previous conversation's pending close was dropped";
          return created ? 'routing started' : 'conversation already open';
        }
        case 'message': {
          const { duplicate, signalled } = await receiveMessage(conversations, db, intent.contactId, intent.message);
          if (duplicate) return 'message already received';
          return signalled ? 'message delivered to the run' : 'message kept in the transcript (the run reads no more messages)';
        }
        case 'agent_message': {
          // The run knows its assignee as our agent, or, for a respond.io user who is not one, as the platform names them.
          const agentId = (await agentOfPlatformUser(db, intent.sender))?.id ?? platformAssignee(intent.sender).agentId;
          const { duplicate, signalled } = await receiveAgentMessage(conversations, db, intent.contactId, { ...intent.message, agentId });
          if (duplicate) return 'message already received';
          return signalled ? `${agentId}'s message delivered to the run` : `${agentId}'s message kept in the transcript (no first response awaited)`;
        }
        case 'close':
          await conversations.close(intent.contactId, { reason: 'closed in respond.io', source: 'platform' });
          return 'closing';
        case 'assignee':
          if (await consumeAssigneeEcho(db, intent.contactId, intent.assignee, this.echoWindowMs)) return 'echo of our own assignment';
          await conversations.platformAssigneeChanged(intent.contactId, { eventId, assignee: intent.assignee });
          return intent.assignee ? 'assigned by hand in respond.io' : 'un-assigned by hand in respond.io';
        case 'ignore':
          return `ignored: ${intent.reason}`;
      }
    } catch (error) {
      if (error instanceof HttpError && error.status === 404) return 'ignored: no open conversation';
      throw error;
    }
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  // Given up on, the effect may still fail later: that must not surface as an unhandled rejection.
  work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
