import { readFileSync } from 'node:fs';
import ms from 'ms';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** A duration written as "24h", "500ms", "3d" or a number of milliseconds, held as milliseconds. */
const duration = z.union([z.number().int().nonnegative(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const parsed = ms(value as ms.StringValue);
  if (typeof parsed !== 'number' || !Number.isFinite(parsed) || parsed < 0) {
    ctx.addIssue({ code: 'custom', message: `not a duration: "${value}" (use e.g. "500ms", "30s", "24h", "3d")` });
    return z.NEVER;
  }
  return parsed;
});

const strategy = z.enum(['least_open', 'round_robin']);

const tierSchema = z.strictObject({
  name: z.string().min(1),
  customerTypes: z.array(z.string().min(1)).min(1),
  /** Try the CRM's account manager first. */
  useAccountManager: z.boolean().default(false),
  /** A configured dedicated agent, tried when the CRM names no account manager. */
  dedicatedAgentId: z.string().min(1).optional(),
  teams: z.array(z.string().min(1)).default([]),
  managerFallback: z.boolean().default(false),
  /** Served first when several conversations wait in the queue. */
  priority: z.number().int().default(0),
});

const crmSchema = z.strictObject({
  method: z.enum(['GET', 'POST', 'PUT']).default('GET'),
  /**
   * `{{email}}`, `{{contact.id}}`, `{{contact.phone}}`… are replaced (URL-encoded) when the step runs.
   * Unset: the service's built-in customer directory, wherever the worker is told it lives — a deployment
   * detail, so it is not frozen into the runs.
   */
  url: z.string().min(1).optional(),
  /** Values may name environment variables as `${env:NAME}`; they are resolved inside the activity so
   *  secrets never enter workflow history. */
  headers: z.record(z.string(), z.string()).default({}),
  body: z.string().optional(),
  timeout: duration.default(5_000),
  mapping: z.record(z.string(), z.string().startsWith('$')).default({
    customerType: '$.customerType',
    accountManager: '$.accountManager',
    name: '$.name',
  }),
  retry: z
    .strictObject({
      maxAttempts: z.number().int().min(1).max(50).default(5),
      initialInterval: duration.default(1_000),
      backoffCoefficient: z.number().min(1).default(2),
      maxInterval: duration.default(30_000),
    })
    .prefault({}),
});

export const routingConfigSchema = z.strictObject({
  tiers: z
    .array(tierSchema)
    .default([
      {
        name: 'vip',
        customerTypes: ['VIP'],
        useAccountManager: true,
        teams: ['vip'],
        managerFallback: true,
        priority: 10,
      },
    ])
    .refine((tiers) => new Set(tiers.map((t) => t.name)).size === tiers.length, 'tier names must be unique'),
  regular: z
    .strictObject({
      name: z.string().min(1).default('regular'),
      teams: z.array(z.string().min(1)).min(1).default(['support']),
      priority: z.number().int().default(0),
    })
    .prefault({}),
  assignment: z
    .strictObject({
      defaultStrategy: strategy.default('least_open'),
      teamStrategies: z.record(z.string(), strategy).default({}),
      onlineOnly: z.boolean().default(true),
      maxQueueWait: duration.default(ms('72h')),
      /** What happens to a conversation nobody picked up within maxQueueWait. */
      onQueueTimeout: z.enum(['escalate', 'close']).default('escalate'),
    })
    .prefault({}),
  escalation: z.strictObject({ role: z.literal('manager').default('manager') }).prefault({}),
  askEmail: z
    .strictObject({
      maxReAsks: z.number().int().min(0).max(20).default(3),
      replyTimeout: duration.default(ms('24h')),
      onReplyTimeout: z.enum(['route_regular', 'escalate', 'close']).default('route_regular'),
      messages: z
        .strictObject({
          question: z.string().min(1).default('Hello! To route you to the right person, could you share your email address?'),
          invalid: z.string().min(1).default("That doesn't look like an email address. Could you send it again? (e.g. name@example.com)"),
          success: z.string().min(1).default('Thanks! We saved your email and are connecting you with an agent.'),
          escalationNote: z
            .string()
            .min(1)
            .default('Escalated: the contact sent {{invalidReplies}} replies that were not a valid email address.'),
        })
        .prefault({}),
    })
    .prefault({}),
  crm: crmSchema.prefault({}),
});

export type RoutingConfigInput = z.input<typeof routingConfigSchema>;
export type RoutingConfig = z.output<typeof routingConfigSchema>;
export type TierConfig = RoutingConfig['tiers'][number];
export type CrmConfig = RoutingConfig['crm'];
export type AssignmentStrategy = z.output<typeof strategy>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validates a routing config object; the error lists every problem with its path. */
export function parseRoutingConfig(raw: unknown, source = 'routing config'): RoutingConfig {
  const result = routingConfigSchema.safeParse(raw ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `  - ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new ConfigError(`${source} is invalid:\n${problems.join('\n')}`);
  }
  return result.data;
}

export function loadRoutingConfigFile(path: string): RoutingConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new ConfigError(`cannot read routing config ${path}`, { cause });
  }
  return parseRoutingConfig(parseYaml(text), path);
}
