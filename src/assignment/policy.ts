import type { AssignmentRequest, AssignmentResult, AssignTarget, CapacityDefaults } from '../domain/conversation';
import type { QueueAging } from '../domain/routing-config';

/**
 * Who gets which conversation, as pure decisions over the agents' loads: the dispatcher's store loads the loads
 * under its lock and writes back what these functions choose.
 */

/** An agent as the dispatcher sees them: who they are, whether they can take one more. */
export interface AgentLoad {
  id: string;
  name: string;
  team: string;
  role: string;
  online: boolean;
  /** Null: the team's default, else the fallback. */
  capacity: number | null;
  lastAssignedAt: Date | null;
  open: number;
}

/** Round robin: the last agent each team gave a conversation to. */
export type Cursors = Map<string, string>;

export interface Choice {
  agent: AgentLoad;
  target: AssignTarget;
}

export function effectiveCapacity(agent: Pick<AgentLoad, 'capacity' | 'team'>, defaults: CapacityDefaults): number {
  return agent.capacity ?? defaults.byTeam[agent.team] ?? defaults.fallback;
}

function matches(agent: AgentLoad, target: AssignTarget): boolean {
  switch (target.kind) {
    case 'agent':
      return agent.id === target.agentId;
    case 'team':
      return agent.team === target.team;
    case 'role':
      return agent.role === target.role;
  }
}

const idleSince = (agent: AgentLoad) => agent.lastAssignedAt?.getTime() ?? -Infinity;
const byId = (a: AgentLoad, b: AgentLoad) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Least open: fewest open conversations, ties to the longest idle. Round robin: the next agent by id
 * after the team's cursor, wrapping; an offline agent is simply skipped and rejoins in their place.
 */
export function pick(free: AgentLoad[], target: AssignTarget, cursors: Cursors): AgentLoad | undefined {
  if (free.length === 0) return undefined;
  if (target.kind === 'agent') return free[0];
  if (target.kind === 'team' && target.strategy === 'round_robin') {
    const sorted = [...free].sort(byId);
    const cursor = cursors.get(target.team);
    return (cursor === undefined ? undefined : sorted.find((agent) => agent.id > cursor)) ?? sorted[0];
  }
  return [...free].sort((a, b) => a.open - b.open || idleSince(a) - idleSince(b) || byId(a, b))[0];
}

/** The first target of the chain with someone free (online when it must be, below capacity), and whom it picks. */
export function choose(request: AssignmentRequest, pool: AgentLoad[], cursors: Cursors): Choice | undefined {
  const excluded = new Set(request.excludeAgentIds ?? []);
  for (const target of request.targets) {
    const onlineOnly = target.kind === 'team' ? target.onlineOnly : request.onlineOnly;
    const free = pool.filter(
      (agent) =>
        !excluded.has(agent.id) && matches(agent, target) && (agent.online || !onlineOnly) && agent.open < effectiveCapacity(agent, request.capacity),
    );
    const agent = pick(free, target, cursors);
    if (agent) return { agent, target };
  }
  return undefined;
}

/**
 * Where a transfer goes: by the routing rules, else (forced) past capacity, and for a named agent past presence
 * too; a team still needs someone online. Never back to the agent who has it now.
 */
export function chooseForTransfer(
  request: AssignmentRequest,
  currentAgentId: string,
  pool: AgentLoad[],
  cursors: Cursors,
  force: boolean,
): Choice | undefined {
  const others = pool.filter((agent) => agent.id !== currentAgentId);
  const choice = choose(request, others, cursors);
  if (choice || !force) return choice;
  const target = request.targets[0]!;
  const agent = pick(
    others.filter((candidate) => matches(candidate, target) && (target.kind === 'agent' || candidate.online)),
    target,
    cursors,
  );
  return agent ? { agent, target } : undefined;
}

/**
 * A waiting conversation's priority after `waitedMs` in the queue: its tier's, plus `points` for every whole `every`
 * waited. The dispatcher computes it in PostgreSQL (store.ts, at dispatch time, with the database's clock); this is its
 * definition, which test/assignment/store.test.ts holds that SQL to.
 */
export function effectivePriority(priority: number, aging: QueueAging | undefined, waitedMs: number): number {
  return aging ? priority + aging.points * Math.floor(Math.max(waitedMs, 0) / aging.every) : priority;
}

/**
 * What a queue notice's estimate reads: a tier's assignments over the last hour, and how many of them make a rate worth
 * a number. n assignments give a rate to within about 1/√n: over 40 % off below 6, and the contact hears "a few
 * minutes" rather than a wrong number.
 */
export const WAIT_ESTIMATE = { windowMs: 3_600_000, minAssignments: 6 };

/** A wait as the contact reads it: a number and its unit. */
export interface WaitEstimate {
  value: number;
  unit: 'minute' | 'hour';
}

/**
 * The expected wait of the conversation `position`th in its tier's queue: at the tier's recent rate of assignments,
 * the position-th next one comes position ÷ rate from now. Rounded up, so the contact is served sooner than told rather
 * than later: to 5 minutes up to an hour, then to half hours. Undefined when the estimate is poor (see WAIT_ESTIMATE).
 */
export function estimateWait(position: number, assignedInWindow: number, estimate = WAIT_ESTIMATE): WaitEstimate | undefined {
  if (assignedInWindow < estimate.minAssignments) return undefined;
  const minutes = (position * estimate.windowMs) / assignedInWindow / 60_000;
  if (minutes <= 60) return { value: Math.max(5, Math.ceil(minutes / 5) * 5), unit: 'minute' };
  return { value: Math.ceil(minutes / 30) / 2, unit: 'hour' };
}

/**
 * Serves waiting conversations in order (the caller's order: effective priority, then the longest waiting) as far as free
 * capacity goes, counting each assignment against its agent and moving round-robin cursors as it goes.
 */
export function serveQueue(requests: AssignmentRequest[], pool: AgentLoad[], cursors: Cursors, now: Date): Array<Choice & { request: AssignmentRequest }> {
  const served: Array<Choice & { request: AssignmentRequest }> = [];
  for (const request of requests) {
    const choice = choose(request, pool, cursors);
    if (!choice) continue;
    choice.agent.open++;
    choice.agent.lastAssignedAt = now;
    if (choice.target.kind === 'team' && choice.target.strategy === 'round_robin') cursors.set(choice.target.team, choice.agent.id);
    served.push({ ...choice, request });
  }
  return served;
}

/**
 * True when an agent change can let a waiting conversation through. A null capacity stands for a team default that
 * only each run's config knows, so any capacity change counts; a needless dispatch finds nothing to do.
 */
export function gainedRoom(
  before: { online: boolean; capacity: number | null; team: string; role: string } | undefined,
  after: { online: boolean; capacity: number | null; team: string; role: string },
): boolean {
  if (!after.online) return false;
  return !before || !before.online || after.capacity !== before.capacity || after.team !== before.team || after.role !== before.role;
}

export function strategyOf(target: AssignTarget): AssignmentResult['strategy'] {
  return target.kind === 'agent' ? 'direct' : target.strategy;
}

export function assignmentOf(agent: Pick<AgentLoad, 'id' | 'name' | 'team'>, target: AssignTarget): AssignmentResult {
  return { agentId: agent.id, name: agent.name, team: agent.team, via: target.via, strategy: strategyOf(target) };
}
