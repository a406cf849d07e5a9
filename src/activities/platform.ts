import { ApplicationFailure, Context } from '@temporalio/activity';
import { recordAssigneeSend } from '../db/assignee-echoes';
import { getAgent } from '../db/agents';
import { getContact } from '../db/contacts';
import { beginPlatformCall, completePlatformCall, isSuperseded, recordGivenUpEffect } from '../db/platform-calls';
import type { Db } from '../db/pool';
import { isRetryable, type RespondioClient, RespondioError } from '../respondio/client';
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

export interface PlatformStep {
  conversationId: string;
  contactId: string;
  /** Stable per step of the run: a retry after a crash finds the record of a call that went through. */
  key: string;
}

/** respond.io acts on the contact's current conversation: an effect of one a newer conversation replaced is not sent. */
const SUPERSEDED = 'a newer conversation of the contact opened: not applied to it';

export function createPlatformActivities(deps: { db: Db; respondio?: RespondioClient }) {
  const { db } = deps;
  const signal = () => Context.current().cancellationSignal;

  return {
    /** Sets (or clears) the contact's assignee in respond.io; noted first, so its echo webhook is recognised. */
    async mirrorAssignee({ conversationId, contactId, agentId }: PlatformStep & { agentId: string | null }): Promise<{ skipped?: string }> {
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
    async recordGivenUpEffect(effect: PlatformStep & { effect: string; reason: string }): Promise<void> {
      await recordGivenUpEffect(db, effect);
    },

    /** Closes the contact's conversation in respond.io, once per run. */
    async closeInPlatform(step: PlatformStep): Promise<{ skipped?: string }> {
      const respondio = requirePlatform(deps.respondio);
      const identifier = await identifierOf(db, step.contactId);
      const request = { status: 'close', summary: 'Closed by vip-router' };
      if (await isSuperseded(db, step.conversationId)) return { skipped: SUPERSEDED };
      if (!(await beginPlatformCall(db, { ...step, kind: 'close', request }))) return {};
      try {
        await respondio.closeConversation(identifier, { summary: request.summary }, { signal: signal() });
      } catch (error) {
        throw platformFailure(error);
      }
      await completePlatformCall(db, step.conversationId, step.key, 200);
      return {};
    },
  };
}
