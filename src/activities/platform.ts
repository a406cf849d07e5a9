import { randomUUID } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { recordAssigneeSend } from '../db/assignee-echoes';
import { getAgent } from '../db/agents';
import { getContact } from '../db/contacts';
import { beginPlatformCall, completePlatformCall, isSuperseded, recordGivenUpEffect } from '../db/platform-calls';
import type { Db } from '../db/pool';
import { claimSend, endSendLease, type SendTarget } from '../db/send-claims';
import { effectOfFailure, isRetryable, type RespondioClient, RespondioError } from '../respondio/client';
import { contactIdentifier } from '../respondio/identity';

/**
 * A respond.io failure as the activity's: 429 retried after its Retry-After, 5xx/network/timeout with the
 * retry policy's backoff, any other 4xx not retried (the run records it in its decisions).
 */
export function platformFailure(error: unknown): unknown {
  if (!(error instanceof RespondioError)) return error;
  return ApplicationFailure.create({
    type: `Respondio.${error.kind}`,
    message: error.message,
    nonRetryable: !isRetryable(error),
    nextRetryDelay: error.kind === 'rate_limited' && error.retryAfterMs !== undefined ? error.retryAfterMs : undefined,
    cause: error,
  });
}

/** The respond.io client, when this worker has a token; a run that mirrors there on a worker without one is told so. */
export function requirePlatform(respondio: RespondioClient | undefined): RespondioClient {
  if (respondio) return respondio;
  throw ApplicationFailure.create({
    type: 'Respondio.not_configured',
    message: 'this worker has no RESPONDIO_API_TOKEN: the effect was not sent to respond.io',
    nonRetryable: true,
  });
}

/** How respond.io names the contact of a run, from what the database holds of them. */
export async function identifierOf(db: Db, contactId: string): Promise<string> {
  const contact = await getContact(db, contactId);
  const identifier = contactIdentifier(contact ?? { id: contactId });
  if (identifier) return identifier;
  throw ApplicationFailure.create({
    type: 'Respondio.no_identifier',
    message: `contact ${contactId} has no respond.io id, email or phone to be named by`,
    nonRetryable: true,
  });
}

/**
 * How long a claim on a send lasts: three times the request's own timeout, so an attempt that lost its worker or its
 * database, or timed out, is still covered while respond.io may be finishing what it started.
 */
export function sendLeaseMs(respondio: RespondioClient): number {
  return 3 * respondio.timeoutMs;
}

/** What one send is made of: the request, its confirmation, and how to find an earlier attempt's send. */
export interface SendOperations<T> {
  send(): Promise<T>;
  /** Records that the send went through: the row's confirmation, which every later attempt finds. */
  confirm(result: T): Promise<void>;
  /**
   * Looks at respond.io for what an earlier, never confirmed attempt sent since `since`, and records it: true when
   * found. Absent where respond.io's API cannot tell (comments, the close): such a send is then not repeated.
   */
  recover?(since: Date): Promise<boolean>;
}

/**
 * One send to respond.io, by one attempt at a time and once: a lease on the row is committed before the request; an
 * attempt that finds a live lease of another tries again when it ends; one that finds an earlier attempt never
 * confirmed looks at respond.io first (`recover`) and records what it finds instead of sending again.
 * `unconfirmed`: an earlier attempt may have sent it and respond.io cannot say, so it was not sent again.
 */
