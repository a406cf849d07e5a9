import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { effectiveCapacity } from '../assignment/policy';
import { type WaitingEntry, waitingQueue } from '../assignment/queue';
import type { Agent } from '../db/agents';
import { listAgents } from '../db/agents';
import { type FirstResponseSummary, firstResponsesByTier } from '../db/first-responses';
import { assignmentPaths, type PathStep, timeToAssignmentByMinute, type TimeToAssignment } from '../db/operator-reads';
import { type GivenUpEffect, recentGivenUpEffects } from '../db/platform-calls';
import type { Db } from '../db/pool';
import type { RoutingConfig } from '../domain/routing-config';
import { contactIdOfWorkflow, ROUTING_WORKFLOW } from '../workflows/definitions';
import { capacityDefaults } from '../workflows/rules';
import { ROUTING_STATE, TIER } from '../workflows/search-attributes';

/** What the operator page shows; one request every couple of seconds per open page, so every part is bounded. */
export interface OperatorOverview {
  generatedAt: string;
  agents: OperatorAgent[];
  /** In serving order. */
  queue: WaitingEntry[];
  recent: RecentConversation[];
  /** Why `recent` is empty: Temporal's visibility did not answer. */
  recentError?: string;
  timeToAssignment: { minutes: number; points: TimeToAssignment[] };
  /** Assignees' first responses by tier over the same minutes: answered in time (how fast) and missed. */
  firstResponse: { minutes: number; tiers: FirstResponseSummary[] };
  /** Effects on the messaging platform (messages, assignee, close) given up after their time bound, newest first. */
  givenUp: GivenUpEffect[];
}

export type OperatorAgent = Pick<Agent, 'id' | 'name' | 'team' | 'role' | 'online'> & {
  /** Open conversations. */
  load: number;
  /** Their own, else their team's default, else the routing config's. */
  capacity: number;
};

export interface RecentConversation {
  contactId: string;
  workflowId: string;
  runId: string;
  startedAt: string;
  closedAt: string | null;
  /** The run's RoutingState; without the search attribute, `open` or `closed`; a run ended otherwise: how (`terminated`…). */
  state: string;
  tier: string | null;
  /** The agents it was given to, oldest first. */
  path: PathStep[];
  /** Its history in Temporal UI, when the API knows where Temporal UI is (TEMPORAL_UI_URL). */
  historyUrl: string | null;
}

const RECENT_CONVERSATIONS = 50;
const GIVEN_UP_SHOWN = 20;
const CHART_MINUTES = 60;
const VISIBILITY_DEADLINE_MS = 3_000;

export interface OverviewSources {
  db: Db;
  client: Client;
  routing: RoutingConfig;
  taskQueue: string;
  /** Temporal UI's address, for links to histories. */
  temporalUiUrl?: string;
}

export async function operatorOverview(sources: OverviewSources): Promise<OperatorOverview> {
  const { db, routing } = sources;
  const [agents, queue, points, firstResponses, givenUp, recent] = await Promise.all([
    listAgents(db),
    waitingQueue(db),
    timeToAssignmentByMinute(db, CHART_MINUTES),
    firstResponsesByTier(db, CHART_MINUTES),
    recentGivenUpEffects(db, GIVEN_UP_SHOWN),
    recentConversations(sources).then(
      (conversations) => ({ conversations }),
      (error: unknown) => ({ conversations: [], error: `Temporal's visibility did not answer: ${(error as Error).message}` }),
    ),
  ]);
  const defaults = capacityDefaults(routing);
  return {
    generatedAt: new Date().toISOString(),
    // An agent an agent sync no longer found in respond.io takes nothing and cannot come back from here.
    agents: agents
      .filter((agent) => agent.removedAt === null)
      .map(({ id, name, team, role, online, capacity, openConversations }) => ({
        id,
        name,
        team,
        role,
        online,
        load: openConversations,
        capacity: effectiveCapacity({ capacity, team }, defaults),
      })),
    queue,
    recent: recent.conversations,
    ...('error' in recent ? { recentError: recent.error } : {}),
    timeToAssignment: { minutes: CHART_MINUTES, points },
    firstResponse: { minutes: CHART_MINUTES, tiers: firstResponses },
    givenUp,
  };
}

/**
 * The routing runs of this task queue as Temporal's visibility lists them (open ones first, then the latest
 * closed), with their state and tier from the search attributes the runs keep, and the path from PostgreSQL.
 */
async function recentConversations({ db, client, taskQueue, temporalUiUrl }: OverviewSources): Promise<RecentConversation[]> {
  const query = `WorkflowType = '${ROUTING_WORKFLOW}' AND TaskQueue = '${taskQueue.replace(/['\\]/g, '\\$&')}'`;
  const runs: WorkflowExecutionInfo[] = [];
  await client.withDeadline(Date.now() + VISIBILITY_DEADLINE_MS, async () => {
    for await (const run of client.workflow.list({ query, pageSize: RECENT_CONVERSATIONS })) {
      runs.push(run);
      if (runs.length === RECENT_CONVERSATIONS) break;
    }
  });
  const conversations = runs.map((run) => ({ run, contactId: contactIdOfWorkflow(run.workflowId) ?? run.workflowId, conversationId: run.runId }));
  const paths = await assignmentPaths(db, conversations);
  const ui = temporalUiUrl?.replace(/\/+$/, '');
  const namespace = encodeURIComponent(client.options.namespace);
  return conversations.map(({ run, contactId, conversationId }) => ({
    contactId,
    workflowId: run.workflowId,
    runId: run.runId,
    startedAt: run.startTime.toISOString(),
    closedAt: run.closeTime?.toISOString() ?? null,
    state: stateOf(run),
    tier: run.typedSearchAttributes.get(TIER) ?? null,
    path: paths.get(conversationId) ?? [],
    historyUrl: ui ? `${ui}/namespaces/${namespace}/workflows/${encodeURIComponent(run.workflowId)}/${run.runId}/history` : null,
  }));
}

function stateOf(run: WorkflowExecutionInfo): string {
  const routingState = run.typedSearchAttributes.get(ROUTING_STATE);
  switch (run.status.name) {
    case 'RUNNING':
      return routingState ?? 'open';
    case 'COMPLETED':
      return routingState ?? 'closed';
    default:
      return run.status.name.toLowerCase();
  }
}
