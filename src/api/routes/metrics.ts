import { createHash } from 'node:crypto';
import { Router } from 'express';
import { Gauge, Registry } from 'prom-client';
import type { Db } from '../../db/pool';
import { registry } from '../../metrics';
import { temporalMetricsText } from '../../temporal';
import { allow, type KeyCheck } from '../auth';

/**
 * An agent's id as a metric label: an id that is an email address (agents made before such ids were refused) is shown
 * as a short hash, so no personal data sits in Prometheus.
 */
export function agentLabel(agentId: string): string {
  return agentId.includes('@') ? `sha256:${createHash('sha256').update(agentId).digest('hex').slice(0, 16)}` : agentId;
}

/**
 * `GET /metrics` (a key of scope metrics or read): this process's routing metrics, the state of the queue and of each agent as
 * the database has it now, and the SDK's metrics when this process runs a worker (npm start).
 */
export function metricsRoutes({ db, keyCheck }: { db: Db; keyCheck: KeyCheck }): Router {
  const now = new Registry();
  new Gauge({
    name: 'vip_router_queue_length',
    help: 'Conversations waiting for an agent',
    registers: [now],
    async collect() {
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM queue_entries`);
      this.set(rows[0].n);
    },
  });
  new Gauge({
    name: 'vip_router_queue_oldest_wait_seconds',
    help: 'How long the longest-waiting conversation has waited',
    registers: [now],
    async collect() {
      const { rows } = await db.query(`SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(enqueued_at)), 0)::float AS s FROM queue_entries`);
      this.set(rows[0].s);
    },
  });
  new Gauge({
    name: 'vip_router_open_conversations',
    help: 'Open conversations per agent',
    labelNames: ['agent', 'team'] as const,
    registers: [now],
    async collect() {
      this.reset();
      const { rows } = await db.query(
        `SELECT a.id, a.team, count(s.id)::int AS n FROM agents a
           LEFT JOIN assignments s ON s.agent_id = a.id AND s.released_at IS NULL GROUP BY a.id, a.team`,
      );
      for (const row of rows) this.set({ agent: agentLabel(row.id), team: row.team }, row.n);
    },
  });
  const merged = Registry.merge([registry, now]);

  const router = Router();
  router.get('/metrics', keyCheck.bearer(), allow('metrics', 'read'), async (_req, res) => {
    res.type(merged.contentType).send(`${await merged.metrics()}\n${await temporalMetricsText()}`);
  });
  return router;
}
