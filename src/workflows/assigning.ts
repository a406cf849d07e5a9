import { condition, workflowInfo } from '@temporalio/workflow';
import type { RoutingConfig } from '../routing-config';
import type { PlatformMirror } from './platform';
import { capacityDefaults, describeTarget, platformAssignee, type ResolvedStep, teamTarget } from './rules';
import type { Run } from './run';
import { shiftTimesAt } from './shift-clock';
import type { Steps } from './steps';
import type { AssignmentRequest, AssignmentResult, AssignTarget, ContactInput, PlatformAssigneeChange } from '../domain';


export interface AssigningContext {
  run: Run;
  config: RoutingConfig;
  contact: ContactInput;
  workflowId: string;
  conversationId: string;
  mirror: PlatformMirror;
  steps: Steps;
  /** Shift times come from a recorded local activity (runs since the shift-times-recorded patch). */
  shiftTimesRecorded: boolean;
}

/** Why serving an assigned conversation stopped, short of a close: it goes back to routing with this chain. */
export interface Reroute {
  chain: ResolvedStep[];
  reason: string;
  /** Agents not to route to this time: the one who just handed the conversation back. */
  exclude?: string[];
}

/**
 * Finding someone, and keeping the conversation with someone: the chain with its per-step waits, the
 * queue, transfers, re-routing when an agent goes offline, and shift hand-overs.
 */
