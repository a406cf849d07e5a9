import type { Client } from '@temporalio/client';
import { Router } from 'express';
import { type Agent, getAgent, listAgents, openConversationsOf, patchAgent, putAgent } from '../../db/agents';
import type { Db } from '../../db/pool';
import { listQueue } from '../../db/queue';
import { dispatchAndNotify, type Notify } from '../../dispatcher';
import { agentWentOfflineSignal } from '../../workflows/messages';
import { notFound } from '../errors';
import { agentIdParams, patchAgentBody, putAgentBody } from '../schemas';

/**
 * True when the change can let a waiting conversation through. A null capacity stands for a team default that
 * only each run's config knows, so any capacity change counts; a needless dispatch finds nothing to do.
 */
function gainedRoom(before: Agent | undefined, after: Agent): boolean {
  if (!after.online) return false;
  return !before || !before.online || after.capacity !== before.capacity || after.team !== before.team || after.role !== before.role;
}

export interface AgentRouteDeps {
  db: Db;
  client: Client;
  notify: Notify;
  log: { warn: (o: object, m: string) => void };
}

export function agentRoutes({ db, client, notify, log }: AgentRouteDeps): Router {
  const router = Router();

  /** Presence and capacity changes are the events that serve the queue, and that re-route an absent agent's work. */
  async function afterChange(before: Agent | undefined, after: Agent): Promise<void> {
    if (gainedRoom(before, after)) await dispatchAndNotify(db, notify);
    if (before?.online && !after.online) {
      // Each run decides by its own rules whether an absent assignee means re-routing.
      for (const { workflowId } of await openConversationsOf(db, after.id)) {
        await client.workflow
          .getHandle(workflowId)
          .signal(agentWentOfflineSignal, { agentId: after.id })
          .catch((error: unknown) => log.warn({ err: error, workflowId }, 'could not tell a conversation its agent went offline'));
      }
    }
  }

  router.put('/v1/agents/:agentId', async (req, res) => {
    const { agentId } = agentIdParams.parse(req.params);
    const body = putAgentBody.parse(req.body);
    const before = await getAgent(db, agentId);
    const agent = await putAgent(db, { id: agentId, ...body });
    await afterChange(before, agent);
    res.json(agent);
  });

  router.patch('/v1/agents/:agentId', async (req, res) => {
    const { agentId } = agentIdParams.parse(req.params);
    const changes = patchAgentBody.parse(req.body);
    const result = await patchAgent(db, agentId, changes);
    if (!result) throw notFound(`unknown agent ${agentId}`);
    await afterChange(result.before, result.after);
    res.json(result.after);
  });

  router.get('/v1/agents', async (_req, res) => {
    res.json({ agents: await listAgents(db) });
  });

  router.get('/v1/queue', async (_req, res) => {
    const now = Date.now();
    const waiting = (await listQueue(db)).map((entry, index) => ({
      position: index + 1,
      ...entry,
      waitingMs: now - new Date(entry.enqueuedAt).getTime(),
    }));
    res.json({ queue: waiting });
  });

  return router;
}
