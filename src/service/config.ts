import { resolve } from 'node:path';
import ms from 'ms';
import { z } from 'zod';
import { checkCrmEnvNames } from '../activities/crm';
import { parseRateLimit } from '../api/rate-limit';
import { RESPONDIO_API_URL } from '../respondio/client';
import { LOG_FORMAT } from '../observability/logger';
import { ConfigError, loadRoutingConfigFile, type RoutingConfig } from '../domain/routing-config';
import { temporalConnectionEnv } from '../temporal/connection';

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

export const envSchema = z.object({
  ...temporalConnectionEnv.shape,
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Where the worker process (npm run worker) serves GET /metrics. */
  VIP_ROUTER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  /** Runs a worker keeps in memory between their events; the others replay their (short) history at their next event. */
  VIP_ROUTER_WORKFLOW_CACHE: z.coerce.number().int().min(2).max(100_000).default(1000),
  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('vip-router'),
  TEMPORAL_PORT: z.coerce.number().int().min(0).max(65535).default(7233),
  TEMPORAL_UI_PORT: z.coerce.number().int().min(0).max(65535).default(8233),
  /** Temporal UI as an operator's browser reaches it; the operator page links histories there. npm start: its dev server's. */
  TEMPORAL_UI_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
  DATABASE_URL: optionalString,
  VIP_ROUTER_DATA_DIR: z.string().min(1).default('.data'),
  ROUTING_CONFIG: z.string().min(1).default('config/routing.yaml'),
  /** Where the CRM step reaches the built-in directory; defaults to this API's own address. */
  VIP_ROUTER_API_URL: optionalString,
  OUTBOUND_WEBHOOK_URL: optionalString.pipe(z.url().optional()),
  OUTBOUND_WEBHOOK_SECRET: optionalString,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  VIP_ROUTER_LOG_FORMAT: LOG_FORMAT.default('auto'),
  VIP_ROUTER_SEED_DEMO: z.enum(['0', '1']).default('1'),
  /** An admin key chosen by the operator (automation); unset, `npm start` makes one on first start and prints it. */
  VIP_ROUTER_BOOTSTRAP_API_KEY: optionalString,
  /** A key of scope codec chosen by the operator, for a Temporal UI that decodes through /codec/ui/<key>. */
  VIP_ROUTER_UI_CODEC_KEY: optionalString,
  /** The worker's key (scope read) for the built-in customer directory, which sits behind the API's keys. */
  VIP_ROUTER_API_KEY: optionalString,
  /** `accept`: the worker lets runs read unencrypted payloads, while runs started before encryption are open. */
  VIP_ROUTER_CODEC_PLAINTEXT: z.enum(['refuse', 'accept']).default('refuse'),
  /** The variables CRM headers may name as `${env:NAME}`, comma-separated; the service's own secrets are refused. */
  VIP_ROUTER_CRM_ENV: optionalString.transform((v, ctx) => {
    try {
      return checkCrmEnvNames((v ?? '').split(',').map((name) => name.trim()).filter(Boolean));
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  }),
  VIP_ROUTER_RATE_LIMIT: z.string().default('1200/1m').transform((value, ctx) => {
    try {
      return parseRateLimit(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  }),
  /** Browser origins allowed to call the codec endpoint (a Temporal UI elsewhere than npm start's). */
  VIP_ROUTER_CODEC_CORS_ORIGINS: optionalString.transform((v) => (v ?? '').split(',').map((origin) => origin.trim()).filter(Boolean)),
  /** The respond.io Developer API: set, every effect of a run goes to respond.io. */
  RESPONDIO_API_TOKEN: optionalString,
  RESPONDIO_API_URL: optionalString.pipe(z.url().optional()).transform((v) => v ?? RESPONDIO_API_URL),
  /** One signing key per webhook configured in respond.io, comma-separated. */
  RESPONDIO_WEBHOOK_SIGNING_KEYS: optionalString.transform((v) => (v ?? '').split(',').map((key) => key.trim()).filter(Boolean)),
  /** How often the agents are imported from respond.io's users (a Temporal Schedule). */
  RESPONDIO_AGENT_SYNC_INTERVAL: z.string().default('5m').transform((value, ctx) => {
    const parsed = ms(value as ms.StringValue);
    if (typeof parsed !== 'number' || !(parsed >= 60_000)) {
      ctx.addIssue({ code: 'custom', message: `not a duration of at least a minute: "${value}"` });
      return z.NEVER;
    }
    return parsed;
  }),
  /**
   * How long transcripts and handled webhook events are kept ("90d"); a Temporal Schedule deletes older ones hourly.
   * Unset: kept (webhook events for the 7-day dedupe window).
   */
  VIP_ROUTER_TRANSCRIPT_RETENTION: optionalString.transform((value, ctx) => {
    if (value === undefined) return undefined;
    const parsed = ms(value as ms.StringValue);
    if (typeof parsed !== 'number' || !(parsed >= 3_600_000)) {
      ctx.addIssue({ code: 'custom', message: `not a duration of at least an hour: "${value}" (e.g. "90d")` });
      return z.NEVER;
    }
    return parsed;
  }),
  /** respond.io team name → vip-router team, for names that differ: "VIP Support=vip,Soporte=support". */
  RESPONDIO_TEAM_MAP: optionalString.transform((v, ctx) => {
    const map: Record<string, string> = {};
    for (const pair of (v ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
      const at = pair.lastIndexOf('=');
      if (at <= 0 || at === pair.length - 1) {
        ctx.addIssue({ code: 'custom', message: `"${pair}" is not "respond.io team=vip-router team"` });
        return z.NEVER;
      }
      map[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
    }
    return map;
  }),
  /** The team of imported users who have none in respond.io. */
  RESPONDIO_DEFAULT_TEAM: z.string().trim().min(1).default('support'),
  /** Whether users new to vip-router start online (respond.io's API has no presence to copy). */
  RESPONDIO_NEW_AGENTS_ONLINE: z.enum(['0', '1']).default('1'),
});

export type Env = z.output<typeof envSchema>;

export interface ServiceConfig {
  env: Env;
  routing: RoutingConfig;
  /** The URL template of the built-in directory, for CRM steps with no url of their own. */
  directoryUrl: string;
}

export function parseEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const result = envSchema.safeParse(source);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `  - ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`environment is invalid:\n${problems.join('\n')}`);
  }
  return result.data;
}

/** Env and routing config, parsed and validated once at start. */
export function loadServiceConfig(source: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const env = parseEnv(source);
  const routing = loadRoutingConfigFile(resolve(env.ROUTING_CONFIG));
  return { env, routing, directoryUrl: directoryUrlFromEnv(env) };
}

/** The built-in directory is served by the API: VIP_ROUTER_API_URL, or this machine's API port. */
export function directoryUrlFromEnv(env: Env): string {
  return directoryUrlFor(env.VIP_ROUTER_API_URL ?? `http://127.0.0.1:${env.PORT}`);
}

export function directoryUrlFor(apiBaseUrl: string): string {
  return `${apiBaseUrl.replace(/\/+$/, '')}/v1/directory/customers?email={{email}}`;
}
