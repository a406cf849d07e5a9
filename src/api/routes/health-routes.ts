import type { Client } from '@temporalio/client';
import type { Db } from '../../db/pool';
import { answer, health, readiness } from '../answers';
import { route } from '../contract';

async function check(probe: () => Promise<unknown>): Promise<{ ok: boolean; error?: string }> {
  try {
    await Promise.race([probe(), new Promise((_, reject) => setTimeout(() => reject(new Error('timed out after 2 s')), 2_000).unref())]);
    return { ok: true };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

const healthRoute = route<{ db: Db; client: Client }>();

/** Liveness and readiness, for an orchestrator. */
export const healthRoutes = [
  healthRoute({
    method: 'get',
    path: '/healthz',
    operationId: 'liveness',
    tag: 'Health',
    summary: 'Liveness: the process answers',
    access: 'open',
    responses: { 200: answer('Alive.', health, { ok: { summary: 'Alive', value: { status: 'ok' } } }) },
    handle: (_input, _deps, res) => {
      res.json({ status: 'ok' });
    },
  }),
  healthRoute({
    method: 'get',
    path: '/readyz',
    operationId: 'readiness',
    tag: 'Health',
    summary: 'Readiness: Temporal and PostgreSQL answer',
    access: 'open',
    responses: {
      200: answer('Ready.', readiness, { ready: { summary: 'Ready', value: { status: 'ready', checks: { temporal: { ok: true }, postgres: { ok: true } } } } }),
      503: answer('Temporal or PostgreSQL is down.', readiness, {
        postgresDown: {
          summary: 'PostgreSQL down',
          value: { status: 'not_ready', checks: { temporal: { ok: true }, postgres: { ok: false, error: 'connect ECONNREFUSED 127.0.0.1:5432' } } },
        },
      }),
    },
    handle: async (_input, { db, client }, res) => {
      const [temporal, postgres] = await Promise.all([
        check(() => client.workflowService.getSystemInfo({})),
        check(() => db.query('SELECT 1')),
      ]);
      const ready = temporal.ok && postgres.ok;
      res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks: { temporal, postgres } });
    },
  }),
];
