import type { RunContext } from './run-context';
import { say } from './say';
import { fillTemplate } from './template';
import { textsLanguage } from './texts';

/**
 * A queued contact hears that they wait and roughly how long: on joining the queue, then at most once per
 * queue.notifyEvery while still queued; never once they are served or the conversation closed.
 */
export interface QueueNotices {
  /** When the next notice is due, in workflow time. */
  readonly nextAt: number;
  /** Tells the contact if a notice is due; `stillWaiting` is asked again after the estimate, right before the send. */
  notifyIfDue(stillWaiting: () => boolean): Promise<void>;
}

/** Undefined unless the run's rules turn notices on (and the run took their patch): then the queue says nothing. */
export function queueNotices(c: RunContext): QueueNotices | undefined {
  const every = c.config.queue?.notifyEvery;
  if (!c.features.queueNotices || every === undefined) return undefined;
  let nextAt = Date.now();
  return {
    get nextAt() {
      return nextAt;
    },
    async notifyIfDue(stillWaiting) {
      if (Date.now() < nextAt || !stillWaiting()) return;
      nextAt = Date.now() + every;
      await notify(c, stillWaiting);
    },
  };
}

/** The estimate from the tier's recent assignments, then the notice in the contact's language. */
async function notify(c: RunContext, stillWaiting: () => boolean): Promise<void> {
  const { run, config, contact, texts, activities, conversationId } = c;
  const estimate = await activities.estimateQueueWait({ conversationId, language: textsLanguage(config.askEmail, contact.language) });
  // Served (or closed) meanwhile: an assigned contact is not told to wait.
  if (!estimate || !stillWaiting()) return;
  const { tier, position, assignedInWindow, wait } = estimate;
  const basis = `${position} in the ${tier} queue, ${assignedInWindow} ${tier} assignments in the last hour`;
  run.record('queue_notice', wait ? `expected wait ${wait} (${basis})` : `a few minutes: too few assignments to estimate (${basis})`);
  const vars = { firstName: contact.firstName ?? '', lastName: contact.lastName ?? '', position, wait: wait ?? '' };
  await say(c, 'queue_notice', run.nextQueueNoticeKey(), fillTemplate(wait ? texts.queued : texts.queuedFewMinutes, vars));
}
