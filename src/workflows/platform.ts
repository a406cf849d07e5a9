import { proxyActivities } from '@temporalio/workflow';
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
