import ms from 'ms';
import { z } from 'zod';
import { MESSAGE_KEYS, type MessageSet, SHIPPED_MESSAGES } from './routing-texts';

/*
 * The routing config's schema: pure (no file system), so the workflow bundle checks a run's rules with the same
 * schema the API and the worker read routing.yaml with.
 */

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

const weekday = z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);
const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'use HH:MM, 24-hour');
const timeZone = z.string().refine(isTimeZone, 'not an IANA time zone (e.g. Europe/Madrid)');
const calendarDate = z.string().refine((date) => /^\d{4}-\d{2}-\d{2}$/.test(date) && new Date(`${date}T00:00:00Z`).toISOString().startsWith(date), 'not a date: use YYYY-MM-DD');

/** When the team is open for new conversations, in its own time zone; holidays are closed all day. */
const businessHoursSchema = z
  .strictObject({
    timezone: timeZone,
    days: z.array(weekday).min(1).default(['mon', 'tue', 'wed', 'thu', 'fri']),
    start: clock,
    end: clock,
    holidays: z.array(calendarDate).default([]),
    /** wait: a conversation opened while closed is held in the queue until the opening; route: assigned anyway. */
    outsideHours: z.enum(['wait', 'route']).default('wait'),
  })
  .refine((hours) => hours.start < hours.end, { path: ['end'], message: 'end must be after start (hours within one day)' });

/** A tier's own hours: `always` (open around the clock) or a block of its own in place of the global one. */
const tierBusinessHours = z.union([z.literal('always'), businessHoursSchema], { error: 'either "always" or a block like the global businessHours' });
/**
 * How long an assignee has to write to the contact before the conversation moves on (unset: no timer). At least a
 * second: shorter would take the conversation away before the assignee could see it.
 */
const firstResponse = duration.refine((value) => value >= 1_000, 'a first-response time is at least 1s (e.g. "5m")').optional();

/** One place the chain looks for someone, and how long it waits there before moving on. */
const chainLink = z.discriminatedUnion('kind', [
  /** The CRM's `accountManager`. */
  z.strictObject({ kind: z.literal('account_manager'), wait: duration.default(0) }),
  /** Whoever last served this contact, if within `withinDays`. */
  z.strictObject({ kind: z.literal('last_agent'), withinDays: z.number().positive().default(30), wait: duration.default(0) }),
  /** A configured dedicated agent. */
  z.strictObject({ kind: z.literal('agent'), agentId: z.string().min(1), wait: duration.default(0) }),
  z.strictObject({ kind: z.literal('team'), team: z.string().min(1), wait: duration.default(0) }),
  /** Any agent with the manager role. */
  z.strictObject({ kind: z.literal('manager'), wait: duration.default(0) }),
]);

/**
 * Queue aging: a waiting conversation's effective priority rises by `points` every `every` from when it joined the
 * queue, so a long wait eventually outranks a higher tier that just arrived.
 */
const agingSchema = z.strictObject({
  /** 0: this tier does not age, whatever queue.aging says. */
  points: z.number().int().min(0).max(100),
  every: duration.refine((every) => every >= 1_000, 'at least 1s'),
});

const tierSchema = z.strictObject({
  name: z.string().min(1),
  customerTypes: z.array(z.string().min(1)).min(1),
  /** Tried in order; a link's `wait` holds the conversation there (woken early by presence changes) before the next. */
  chain: z.array(chainLink).min(1),
  /** Served first when several conversations wait in the queue. */
  priority: z.number().int().default(0),
  businessHours: tierBusinessHours.optional(),
  firstResponse,
  /** This tier's own aging, instead of queue.aging. */
  aging: agingSchema.optional(),
});

/** Left out, the queue stays silent and strictly by priority: the key is absent, so runs carry what they did before. */
const queueSchema = z.strictObject({
  /** Tell a contact who joins the queue that they wait, and roughly how long; again every notifyEvery while queued. */
  notifyContact: z.boolean().default(false),
  notifyEvery: duration.refine((every) => every >= 60_000, 'at least 1m').default(ms('15m')),
  aging: agingSchema.optional(),
});


const shiftSchema = z
  .strictObject({
    /** An IANA time zone, e.g. Europe/Madrid. */
    timezone: timeZone,
    days: z.array(weekday).min(1).default(['mon', 'tue', 'wed', 'thu', 'fri']),
    start: clock,
    /** May be earlier than start: a night shift ends the next day. */
    end: clock,
  })
  .refine((shift) => shift.start !== shift.end, 'start and end must differ');

const teamSchema = z.strictObject({
  strategy: z.enum(['least_open', 'round_robin']).optional(),
  onlineOnly: z.boolean().optional(),
  /** Capacity of the team's agents who have none of their own. */
  defaultCapacity: z.number().int().min(0).optional(),
  /** Working hours: outside them the team gets no new conversations. */
  shift: shiftSchema.optional(),
  /** When the shift ends, its open conversations move to this team. */
  nextShiftTeam: z.string().min(1).optional(),
});

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

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

