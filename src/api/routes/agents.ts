import { Router } from 'express';
import { type Agent, getAgent, listAgents, patchAgent, putAgent } from '../../db/agents';
import { type Db, inTransaction } from '../../db/pool';
import { listQueue } from '../../db/queue';
import { afterAgentChange, type Notify, type TellOffline } from '../../dispatcher';
import { adminOnly, allow } from '../auth';
import { HttpError, notFound } from '../errors';
import { agentIdParams, patchAgentBody, putAgentBody } from '../schemas';

const UNIQUE_VIOLATION = '23505';

export interface AgentRouteDeps {
  db: Db;
  notify: Notify;
  tellOffline: TellOffline;
}

export function agentRoutes({ db, notify, tellOffline }: AgentRouteDeps): Router {
  const router = Router();
  const afterChange = (before: Agent | undefined, after: Agent) => afterAgentChange(db, { notify, tellOffline }, before, after);

  router.put('/v1/agents/:agentId', adminOnly, async (req, res) => {
    const { agentId } = agentIdParams.parse(req.params);
    const body = putAgentBody.parse(req.body);
    const before = await getAgent(db, agentId);
    const agent = await inTransaction(db, (tx) => putAgent(tx, { id: agentId, ...body })).catch((error: unknown) => {
      // The email and the respond.io user id name one agent each.
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) {
        const field = /respondio/.test((error as { constraint?: string }).constraint ?? '') ? 'respondioUserId' : 'email';
        throw new HttpError(409, 'conflict', `another agent already has this ${field}`, [{ path: field, message: 'taken' }]);
      }
      throw error;
    });
    await afterChange(before, agent);
    res.json(agent);
  });

  router.patch('/v1/agents/:agentId', adminOnly, async (req, res) => {
    const { agentId } = agentIdParams.parse(req.params);
    const changes = patchAgentBody.parse(req.body);
    const result = await patchAgent(db, agentId, changes);
    if (!result) throw notFound(`unknown agent ${agentId}`);
    await afterChange(result.before, result.after);
    res.json(result.after);
  });

  router.get('/v1/agents', allow('read'), async (_req, res) => {
    res.json({ agents: await listAgents(db) });
  });

  router.get('/v1/queue', allow('read'), async (_req, res) => {
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
