import type { Client } from '@temporalio/client';
import { Router } from 'express';
import type { Db } from '../../db/pool';

async function check(probe: () => Promise<unknown>): Promise<{ ok: boolean; error?: string }> {
  try {
    await Promise.race([probe(), new Promise((_, reject) => setTimeout(() => reject(new Error('timed out after 2 s')), 2_000).unref())]);
    return { ok: true };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

export function healthRoutes({ db, client }: { db: Db; client: Client }): Router {
  const router = Router();

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
    const [temporal, postgres] = await Promise.all([
      check(() => client.workflowService.getSystemInfo({})),
      check(() => db.query('SELECT 1')),
    ]);
    const ready = temporal.ok && postgres.ok;
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks: { temporal, postgres } });
  });

  return router;
}