const language = z.string().regex(/^[a-z]{2,3}$/, 'a primary language subtag such as "es"');
const messageText = z.string().min(1).max(4_000);
const messageOverrides = z.strictObject(Object.fromEntries(MESSAGE_KEYS.map((key) => [key, messageText.optional()])) as Record<
  (typeof MESSAGE_KEYS)[number],
  z.ZodOptional<typeof messageText>
>);

const askEmailSchema = z
  .preprocess(
    (raw) => {
      // Before there were languages, `messages` held one set of texts: they are the fallback language's.
      if (raw === null || typeof raw !== 'object') return raw;
      const { messages, fallbackLanguage } = raw as { messages?: unknown; fallbackLanguage?: unknown };
      if (messages === null || typeof messages !== 'object' || !MESSAGE_KEYS.some((key) => key in messages)) return raw;
      return { ...raw, messages: { [typeof fallbackLanguage === 'string' ? fallbackLanguage : 'en']: messages } };
    },
    z.strictObject({
      maxReAsks: z.number().int().min(0).max(20).default(3),
      replyTimeout: duration.default(ms('24h')),
      onReplyTimeout: z.enum(['route_regular', 'escalate', 'close']).default('route_regular'),
      /** The language of contacts whose own language has no texts (or is unknown). */
      fallbackLanguage: language.default('en'),
      /** Per language, any of the texts; the shipped ones (en, es, pt) fill in the rest. */
      messages: z.record(language, messageOverrides).default({}),
    }),
  )
  .transform((askEmail, ctx) => {
    const shipped = SHIPPED_MESSAGES as Record<string, MessageSet>;
    const base = shipped[askEmail.fallbackLanguage] ?? { ...SHIPPED_MESSAGES.en, ...askEmail.messages[askEmail.fallbackLanguage] };
    const messages: Record<string, MessageSet> = {};
    for (const lang of new Set([...Object.keys(shipped), ...Object.keys(askEmail.messages)])) {
      const overrides = Object.fromEntries(Object.entries(askEmail.messages[lang] ?? {}).filter(([, text]) => text !== undefined));
      messages[lang] = { ...(shipped[lang] ?? base), ...overrides };
    }
    if (!shipped[askEmail.fallbackLanguage] && !askEmail.messages[askEmail.fallbackLanguage]) {
      ctx.addIssue({ code: 'custom', path: ['fallbackLanguage'], message: `no texts for ${askEmail.fallbackLanguage}: add them under messages` });
    }
    return { ...askEmail, messages };
  })
  .prefault({});

export const routingConfigSchema = z
  .strictObject({
    tiers: z
      .array(tierSchema)
      .default([
        {
          name: 'vip',
          customerTypes: ['VIP'],
          chain: [
            { kind: 'account_manager', wait: 0 },
            { kind: 'team', team: 'vip', wait: 0 },
            { kind: 'manager', wait: 0 },
          ],
          priority: 10,
        },
      ])
      .refine((tiers) => new Set(tiers.map((t) => t.name)).size === tiers.length, 'tier names must be unique'),
    regular: z
      .strictObject({
        name: z.string().min(1).default('regular'),
        chain: z.array(chainLink).min(1).default([{ kind: 'team', team: 'support', wait: 0 }]),
        priority: z.number().int().default(0),
        businessHours: tierBusinessHours.optional(),
        firstResponse,
        aging: agingSchema.optional(),
      })
      .prefault({}),
    queue: queueSchema.optional(),
    teams: z.record(z.string().min(1), teamSchema).default({}),
    assignment: z
      .strictObject({
        defaultStrategy: strategy.default('least_open'),
        onlineOnly: z.boolean().default(true),
        defaultCapacity: z.number().int().min(0).default(5),
        maxQueueWait: duration.default(ms('72h')),
        /** What happens to a conversation nobody picked up within maxQueueWait. */
        onQueueTimeout: z.enum(['escalate', 'close']).default('escalate'),
        /** An agent going offline hands their open conversations back to routing. */
        rerouteOnOffline: z.boolean().default(false),
      })
      .prefault({}),
    escalation: z.strictObject({ role: z.literal('manager').default('manager'), firstResponse }).prefault({}),
    askEmail: askEmailSchema,
    crm: crmSchema.prefault({}),
    /** Unset: always open. */
    businessHours: businessHoursSchema.optional(),
  })
  .superRefine((config, ctx) => {
    for (const [team, settings] of Object.entries(config.teams)) {
      if (settings.nextShiftTeam && !settings.shift) {
        ctx.addIssue({ code: 'custom', path: ['teams', team, 'nextShiftTeam'], message: 'a next shift needs a shift' });
      }
      if (settings.nextShiftTeam === team) {
        ctx.addIssue({ code: 'custom', path: ['teams', team, 'nextShiftTeam'], message: 'a team cannot hand over to itself' });
      }
    }
  });

export type RoutingConfigInput = z.input<typeof routingConfigSchema>;
export type RoutingConfig = z.output<typeof routingConfigSchema>;
export type ChainLink = z.output<typeof chainLink>;
export type ShiftConfig = z.output<typeof shiftSchema>;
export type BusinessHours = z.output<typeof businessHoursSchema>;
export type QueueAging = z.output<typeof agingSchema>;
export type CrmConfig = RoutingConfig['crm'];
export type AssignmentStrategy = z.output<typeof strategy>;
