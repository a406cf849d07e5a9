import { Counter, Registry } from 'prom-client';

/**
 * The routing metrics of this process, in Prometheus' text format at GET /metrics (the API's, and the worker's own
 * endpoint). Counters count what happened in this process: Prometheus sums the processes. What the runs count
 * (escalations, timeouts, time to assignment, effects given up) comes through the SDK's meter: see `src/workflows/run-metrics.ts`.
 */
export const registry = new Registry();

export const conversationsOpened = new Counter({
  name: 'vip_router_conversations_opened_total',
  help: 'Conversations whose routing started, by where they came from',
  labelNames: ['source'] as const,
  registers: [registry],
});

export const crmRequests = new Counter({
  name: 'vip_router_crm_requests_total',
  help: 'CRM lookups by outcome (found, not_found, error)',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const platformCalls = new Counter({
  name: 'vip_router_respondio_calls_total',
  help: 'Calls to respond.io by endpoint and outcome (ok, rate_limited, server, network, timeout, rejected)',
  labelNames: ['endpoint', 'outcome'] as const,
  registers: [registry],
});

export const apiKeyReads = new Counter({
  name: 'vip_router_api_key_reads_total',
  help: 'API keys looked up in the database (found, unknown): what a flood of wrong keys costs the database',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const authenticationsRefused = new Counter({
  name: 'vip_router_authentications_refused_total',
  help: 'Requests refused before their key was read (malformed, known_unknown, throttled, busy) or after (unknown)',
  labelNames: ['reason'] as const,
  registers: [registry],
});
