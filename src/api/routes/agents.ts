import type { Client } from '@temporalio/client';
import { Router } from 'express';
import { type Agent, listAgents, patchAgent, putAgent } from '../../db/agents';
import type { Db } from '../../db/pool';
import { listQueue } from '../../db/queue';
import { capacityFreedSignal } from '../../workflows/messages';
import { notFound } from '../errors';
import { agentIdParams, patchAgentBody, putAgentBody } from '../schemas';

/** True when the change can let a queued conversation through. */
function gainedRoom(before: Agent | undefined, after: Agent): boolean {
  if (!after.online || after.openConversations >= after.capacity) return false;
  return !before || !before.online || after.capacity > before.capacity || after.team !== before.team || after.role !== before.role;
}

export function agentRoutes({ db, client, log }: { db: Db; client: Client; log: { warn: (o: object, m: string) => void } }): Router {
  const router = Router();

  /** Presence and capacity changes wake the queued runs, in the order they are served. */
  async function wakeQueue(): Promise<void> {
    const waiting = await listQueue(db);
    await Promise.all(
      waiting.map((entry) =>
        client.workflow
          .getHandle(entry.workflowId)
          .signal(capacityFreedSignal)
          .catch((error: unknown) => log.warn({ err: error, workflowId: entry.workflowId }, 'could not wake a queued conversation')),
      ),
    );
  }

  router.put('/v1/agents/:agentId', async (req, res) => {
    const { agentId } = agentIdParams.parse(req.params);
    const body = putAgentBody.parse(req.body);
    const before = (await listAgents(db)).find((a) => a.id === agentId);
    const { agent } = await putAgent(db, { id: agentId, ...body });
    if (gainedRoom(before, agent)) await wakeQueue();
    res.json(agent);
  });

  router.patch('/v1/agents/:agentId', async (req, res) => {
    const { agentId } = agentIdParams.parse(req.params);
    const changes = patchAgentBody.parse(req.body);
    const result = await patchAgent(db, agentId, changes);
    if (!result) throw notFound(`unknown agent ${agentId}`);
    if (gainedRoom(result.before, result.after)) await wakeQueue();
    res.json(result.after);
  });

  router.get('/v1/agents', async (_req, res) => {
    res.json({ agents: await listAgents(db) });
  });

  router.get('/v1/queue', async (_req, res) => {
    const now = Date.now();
    const waiting = (await listQueue(db)).map((entry) => ({
      ...entry,
      waitingMs: now - new Date(entry.enqueuedAt).getTime(),
    }));
    res.json({ queue: waiting });
  });

  return router;
}
