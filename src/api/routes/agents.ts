import { Router } from 'express';
import { type Agent, getAgent, listAgents, patchAgent, putAgent } from '../../db/agents';
import type { Db } from '../../db/pool';
import { commitAgentChange, waitingQueue } from '../../assignment/store';
import { afterAgentChange, type RunSignals } from '../../assignment/dispatcher';
import { adminOnly, allow } from '../auth';
import { HttpError, notFound } from '../errors';
import { agentIdParams, newAgentIdParams, patchAgentBody, putAgentBody } from '../schemas';

const UNIQUE_VIOLATION = '23505';

export interface AgentRouteDeps {
  db: Db;
  signals: RunSignals;
}

export function agentRoutes({ db, signals }: AgentRouteDeps): Router {
  const router = Router();
  const afterChange = (before: Agent | undefined, after: Agent) => afterAgentChange(db, signals, before, after);

  router.put('/v1/agents/:agentId', adminOnly, async (req, res) => {
    const { agentId } = newAgentIdParams.parse(req.params);
    const body = putAgentBody.parse(req.body);
    const change = await commitAgentChange(db, async (tx) => {
      const before = await getAgent(tx, agentId);
      return { before, after: await putAgent(tx, { id: agentId, ...body }) };
    }).catch((error: unknown) => {
      // The email and the respond.io user id name one agent each.
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) {
        const field = /respondio/.test((error as { constraint?: string }).constraint ?? '') ? 'respondioUserId' : 'email';
        throw new HttpError(409, 'conflict', `another agent already has this ${field}`, [{ path: field, message: 'taken' }]);
      }
      throw error;
    });
    await afterChange(change!.before, change!.after);
    res.json(change!.after);
  });

  router.patch('/v1/agents/:agentId', adminOnly, async (req, res) => {
    const { agentId } = agentIdParams.parse(req.params);
    const changes = patchAgentBody.parse(req.body);
    const result = await commitAgentChange(db, (tx) => patchAgent(tx, agentId, changes));
    if (!result) throw notFound(`unknown agent ${agentId}`);
    await afterChange(result.before, result.after);
    res.json(result.after);
  });

  router.get('/v1/agents', allow('read'), async (_req, res) => {
    res.json({ agents: await listAgents(db) });
  });

  router.get('/v1/queue', allow('read'), async (_req, res) => {
    res.json({ queue: await waitingQueue(db) });
  });

  return router;
}
