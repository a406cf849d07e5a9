import { condition, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { CALENDAR_READ } from './activity-options';
import { assignmentRequest, runClock, shiftsOf } from './assigning';
import { businessHoursOf, type ResolvedLink, type Tier } from './rules';
import type { RunContext } from './run-context';
import { shiftTimesAt } from './shift-clock';
import { textsLanguage } from './texts';

const { readBusinessHours } = proxyLocalActivities<Activities>(CALENDAR_READ);

/** The reason a conversation held until the opening shows. */
export const OUTSIDE_HOURS = 'outside business hours';

/** How routing goes on after the business-hours check: the conversation closed meanwhile, or from which step. */
export type AfterHours = { closed: true } | { closed: false; fromStep: number };

/**
 * Outside the tier's business hours (or on a holiday), the contact is told once, through `tell`, when the team opens.
 * With `wait` the conversation is then held in the queue until the opening, keeping its place: at the opening the
 * first run whose timer fires serves the queue in order (priority, then arrival), so conversations that waited
 * overnight are served in the order they came. Held, it asks for what its chain asks for at the opening (see
 * openingStep), and routing goes on from there. The calendar is read through a local activity: the worker's time-zone
 * data, recorded. Runs without business hours (or from before them) go on at once.
 */
export async function afterBusinessHours(
  c: RunContext,
  chain: ResolvedLink[],
  tier: Tier,
  tell: (opensAtWords: string) => Promise<void>,
  note?: string,
): Promise<AfterHours> {
  const { run, config, contact, features, activities } = c;
  const goOn: AfterHours = { closed: false, fromStep: 0 };
  const hours = features.businessHours ? businessHoursOf(tier, config) : undefined;
  // A person who took the conversation by hand keeps it, whatever the hours.
  if (!hours || run.takenOver) return goOn;
  const now = await readBusinessHours({ hours, instant: Date.now(), language: textsLanguage(config.askEmail, contact.language) });
  if (now.open) return goOn;
  const opensAt = new Date(now.opensAt).toISOString();
  run.record('outside_hours', `${hours.outsideHours}: the team opens ${now.opensAtWords} (${opensAt})`);
  if (run.tellOutOfHours()) await tell(now.opensAtWords);
  if (run.closed) return { closed: true };
  if (hours.outsideHours === 'route' || chain.length === 0) return goOn;

  const fromStep = openingStep(chain);
  // The queue, one past the last step, asks for the whole chain.
  const targets = chain.slice(0, fromStep + 1).map((link) => link.target);
  // Teams are asked for as their shifts stand at the opening.
  const times = await shiftTimesAt(features.shiftTimesRecorded, shiftsOf(config, targets), now.opensAt);
  const changesSeen = run.assignmentChanges;
  const served = await activities.requestAssignment({ ...assignmentRequest(c, tier, targets, times, note), notBefore: opensAt }, runClock(c));
  if (served) return { closed: false, fromStep };
  const reason = run.status.reason;
  run.explain(OUTSIDE_HOURS);
  run.heldUntil(opensAt);
  run.enter('queued');
  // Woken early when the dispatcher serves it (another run reached the opening first) or a person takes it; an
  // un-assignment by hand is acted on at the opening.
  await condition(() => run.closed || run.takenOver || run.assignmentChanges !== changesSeen, Math.max(now.opensAt - Date.now(), 1));
  run.explain(reason);
  run.heldUntil(undefined);
  return run.closed ? { closed: true } : { closed: false, fromStep };
}

/**
 * The step of the chain routing stands on at the opening: the first that waits (the steps before it wait 0, passed
 * at once), or, when none waits, the queue after the last one.
 */
function openingStep(chain: ResolvedLink[]): number {
  const waits = chain.findIndex((link) => link.wait > 0);
  return waits === -1 ? chain.length : waits;
}
