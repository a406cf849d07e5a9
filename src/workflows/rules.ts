import type { BusinessHours, ChainLink, QueueAging, RoutingConfig } from '../domain/routing-config';
import type { AssignmentResult, AssignTarget, CapacityDefaults, PlatformUser } from '../domain/conversation';

// Deliberately stricter than RFC 5322: a routing service wants addresses people actually use
// (local@domain.tld), not quoted local parts or IP literals.
const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,63}$/;

export function isValidEmail(candidate: string): boolean {
  return candidate.length <= 254 && EMAIL.test(candidate) && !candidate.split('@')[0]!.startsWith('.') && !candidate.includes('..');
}

/**
 * The email in a contact's reply: the whole reply, or the one address inside a sentence such as
 * "sure, it's ana@example.com". Two different addresses are ambiguous and count as invalid.
 */
export function extractEmail(reply: string): string | undefined {
  const trimmed = reply.trim().replace(/^<|>$/g, '');
  if (isValidEmail(trimmed)) return trimmed.toLowerCase();
  const found = new Set(
    trimmed
      .split(/[\s,;:<>()"']+/)
      .map((token) => token.replace(/[.!?]+$/, ''))
      .filter(isValidEmail)
      .map((token) => token.toLowerCase()),
  );
  return found.size === 1 ? [...found][0] : undefined;
}

export interface Tier {
  name: string;
  priority: number;
  chain: ChainLink[];
  /** How long an assignee has for their first message to the contact (unset: no timer). */
  firstResponse?: number;
  businessHours?: BusinessHours | 'always';
  aging?: QueueAging;
}

/** How the tier's waiting conversations age in the queue: its own aging, else the queue's; none when neither is set. */
export function agingOf(tier: Pick<Tier, 'aging'>, config: RoutingConfig): QueueAging | undefined {
  return tier.aging ?? config.queue?.aging;
}

/** The hours a tier's conversations are routed in: its own, else the global ones; undefined when always open. */
export function businessHoursOf(tier: Tier, config: RoutingConfig): BusinessHours | undefined {
  const hours = tier.businessHours ?? config.businessHours;
  return hours === 'always' ? undefined : hours;
}

export function tierFor(customerType: unknown, config: RoutingConfig): Tier {
  const tier = typeof customerType === 'string' ? config.tiers.find((t) => t.customerTypes.includes(customerType)) : undefined;
  return tier ?? config.regular;
}

/** A link of a tier's chain made concrete for one conversation: whom to ask, and how long to wait there. */
export interface ResolvedLink {
  target: AssignTarget;
  wait: number;
}

export interface ChainContext {
  crmFields: Record<string, unknown>;
  /** Who last served this contact within the link's window, when the chain asks for it. */
  lastAgentId?: string | null;
}

export function teamTarget(team: string, config: RoutingConfig, via: 'team' | 'transfer' | 'next_shift' = 'team'): AssignTarget {
  const settings = config.teams[team];
  return {
    kind: 'team',
    team,
    strategy: settings?.strategy ?? config.assignment.defaultStrategy,
    onlineOnly: settings?.onlineOnly ?? config.assignment.onlineOnly,
    via,
  };
}

/** The tier's chain for this contact; links that name nobody (no account manager in the CRM) drop out. */
export function resolveChain(chain: ChainLink[], context: ChainContext, config: RoutingConfig): ResolvedLink[] {
  return chain.flatMap((link): ResolvedLink[] => {
    const target = resolveTarget(link, context, config);
    return target ? [{ target, wait: link.wait }] : [];
  });
}

function resolveTarget(link: ChainLink, context: ChainContext, config: RoutingConfig): AssignTarget | undefined {
  switch (link.kind) {
    case 'account_manager': {
      const manager = context.crmFields['accountManager'];
      return typeof manager === 'string' && manager !== '' ? { kind: 'agent', agentId: manager, via: 'account_manager' } : undefined;
    }
    case 'last_agent':
      return context.lastAgentId ? { kind: 'agent', agentId: context.lastAgentId, via: 'last_agent' } : undefined;
    case 'agent':
      return { kind: 'agent', agentId: link.agentId, via: 'dedicated_agent' };
    case 'team':
      return teamTarget(link.team, config);
    case 'manager':
      return { kind: 'role', role: config.escalation.role, strategy: config.assignment.defaultStrategy, via: 'manager' };
  }
}

export function escalationChain(config: RoutingConfig): ResolvedLink[] {
  return [{ target: { kind: 'role', role: config.escalation.role, strategy: config.assignment.defaultStrategy, via: 'escalation' }, wait: 0 }];
}

/** The first-response time of a conversation given out by `routedBy`: the escalation path's, else the tier's. */
export function firstResponseTime(config: RoutingConfig, tier: Tier, routedBy: AssignmentResult): number | undefined {
  return routedBy.via === 'escalation' ? config.escalation.firstResponse : tier.firstResponse;
}

const DURATION_WORDS: Record<string, readonly string[]> = {
  en: ['second', 'seconds', 'minute', 'minutes', 'hour', 'hours'],
  es: ['segundo', 'segundos', 'minuto', 'minutos', 'hora', 'horas'],
  pt: ['segundo', 'segundos', 'minuto', 'minutos', 'hora', 'horas'],
};

/** "5 minutes", "5 minutos": in whole hours or minutes when it is one, else seconds; other languages in English. */
export function durationInWords(ms: number, language = 'en'): string {
  const words = DURATION_WORDS[language] ?? DURATION_WORDS['en']!;
  const [value, unit] = ms % 3_600_000 === 0 ? [ms / 3_600_000, 2] : ms % 60_000 === 0 ? [ms / 60_000, 1] : [Math.round(ms / 1000), 0];
  return `${value} ${words[unit * 2 + (value === 1 ? 0 : 1)]}`;
}

/**
 * Where a conversation goes when its assignee let the first-response time pass: the links of the chain after the one
 * that gave it to them (after the last, or on the escalation path, the escalation path). A transferred or handed-over
 * conversation moves on from the link that last gave it out by routing.
 */
export function stepsAfter(chain: ResolvedLink[], routedBy: AssignmentResult, config: RoutingConfig): { steps: ResolvedLink[]; escalates: boolean } {
  if (routedBy.via === 'escalation') return { steps: escalationChain(config), escalates: false };
  const at = chain.findIndex((link) => servedBy(link.target, routedBy));
  // Not given out by the chain (a person assigned it by hand, then it was transferred): the chain from its start.
  const rest = at < 0 ? chain : chain.slice(at + 1);
  return rest.length > 0 ? { steps: rest, escalates: false } : { steps: escalationChain(config), escalates: true };
}

function servedBy(target: AssignTarget, assigned: AssignmentResult): boolean {
  switch (target.kind) {
    case 'agent':
      return target.agentId === assigned.agentId;
    case 'team':
      return target.team === assigned.team && target.via === assigned.via;
    case 'role':
      return target.via === assigned.via;
  }
}

export function capacityDefaults(config: RoutingConfig): CapacityDefaults {
  const byTeam: Record<string, number> = {};
  for (const [team, settings] of Object.entries(config.teams)) {
    if (settings.defaultCapacity !== undefined) byTeam[team] = settings.defaultCapacity;
  }
  return { byTeam, fallback: config.assignment.defaultCapacity };
}

export function describeTarget(target: AssignTarget): string {
  switch (target.kind) {
    case 'agent':
      return `${target.via.replace('_', ' ')} ${target.agentId}`;
    case 'team':
      return `team ${target.team}`;
    case 'role':
      return `any ${target.role}`;
  }
}

/** Wait before CRM attempt `attempt + 1`: exponential, capped. */
export function crmBackoff(attempt: number, retry: RoutingConfig['crm']['retry']): number {
  return Math.min(retry.initialInterval * retry.backoffCoefficient ** (attempt - 1), retry.maxInterval);
}

/** A platform user who is not one of our agents, as the run shows them: the conversation is theirs, counted nowhere. */
export function platformAssignee(user: PlatformUser): AssignmentResult {
  const ref = user.userId ?? user.email ?? 'unknown';
  return { agentId: `respondio:${ref}`, name: user.name ?? user.email ?? `respond.io user ${ref}`, team: '', via: 'platform', strategy: 'direct' };
}
