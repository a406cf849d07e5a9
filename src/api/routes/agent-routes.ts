import { afterAgentChange, type RunSignals } from '../../assignment/dispatcher';
import { waitingQueue } from '../../assignment/queue';
import { commitAgentChange } from '../../assignment/store';
import { getAgent, listAgents, patchAgent, putAgent } from '../../db/agents';
import type { Db } from '../../db/pool';
import { agent, agentList, answer, error, failure, queue } from '../answers';
import { body, route } from '../contract';
import { HttpError, notFound } from '../errors';
import { agentIdParams, newAgentIdParams, patchAgentBody, putAgentBody } from '../schemas';
import { AGENT_ALEX, AT, RUN_ID } from './examples';

const UNIQUE_VIOLATION = '23505';

export interface AgentDeps {
  db: Db;
  signals: RunSignals;
}

const agentRoute = route<AgentDeps>();

/** Who takes conversations, and the queue of those waiting for one. */
export const agentRoutes = [
  agentRoute({
    method: 'put',
    path: '/v1/agents/{agentId}',
    operationId: 'putAgent',
    tag: 'Agents',
    summary: 'Create or replace an agent',
    access: { scopes: [] },
    params: newAgentIdParams,
    paramExamples: { agentId: 'alex' },
    body: body(putAgentBody, {
      minimal: { summary: 'Only what is required: an online agent with the team’s default capacity', value: { name: 'Alex Account-Manager', team: 'account-managers' } },
      accountManager: {
        summary: 'An account manager, known to respond.io by email',
        value: { name: 'Alex Account-Manager', team: 'account-managers', capacity: 5, email: 'alex@example.com' },
      },
    }),
    responses: {
      200: answer('The agent as stored.', agent, { stored: { summary: 'The agent', value: AGENT_ALEX } }),
      409: failure('Another agent already has this email or respond.io user id.', {
        taken: { summary: 'Email taken', value: error('conflict', 'another agent already has this email', [{ path: 'email', message: 'taken' }]) },
      }),
    },
    handle: async ({ params: { agentId }, body: agent }, { db, signals }, res) => {
      const change = await commitAgentChange(db, async (tx) => {
        const before = await getAgent(tx, agentId);
        return { before, after: await putAgent(tx, { id: agentId, ...agent }) };
      }).catch((error: unknown) => {
        // The email and the respond.io user id name one agent each.
        if ((error as { code?: string }).code === UNIQUE_VIOLATION) {
          const field = /respondio/.test((error as { constraint?: string }).constraint ?? '') ? 'respondioUserId' : 'email';
          throw new HttpError(409, 'conflict', `another agent already has this ${field}`, [{ path: field, message: 'taken' }]);
        }
        throw error;
      });
      await afterAgentChange(db, signals, change!.before, change!.after);
      res.json(change!.after);
    },
  }),
  agentRoute({
    method: 'patch',
    path: '/v1/agents/{agentId}',
    operationId: 'patchAgent',
    tag: 'Agents',
    summary: "Set an agent's presence or capacity",
    description:
      "Going online or gaining capacity serves the queue; going offline re-routes the agent's conversations when the routing rules say `rerouteOnOffline`.",
    access: { scopes: [] },
    params: agentIdParams,
    paramExamples: { agentId: 'alex' },
    body: body(patchAgentBody, {
      offline: { summary: 'Going offline', value: { online: false } },
      capacity: { summary: 'Back online with more room', value: { online: true, capacity: 8 } },
    }),
    responses: {
      200: answer('The agent as stored.', agent, {
        offline: {
          summary: 'Offline, keeping the open conversation unless the rules re-route it',
          value: { ...AGENT_ALEX, online: false, openConversations: 1, lastAssignedAt: AT },
        },
      }),
      404: failure('No such agent.', { unknown: { summary: 'Unknown agent', value: error('not_found', 'unknown agent zoe') } }),
    },
    handle: async ({ params: { agentId }, body: changes }, { db, signals }, res) => {
      const result = await commitAgentChange(db, (tx) => patchAgent(tx, agentId, changes));
      if (!result) throw notFound(`unknown agent ${agentId}`);
      await afterAgentChange(db, signals, result.before, result.after);
      res.json(result.after);
    },
  }),
  agentRoute({
    method: 'get',
    path: '/v1/agents',
    operationId: 'listAgents',
    tag: 'Agents',
    summary: 'Every agent, with their open conversations',
    access: { scopes: ['read'] },
    responses: {
      200: answer('The agents, by team.', agentList, {
        agents: {
          summary: 'Two agents',
          value: {
            agents: [
              { ...AGENT_ALEX, openConversations: 1, lastAssignedAt: AT },
              {
                id: 'respondio-5120',
                name: 'Sam Ortega',
                team: 'vip',
                role: 'agent',
                online: false,
                capacity: null,
                openConversations: 0,
                lastAssignedAt: null,
                email: 'sam@example.com',
                respondioUserId: '5120',
                removedAt: null,
              },
            ],
          },
        },
      }),
    },
    handle: async (_input, { db }, res) => {
      res.json({ agents: await listAgents(db) });
    },
  }),
  agentRoute({
    method: 'get',
    path: '/v1/queue',
    operationId: 'getQueue',
    tag: 'Agents',
    summary: 'Waiting conversations, in the order they will be served',
    access: { scopes: ['read'] },
    responses: {
      200: answer("The queue: highest effective priority first (a tier's priority, risen with the wait when queue aging is set), then the longest waiting.", queue, {
        waiting: {
          summary: 'One VIP waiting',
          value: {
            queue: [
              {
                position: 1,
                conversationId: RUN_ID,
                workflowId: 'conversation-c-3',
                contactId: 'c-3',
                tier: 'vip',
                priority: 10,
                effectivePriority: 10,
                enqueuedAt: AT,
                waitingMs: 42_000,
              },
            ],
          },
        },
      }),
    },
    handle: async (_input, { db }, res) => {
      res.json({ queue: await waitingQueue(db) });
    },
  }),
];
