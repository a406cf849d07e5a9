import { condition } from '@temporalio/workflow';
import type { RoutingConfig } from '../domain/routing-config';
import type { AssignmentRequest, AssignmentResult, AssignTarget, PlatformAssigneeChange } from '../domain/conversation';
import { attend, firstResponseMissed, startFirstResponse } from './first-response';
import { queueNotices } from './queue-notices';
import { agingOf, describeTarget, platformAssignee, type ResolvedLink, teamTarget, type Tier } from './rules';
import type { PendingTransfer } from './run';
import type { RunContext } from './run-context';
import { shiftTimesAt } from './shift-clock';
import type { ShiftTimes } from './shifts';

/**
 * Finding someone, and keeping the conversation with someone: the chain with its per-link waits, the queue,
 * transfers, re-routing when an agent goes offline, and shift hand-overs.
 */

/** Why serving an assigned conversation stopped, short of a close: it goes back to routing with this chain. */
interface Reroute {
  chain: ResolvedLink[];
  reason: string;
  /** Agents not to route to this time: the one who just handed the conversation back. */
  exclude?: string[];
}

/**
 * Walks the chain: link k offers the conversation to links 0..k (earlier ones stay preferred) and waits up to its
 * `wait`, woken early when the dispatcher assigns it; after the last link, the queue, up to maxQueueWait (telling the
 * contact they wait, when the rules say so). Undefined when closed or when the queue wait ran out. `fromStep`: where
 * it starts (held until an opening, where it stands then).
 */
export async function assignAlong(
  c: RunContext,
  chain: ResolvedLink[],
  tier: Pick<Tier, 'name' | 'priority' | 'aging'>,
  note?: string,
  exclude?: string[],
  fromStep = 0,
): Promise<AssignmentResult | undefined> {
  const { run, config, activities } = c;
  if (chain.length === 0 && !run.takenOver) {
    // e.g. a chain of only the account manager, for a contact the CRM gives none: nobody to wait for.
    run.record('empty_chain', `the ${tier.name} chain names nobody for this contact`);
    return undefined;
  }
  const phases = [
    ...chain.map((link, i) => ({ targets: chain.slice(0, i + 1).map((l) => l.target), wait: link.wait })),
    { targets: chain.map((l) => l.target), wait: config.assignment.maxQueueWait },
  ];
  const labels = [...chain.map((l) => describeTarget(l.target)), 'queue'];
  const last = phases.length - 1;
  const notices = queueNotices(c);
  let phase = fromStep;
  let phaseEnds = Date.now() + phases[phase]!.wait;
  run.enter('assigning');
  for (;;) {
    const change = run.takePlatformChange();
    if (change?.assignee) {
      // Whatever the dispatcher did meanwhile, the person's choice stands (adopting leaves the queue too).
      run.leftChain();
      return (await adopt(c, change))!;
    }
    if (change) run.record('unassigned_in_platform', 'un-assigned by hand while not assigned: routing goes on');
    while (phase < last && Date.now() >= phaseEnds) {
      phase++;
      phaseEnds = Date.now() + phases[phase]!.wait;
    }
    const { targets } = phases[phase]!;
    const times = await shiftTimesAt(c.features.shiftTimesRecorded, shiftsOf(config, targets), Date.now());
    const changesSeen = run.assignmentChanges;
    const assigned = await activities.requestAssignment(assignmentRequest(c, tier, targets, times, note, exclude), runClock(c));
    if (assigned) {
      run.leftChain();
      return assigned;
    }
    if (phase === last && run.status.state !== 'queued') {
      run.enter('queued');
      run.record('queued', `nobody available in ${labels.slice(0, -1).join(' → ') || 'an empty chain'}`);
    }
    if (phase === last) await notices?.notifyIfDue(() => !run.closed && !run.hasPlatformChange && run.assignmentChanges === changesSeen);
    run.waitingAt({ step: phase, steps: labels, until: new Date(phaseEnds).toISOString() });
    const noticeAt = phase === last ? (notices?.nextAt ?? Infinity) : Infinity;
    const wakeAt = Math.min(phaseEnds, noticeAt, ...Object.values(times).map((t) => t.nextChange ?? Infinity));
    await condition(() => run.closed || run.assignmentChanges !== changesSeen || run.hasPlatformChange, Math.max(wakeAt - Date.now(), 1));
    if (run.hasPlatformChange && !run.closed) continue;
    if (run.closed || (phase === last && Date.now() >= phaseEnds)) {
      // The dispatcher may have served us just before we gave up: that assignment stands.
      const raced = await activities.withdrawFromQueue(c.conversationId);
      run.leftChain();
      return raced ?? undefined;
    }
  }
}

/** Asking for these targets; teams off shift (by `times`) get no new conversations. */
export function assignmentRequest(
  c: RunContext,
  tier: Pick<Tier, 'name' | 'priority' | 'aging'>,
  targets: AssignTarget[],
  times: Record<string, ShiftTimes>,
  note?: string,
  exclude?: string[],
): AssignmentRequest {
  const aging = agingOf(tier, c.config);
  return {
    ...c.ref,
    tier: tier.name,
    priority: tier.priority,
    targets: targets.filter((t) => t.kind !== 'team' || times[t.team]?.onShift !== false),
    note,
    ...(exclude?.length ? { excludeAgentIds: exclude } : {}),
    ...(aging ? { aging } : {}),
  };
}

/** The run's time, for the dispatcher to serve what was held until an opening (runs with business hours). */
export function runClock(c: RunContext): number | undefined {
  return c.features.businessHours ? Date.now() : undefined;
}

