import { ActivityFailure, CancellationScope, condition, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { PLATFORM_CALLS, PLATFORM_EFFECT_BOUND } from './activity-options';
import type { RoutingMetrics } from './run-metrics';
import type { ShortActivities } from './short-activities';
import { failureReason, type Run } from './run';
import type { RoutingInput } from '../domain/conversation';


const { mirrorAssignee, closeInPlatform } = proxyActivities<Activities>(PLATFORM_CALLS);

export interface PlatformMirror {
  /** Tells the platform who has the conversation now (null: nobody). */
  assignee(agentId: string | null): Promise<void>;
  /** Closes the conversation in the platform. */
  close(): Promise<void>;
  /** The platform set this assignee itself (a person did, by hand): nothing to tell it. */
  known(agentId: string | null): void;
}

type Effect = 'message' | 'assignee' | 'close';

/** Handles an effect's failure if it was given up (true); any other failure is left to the caller (false). */
export type GivenUp = (effect: Effect, key: string, what: string, error: unknown) => Promise<boolean>;

/**
 * An effect the platform never took within PLATFORM_EFFECT_BOUND (an outage of hours), unlike one it refused (4xx):
 * given up, it is a decision of the run (effect_given_up), a count (vip_router_effects_given_up) and, for runs since
 * the effects-given-up-recorded patch, a row the operator page lists.
 */
export function effectGivenUp(context: {
  run: Run;
  metrics: RoutingMetrics;
  record?: ShortActivities['recordGivenUpEffect'];
  contactId: string;
  conversationId: string;
}): GivenUp {
  const { run, metrics, record, contactId, conversationId } = context;
  return async (effect, key, what, error) => {
    if (!(error instanceof ActivityFailure) || (error.retryState !== 'TIMEOUT' && error.retryState !== 'MAXIMUM_ATTEMPTS_REACHED')) return false;
    // Runs recorded before the time bound stopped after a number of attempts instead.
    const bound = error.retryState === 'TIMEOUT' ? `within ${PLATFORM_EFFECT_BOUND}` : 'in its attempts';
    const last = (error.cause?.cause ?? error.cause) as Error | undefined;
    const reason = `${what}: given up, not taken ${bound}${last ? ` (last: ${last.message})` : ''}`;
    run.record('effect_given_up', reason);
    metrics.effectGivenUp(effect);
    if (record) await record({ conversationId, contactId, key, effect, reason });
    return true;
  };
}

/** The run's effects on the messaging platform beyond messages: its assignee and its close. */
export function platformMirror(on: boolean, input: RoutingInput, run: Run, conversationId: string, givenUp: GivenUp): PlatformMirror {
  const contactId = input.contact.id;
  let sent: string | null | undefined;
  let calls = 0;

  async function attempt(effect: Effect, key: string, what: string, call: () => Promise<{ skipped?: string } | void>): Promise<void> {
    try {
      const outcome = await call();
      if (outcome?.skipped) run.record('platform_skipped', `${what}: ${outcome.skipped}`);
    } catch (error) {
      // Dropped on purpose (see closingEffects): not a refusal, and the effects after it are dropped too.
      if (run.reopened && isCancellation(error)) throw error;
      if (await givenUp(effect, key, what, error)) return;
      run.record('platform_refused', `${what}: ${failureReason(error)}`);
    }
  }

  return {
    async assignee(agentId) {
      if (agentId === sent || !on) return;
      sent = agentId;
      const key = `assignee-${++calls}`;
      await attempt('assignee', key, agentId ? `assign ${agentId}` : 'un-assign', () => mirrorAssignee({ conversationId, contactId, key, agentId }));
    },
    known(agentId) {
      sent = agentId;
    },
    async close() {
      if (!on) return;
      await attempt('close', 'close', 'close', () => closeInPlatform({ conversationId, contactId, key: 'close' }));
    },
  };
}

/**
 * The close's effects at the platform (un-assign, close), sent after the conversation ended. respond.io applies them
 * to the contact's current conversation, so when a newer one opens while they are still being sent (respond.io down,
 * retrying) they are dropped: cancelled where they wait, and refused by the activity itself if one is already running.
 */
export async function closingEffects(droppable: boolean, run: Run, effects: () => Promise<void>): Promise<void> {
  if (!droppable) return effects();
  const scope = new CancellationScope();
  let settled = false;
  const sending = scope.run(effects).finally(() => void (settled = true));
  await condition(() => settled || run.reopened);
  if (settled) return sending;
  scope.cancel();
  await sending.catch((error: unknown) => {
    if (!isCancellation(error)) throw error;
  });
  run.record('platform_dropped', 'un-assign and close: a newer conversation of the contact opened, they would have acted on it');
}