export function assigning({ run, config, contact, workflowId, conversationId, mirror, steps, shiftTimesRecorded }: AssigningContext) {
  const { requestAssignment, withdrawFromQueue, releaseConversation, transferConversation, adoptPlatformAssignee } = steps;
  const base = {
    conversationId,
    workflowId,
    contactId: contact.id,
    onlineOnly: config.assignment.onlineOnly,
    capacity: capacityDefaults(config),
    openedAt: workflowInfo().startTime.toISOString(),
  };

  /**
   * A person re-assigned the contact in the platform by hand: that person has it now (counted against them when
   * they are one of our agents), the previous agent's slot is freed. Null when the change was an un-assignment.
   */
  async function adopt(change: PlatformAssigneeChange): Promise<AssignmentResult | null> {
    const { assignee } = await adoptPlatformAssignee({ conversation: base, user: change.assignee });
    const taken = change.assignee ? (assignee ?? platformAssignee(change.assignee)) : null;
    mirror.known(taken?.agentId ?? null);
    run.step(taken ? 'assigned_in_platform' : 'unassigned_in_platform', taken ? `${taken.agentId} took it by hand` : 'un-assigned by hand');
    return taken;
  }

  /** The shifts of the teams among these targets, by team. */
  const shiftsOf = (targets: AssignTarget[]) =>
    Object.fromEntries(targets.flatMap((t) => (t.kind === 'team' && config.teams[t.team]?.shift ? [[t.team, config.teams[t.team]!.shift!]] : [])));
  const shiftOfTeam = (team: string) => {
    const shift = config.teams[team]?.shift;
    return shift ? { [team]: shift } : {};
  };

  /**
   * Walks the chain: step k offers the conversation to steps 0..k (earlier ones stay preferred) and waits
   * up to its `wait`, woken early when the dispatcher assigns it; after the last step, the queue, up to
   * maxQueueWait. Undefined when closed or when the queue wait ran out.
   */
  async function assignAlong(
    chain: ResolvedStep[],
    tier: { name: string; priority: number },
    note?: string,
    exclude?: string[],
  ): Promise<AssignmentResult | undefined> {
    if (chain.length === 0 && !run.takenOver) {
      // e.g. a chain of only the account manager, for a contact the CRM gives none: nobody to wait for.
      run.step('empty_chain', `the ${tier.name} chain names nobody for this contact`);
      return undefined;
    }
    const phases = [
      ...chain.map((step, i) => ({ targets: chain.slice(0, i + 1).map((s) => s.target), wait: step.wait })),
      { targets: chain.map((s) => s.target), wait: config.assignment.maxQueueWait },
    ];
    const labels = [...chain.map((s) => describeTarget(s.target)), 'queue'];
    const last = phases.length - 1;
    let phase = 0;
    let phaseEnds = Date.now() + phases[0]!.wait;
    run.enter('assigning');
    for (;;) {
      const change = run.takePlatformChange();
      if (change?.assignee) {
        // Whatever the dispatcher did meanwhile, the person's choice stands (adopting leaves the queue too).
        delete run.status.chain;
        return (await adopt(change))!;
      }
      if (change) run.step('unassigned_in_platform', 'un-assigned by hand while not assigned: routing goes on');
      while (phase < last && Date.now() >= phaseEnds) {
        phase++;
        phaseEnds = Date.now() + phases[phase]!.wait;
      }
      const { targets } = phases[phase]!;
      const times = await shiftTimesAt(shiftTimesRecorded, shiftsOf(targets), Date.now());
      const changesSeen = run.assignmentChanges;
      const request: AssignmentRequest = {
        ...base,
        tier: tier.name,
        priority: tier.priority,
        // Teams off shift get no new conversations.
        targets: targets.filter((t) => t.kind !== 'team' || times[t.team]?.onShift !== false),
        note,
        ...(exclude?.length ? { excludeAgentIds: exclude } : {}),
      };
      const assigned = await requestAssignment(request);
      if (assigned) {
        delete run.status.chain;
        return assigned;
      }
      if (phase === last && run.status.state !== 'queued') {
        run.enter('queued');
        run.step('queued', `nobody available in ${labels.slice(0, -1).join(' → ') || 'an empty chain'}`);
      }
      run.status.chain = { step: phase, steps: labels, until: new Date(phaseEnds).toISOString() };
      const wakeAt = Math.min(phaseEnds, ...Object.values(times).map((t) => t.nextChange ?? Infinity));
      await condition(() => run.closed || run.assignmentChanges !== changesSeen || run.platformChange !== undefined, Math.max(wakeAt - Date.now(), 1));
      if (run.platformChange !== undefined && !run.closed) continue;
      if (run.closed || (phase === last && Date.now() >= phaseEnds)) {
        // The dispatcher may have served us just before we gave up: that assignment stands.
        const raced = await withdrawFromQueue(conversationId);
        delete run.status.chain;
        return raced ?? undefined;
      }
    }
  }

  /** Counts the run's transfers and hand-overs: each one's key, so a retried activity recognises its own move. */
  let moves = 0;

  /**
   * Keeps the conversation with its assignee until it closes, carrying out transfers as they come.
   * Returns a re-route when the assignee went offline (and the rules say so) or their shift ended
   * with nobody free in the next shift's team.
   */
  async function serve(initial: AssignmentResult, chain: ResolvedStep[]): Promise<Reroute | undefined> {
    let current = initial;
    for (;;) {
      run.status.assignee = { agentId: current.agentId, name: current.name, team: current.team };
      run.enter(current.via === 'escalation' ? 'escalated' : 'assigned');
      await mirror.assignee(current.agentId);
      const nextTeam = config.teams[current.team]?.nextShiftTeam;
      const shiftEnds = nextTeam ? (await shiftTimesAt(shiftTimesRecorded, shiftOfTeam(current.team), Date.now()))[current.team]?.shiftEnd : undefined;
      const needsAttention = () => run.closed || run.transfers.length > 0 || run.rerouteRequested || run.platformChange !== undefined;
      const woke = shiftEnds === undefined ? (await condition(needsAttention), true) : await condition(needsAttention, Math.max(shiftEnds - Date.now(), 1));
      if (run.closed) return undefined;
      const change = run.takePlatformChange();
      if (change) {
        const taken = await adopt(change);
        if (taken) {
          current = taken;
          continue;
        }
        return { chain, reason: 'un-assigned by hand in the platform', exclude: [current.agentId] };
      }
      const pending = run.transfers.shift();
      if (pending) {
        const { request } = pending;
        const target: AssignTarget = request.agentId
          ? { kind: 'agent', agentId: request.agentId, via: 'transfer' }
          : teamTarget(request.team!, config, 'transfer');
        pending.result = await transferConversation({ conversation: base, to: { ...request, target }, key: `transfer-${++moves}` });
        run.step(pending.result.transferred ? 'transfer' : 'transfer_refused', pending.result.transferred
          ? `to ${pending.result.assignee.agentId}${request.reason ? `: ${request.reason}` : ''}`
          : pending.result.reason);
        if (pending.result.transferred) current = pending.result.assignee;
        continue;
      }
      if (run.rerouteRequested) {
        run.rerouteRequested = false;
        run.step('agent_offline', `${current.agentId} went offline: re-routing`);
        await releaseConversation(conversationId);
        await mirror.assignee(null);
        return { chain, reason: 'assignee went offline' };
      }
      if (!woke && nextTeam) {
        const target = teamTarget(nextTeam, config, 'next_shift');
        if ((await shiftTimesAt(shiftTimesRecorded, shiftOfTeam(nextTeam), Date.now()))[nextTeam]?.onShift === false) {
          // A gap between shifts: the conversation waits for the next team's start rather than reach it early.
          run.step('shift_ended', `${current.team}: ${nextTeam} is not on shift yet`);
          await releaseConversation(conversationId);
          await mirror.assignee(null);
          return { chain: [{ target, wait: 0 }], reason: `shift of ${current.team} ended` };
        }
        const handover = await transferConversation({
          conversation: base,
          to: { target, reason: `shift of ${current.team} ended` },
          key: `handover-${++moves}`,
        });
        run.step('shift_ended', handover.transferred ? `${current.team} → ${handover.assignee.agentId}` : `${current.team}: ${handover.reason}`);
        if (handover.transferred) {
          current = handover.assignee;
          continue;
        }
        await releaseConversation(conversationId);
        await mirror.assignee(null);
        return { chain: [{ target, wait: 0 }], reason: `shift of ${current.team} ended` };
      }
    }
  }

  async function release(): Promise<string | null> {
    return releaseConversation(conversationId);
  }

  return { assignAlong, serve, release };
}
