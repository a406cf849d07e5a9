import { condition, upsertMemo } from '@temporalio/workflow';
import type { AssignmentResult } from '../domain/conversation';
import { AWAITS_FIRST_RESPONSE_MEMO } from './definitions';
import { durationInWords, firstResponseTime, type ResolvedLink, stepsAfter, type Tier } from './rules';
import type { RunContext } from './run-context';
import { say } from './say';
import { fillTemplate } from './template';

/**
 * The first-response timer while a conversation is served: armed for each new assignee given it by routing, an
 * operator's transfer or a shift hand-over (not for one a person chose by hand in the platform), stopped by the
 * assignee's first message to the contact; when it fires the conversation moves on along the tier's chain.
 */

/** Why the conversation leaves its assignee: the steps it goes on to, the one not to route to this time. */
export interface MissedFirstResponse {
  chain: ResolvedLink[];
  reason: string;
  exclude: string[];
}

/** Arms the timer for `current` when the rules give one (runs since the first-response patch). */
export function startFirstResponse(c: RunContext, current: AssignmentResult, routedBy: AssignmentResult, tier: Tier): void {
  if (!c.features.firstResponse) return;
  const within = firstResponseTime(c.config, tier, routedBy);
  if (within === undefined || current.via === 'platform') c.run.firstResponse.stop();
  else c.run.firstResponse.arm(current.agentId, within);
  announce(c);
}

/** The conversation left its assignee (or closed): no first response is awaited. */
export function stopFirstResponse(c: RunContext): void {
  c.run.firstResponse.stop();
  announce(c);
}

/**
 * Waits while the conversation is served: until `needsAttention`, `shiftEnds` or the first-response time. The
 * assignee's first message is taken on the way (recorded, measured) and the wait goes on. False when a time ran out.
 */
export async function attend(c: RunContext, needsAttention: () => boolean, shiftEnds: number | undefined, tier: Tier): Promise<boolean> {
  const clock = c.run.firstResponse;
  const woken = () => needsAttention() || clock.answered;
  for (;;) {
    const until = Math.min(shiftEnds ?? Infinity, clock.due ?? Infinity);
    const woke = until === Infinity ? (await condition(woken), true) : await condition(woken, Math.max(until - Date.now(), 1));
    if (!clock.answered) return woke;
    await responded(c, tier);
    if (needsAttention()) return true;
  }
}

async function responded(c: RunContext, tier: Tier): Promise<void> {
  const { run, metrics, activities, conversationId } = c;
  const { agentId, ms } = run.firstResponse.takeAnswer();
  announce(c);
  run.record('first_response', `${agentId} wrote to the contact after ${ms / 1000} s`);
  metrics.firstResponded(tier.name, ms / 1000);
  await activities.recordFirstResponse({ conversationId, agentId, tier: tier.name, seconds: ms / 1000, missed: false });
}

/**
 * The assignee let the first-response time pass: recorded and counted, the agents get a note in the contact's
 * language, and the conversation goes on to the chain's next steps (after the last, the escalation path).
 */
export async function firstResponseMissed(
  c: RunContext,
  current: AssignmentResult,
  routedBy: AssignmentResult,
  chain: ResolvedLink[],
  tier: Tier,
): Promise<MissedFirstResponse> {
  const { run, config, metrics, activities, conversationId, texts, contact } = c;
  const { agentId, ms } = run.firstResponse.takeMiss();
  announce(c);
  const within = durationInWords(ms);
  run.record('first_response_missed', `${agentId} did not write to the contact within ${within}`);
  metrics.firstResponseMissed(tier.name);
  await activities.recordFirstResponse({ conversationId, agentId, tier: tier.name, seconds: ms / 1000, missed: true });
  const { steps, escalates } = stepsAfter(chain, routedBy, config);
  if (escalates) {
    run.record('escalate', `no first response on the last step of the ${tier.name} chain`);
    metrics.escalated('first_response');
  }
  const language = contact.language && config.askEmail.messages[contact.language] ? contact.language : config.askEmail.fallbackLanguage;
  const note = fillTemplate(texts.firstResponseMissed, { agent: current.name, within: durationInWords(ms, language) });
  await say(c, 'first_response_note', run.nextMoveKey('first-response-missed'), note, 'note');
  return { chain: steps, reason: `no first response from ${agentId} within ${within}`, exclude: [agentId] };
}

/** Tells the API (memo) whether agents' messages are awaited, when that changes. */
function announce({ run }: RunContext): void {
  const awaiting = run.firstResponse.memoChange();
  if (awaiting !== undefined) upsertMemo({ [AWAITS_FIRST_RESPONSE_MEMO]: awaiting });
}
