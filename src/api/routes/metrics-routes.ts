import { createHash } from 'node:crypto';
import { Gauge, Registry } from 'prom-client';
import { z } from 'zod';
import type { Db } from '../../db/pool';
import { registry } from '../../observability/metrics';
import { temporalMetricsText } from '../../temporal/runtime';
import { route } from '../contract';

/**
 * An agent's id as a metric label: an id that is an email address (agents made before such ids were refused) is shown
 * as a short hash, so no personal data sits in Prometheus.
 */
export function agentLabel(agentId: string): string {
  return agentId.includes('@') ? `sha256:${createHash('sha256').update(agentId).digest('hex').slice(0, 16)}` : agentId;
}

/**
 * This process's routing metrics, and the state of the queue and of each agent as the database has it when scraped.
 */
export function metricsRegistry(db: Db): Registry {
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
  return Registry.merge([registry, now]);
}

/**
 * `GET /metrics` (a key of scope metrics or read): `metricsRegistry`, and the SDK's metrics when this process runs a
 * worker (npm start).
 */
export const metricsRoutes = [
  route<{ metrics: Registry }>()({
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    tag: 'Health',
    summary: 'Routing and SDK metrics, in Prometheus text format',
    access: { scopes: ['metrics', 'read'] },
    responses: {
      200: {
        description:
          "Conversations opened, CRM outcomes, respond.io calls, the queue and each agent's open conversations now; with `npm start` also the worker's: the SDK's metrics (`temporal_*`) and what the runs count (escalations, timeouts, time to assignment).",
        content: { schema: z.string(), mediaType: 'text/plain' },
      },
    },
    handle: async (_input, { metrics }, res) => {
      res.type(metrics.contentType).send(`${await metrics.metrics()}\n${await temporalMetricsText()}`);
    },
  }),
];
