import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, loadRoutingConfigFile, type RoutingConfig } from './routing-config';

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('vip-router'),
  TEMPORAL_PORT: z.coerce.number().int().min(0).max(65535).default(7233),
  TEMPORAL_UI_PORT: z.coerce.number().int().min(0).max(65535).default(8233),
  DATABASE_URL: optionalString,
  VIP_ROUTER_DATA_DIR: z.string().min(1).default('.data'),
  ROUTING_CONFIG: z.string().min(1).default('config/routing.yaml'),
  /** Where the CRM step reaches the built-in directory; defaults to this API's own address. */
  VIP_ROUTER_API_URL: optionalString,
  OUTBOUND_WEBHOOK_URL: optionalString.pipe(z.url().optional()),
  OUTBOUND_WEBHOOK_SECRET: optionalString,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  VIP_ROUTER_SEED_DEMO: z.enum(['0', '1']).default('1'),
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
