import { CancellationScope, condition, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { PLATFORM_CALLS } from './activity-options';
import { failureReason, type Run } from './run';
import type { RoutingInput } from '../domain';


const { mirrorAssignee, closeInPlatform } = proxyActivities<Activities>(PLATFORM_CALLS);

export interface PlatformMirror {
  /** Tells the platform who has the conversation now (null: nobody). */
  assignee(agentId: string | null): Promise<void>;
  /** Closes the conversation in the platform. */
  close(): Promise<void>;
  /** The platform set this assignee itself (a person did, by hand): nothing to tell it. */
  known(agentId: string | null): void;
}

/** The run's effects on the messaging platform beyond messages: its assignee and its close. */
export function platformMirror(on: boolean, input: RoutingInput, run: Run, conversationId: string): PlatformMirror {
  const contactId = input.contact.id;
  let sent: string | null | undefined;
  let calls = 0;

  async function attempt(what: string, call: () => Promise<{ skipped?: string } | void>): Promise<void> {
    try {
      const outcome = await call();
      if (outcome?.skipped) run.step('platform_skipped', `${what}: ${outcome.skipped}`);
    } catch (error) {
      // Dropped on purpose (see closingEffects): not a refusal, and the effects after it are dropped too.
      if (run.reopened && isCancellation(error)) throw error;
      run.step('platform_refused', `${what}: ${failureReason(error)}`);
    }
  }

  return {
    async assignee(agentId) {
      if (agentId === sent || !on) return;
      sent = agentId;
      const key = `assignee-${++calls}`;
      await attempt(agentId ? `assign ${agentId}` : 'un-assign', () => mirrorAssignee({ conversationId, contactId, key, agentId }));
    },
    known(agentId) {
      sent = agentId;
    },
    async close() {
      if (!on) return;
      await attempt('close', () => closeInPlatform({ conversationId, contactId, key: 'close' }));
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
  run.step('platform_dropped', 'un-assign and close: a newer conversation of the contact opened, they would have acted on it');
}