export async function sendOnce<T>(db: Db, target: SendTarget, leaseMs: number, operations: SendOperations<T>): Promise<'sent' | 'confirmed' | 'recovered' | 'unconfirmed'> {
  const attempt = randomUUID();
  let claim = await claimSend(db, target, attempt, leaseMs);
  if (claim.state === 'confirmed') return 'confirmed';
  if (claim.unconfirmedSince) {
    if (operations.recover) {
      let found: boolean;
      try {
        found = await operations.recover(claim.unconfirmedSince);
      } catch (error) {
        if (claim.state === 'claimed') await endSendLease(db, target, attempt, 'unknown').catch(() => undefined);
        throw platformFailure(error);
      }
      if (found) return 'recovered';
    }
    if (claim.state === 'held') throw sendInProgress(claim.retryInMs);
    if (!operations.recover) return 'unconfirmed';
    // The look-up took its time: the lease is renewed, so the request starts with all of it ahead.
    claim = await claimSend(db, target, attempt, leaseMs);
    if (claim.state === 'confirmed') return 'confirmed';
    if (claim.state === 'held') throw sendInProgress(claim.retryInMs);
  }
  let result: T;
  try {
    result = await operations.send();
  } catch (error) {
    const effect = effectOfFailure(error);
    // An error answer to a call respond.io cannot be asked about afterwards is taken at its word: nothing happened.
    if (effect === 'none' || (effect === 'over' && !operations.recover)) await endSendLease(db, target, attempt, 'no').catch(() => undefined);
    else if (effect === 'over') await endSendLease(db, target, attempt, 'unknown').catch(() => undefined);
    throw platformFailure(error);
  }
  await operations.confirm(result);
  return 'sent';
}

function sendInProgress(retryInMs: number): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'Respondio.send_in_progress',
    message: 'another attempt holds the claim on this send to respond.io; trying again once its lease ends',
    nextRetryDelay: Math.max(retryInMs, 100),
  });
}

/**
 * One call a run makes to the platform. Its key is stable per call of the run: a retry after a crash finds the record
 * of a call that went through.
 */
export interface PlatformCall {
  conversationId: string;
  contactId: string;
  key: string;
}

/** respond.io acts on the contact's current conversation: an effect of one a newer conversation replaced is not sent. */
const SUPERSEDED = 'a newer conversation of the contact opened: not applied to it';

export function createPlatformActivities(deps: { db: Db; respondio?: RespondioClient }) {
  const { db } = deps;
  const signal = () => Context.current().cancellationSignal;

  return {
    /** Sets (or clears) the contact's assignee in respond.io; noted first, so its echo webhook is recognised. */
    async mirrorAssignee({ conversationId, contactId, agentId }: PlatformCall & { agentId: string | null }): Promise<{ skipped?: string }> {
      const respondio = requirePlatform(deps.respondio);
      if (await isSuperseded(db, conversationId)) return { skipped: SUPERSEDED };
      const identifier = await identifierOf(db, contactId);
      let assignee: { userId?: string; email?: string } | null = null;
      if (agentId) {
        const agent = await getAgent(db, agentId);
        if (!agent?.respondioUserId && !agent?.email) return { skipped: `agent ${agentId} has no respond.io user id or email` };
        assignee = agent.respondioUserId ? { userId: agent.respondioUserId } : { email: agent.email! };
      }
      await recordAssigneeSend(db, contactId, assignee);
      try {
        await respondio.setAssignee(identifier, assignee ? (assignee.userId ? Number(assignee.userId) : assignee.email!) : null, { signal: signal() });
      } catch (error) {
        throw platformFailure(error);
      }
      return {};
    },

    /** Lists an effect the run gave up after its time bound, for the operator. */
    async recordGivenUpEffect(effect: PlatformCall & { effect: string; reason: string }): Promise<void> {
      await recordGivenUpEffect(db, effect);
    },

    /** Closes the contact's conversation in respond.io, once per run. */
    async closeInPlatform(call: PlatformCall): Promise<{ skipped?: string }> {
      const respondio = requirePlatform(deps.respondio);
      const identifier = await identifierOf(db, call.contactId);
      const request = { status: 'close', summary: 'Closed by vip-router' };
      if (await isSuperseded(db, call.conversationId)) return { skipped: SUPERSEDED };
      if (!(await beginPlatformCall(db, { ...call, kind: 'close', request }))) return {};
      const outcome = await sendOnce(db, { table: 'platform_calls', conversationId: call.conversationId, key: call.key }, sendLeaseMs(respondio), {
        send: () => respondio.closeConversation(identifier, { summary: request.summary }, { signal: signal() }),
        confirm: () => completePlatformCall(db, call.conversationId, call.key, 200),
      });
      if (outcome !== 'unconfirmed') return {};
      // respond.io has no way to ask whether a close took: a second one could close a conversation opened since.
      await completePlatformCall(db, call.conversationId, call.key, null);
      return { skipped: 'an earlier attempt may have closed it and respond.io did not confirm; not sent again' };
    },
  };
}