/**
 * Keeps the conversation with its assignee until it closes, carrying out transfers as they come. Returns a re-route
 * when the assignee went offline (and the rules say so), their shift ended with nobody free in the next shift's team,
 * or they did not write to the contact within the first-response time.
 */
export async function serve(c: RunContext, initial: AssignmentResult, chain: ResolvedLink[], tier: Tier): Promise<Reroute | undefined> {
  const { run, config, mirror } = c;
  let current = initial;
  for (;;) {
    run.assignTo(current, current.via === 'escalation' ? 'escalated' : 'assigned');
    startFirstResponse(c, current, initial, tier);
    await mirror.assignee(current.agentId);
    const nextTeam = config.teams[current.team]?.nextShiftTeam;
    const shiftEnds = nextTeam ? (await shiftTimesAt(c.features.shiftTimesRecorded, shiftOfTeam(config, current.team), Date.now()))[current.team]?.shiftEnd : undefined;
    const needsAttention = () => run.closed || run.hasTransfer || run.rerouteDue || run.hasPlatformChange;
    const woke = await attend(c, needsAttention, shiftEnds, tier);
    if (run.closed) return undefined;
    const change = run.takePlatformChange();
    if (change) {
      const taken = await adopt(c, change);
      if (taken) {
        current = taken;
        continue;
      }
      return { chain, reason: 'un-assigned by hand in the platform', exclude: [current.agentId] };
    }
    const pending = run.takeTransfer();
    if (pending) {
      current = (await transfer(c, pending)) ?? current;
      continue;
    }
    if (run.takeRerouteRequest()) {
      run.record('agent_offline', `${current.agentId} went offline: re-routing`);
      return handBack(c, { chain, reason: 'assignee went offline' });
    }
    if (run.firstResponse.overdue(Date.now())) return handBack(c, await firstResponseMissed(c, current, initial, chain, tier));
    if (!woke && nextTeam) {
      const next = await handOver(c, current, nextTeam);
      if ('chain' in next) return next;
      current = next;
    }
  }
}

/**
 * A person re-assigned the contact in the platform by hand: that person has it now (counted against them when they
 * are one of our agents), the previous agent's slot is freed. Null when the change was an un-assignment.
 */
async function adopt({ run, activities, mirror, ref }: RunContext, change: PlatformAssigneeChange): Promise<AssignmentResult | null> {
  const { assignee } = await activities.adoptPlatformAssignee({ conversation: ref, user: change.assignee });
  const taken = change.assignee ? (assignee ?? platformAssignee(change.assignee)) : null;
  mirror.known(taken?.agentId ?? null);
  run.record(taken ? 'assigned_in_platform' : 'unassigned_in_platform', taken ? `${taken.agentId} took it by hand` : 'un-assigned by hand');
  return taken;
}

/** An operator's transfer, carried out and answered: the new assignee, or undefined when it was refused. */
async function transfer({ run, config, activities, ref }: RunContext, pending: PendingTransfer): Promise<AssignmentResult | undefined> {
  const { request } = pending;
  const target: AssignTarget = request.agentId
    ? { kind: 'agent', agentId: request.agentId, via: 'transfer' }
    : teamTarget(request.team!, config, 'transfer');
  const result = await activities.transferConversation({ conversation: ref, to: { ...request, target }, key: run.nextMoveKey('transfer') });
  run.answerTransfer(pending, result);
  run.record(result.transferred ? 'transfer' : 'transfer_refused', result.transferred
    ? `to ${result.assignee.agentId}${request.reason ? `: ${request.reason}` : ''}`
    : result.reason);
  return result.transferred ? result.assignee : undefined;
}

/** The assignee's shift ended: the next shift's team takes over, or, with nobody there yet, routing does. */
async function handOver(c: RunContext, current: AssignmentResult, nextTeam: string): Promise<AssignmentResult | Reroute> {
  const { run, config, activities } = c;
  const target = teamTarget(nextTeam, config, 'next_shift');
  const reroute: Reroute = { chain: [{ target, wait: 0 }], reason: `shift of ${current.team} ended` };
  if ((await shiftTimesAt(c.features.shiftTimesRecorded, shiftOfTeam(config, nextTeam), Date.now()))[nextTeam]?.onShift === false) {
    // A gap between shifts: the conversation waits for the next team's start rather than reach it early.
    run.record('shift_ended', `${current.team}: ${nextTeam} is not on shift yet`);
    return handBack(c, reroute);
  }
  const handover = await activities.transferConversation({
    conversation: c.ref,
    to: { target, reason: `shift of ${current.team} ended` },
    key: run.nextMoveKey('handover'),
  });
  run.record('shift_ended', handover.transferred ? `${current.team} → ${handover.assignee.agentId}` : `${current.team}: ${handover.reason}`);
  return handover.transferred ? handover.assignee : handBack(c, reroute);
}

/** The assignee gives the conversation back: their slot is freed, the platform un-assigns it, routing takes over. */
async function handBack({ activities, mirror, conversationId }: RunContext, reroute: Reroute): Promise<Reroute> {
  await activities.releaseConversation(conversationId);
  await mirror.assignee(null);
  return reroute;
}

/** The shifts of the teams among these targets, by team. */
export function shiftsOf(config: RoutingConfig, targets: AssignTarget[]) {
  return Object.fromEntries(targets.flatMap((t) => (t.kind === 'team' && config.teams[t.team]?.shift ? [[t.team, config.teams[t.team]!.shift!]] : [])));
}

function shiftOfTeam(config: RoutingConfig, team: string) {
  const shift = config.teams[team]?.shift;
  return shift ? { [team]: shift } : {};
}
