import type { RoutingConfig, TierConfig } from '../routing-config';
import type { AssignTarget } from './types';

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
  config?: TierConfig;
}

export function tierFor(customerType: unknown, config: RoutingConfig): Tier {
  const tier = typeof customerType === 'string' ? config.tiers.find((t) => t.customerTypes.includes(customerType)) : undefined;
  if (tier) return { name: tier.name, priority: tier.priority, config: tier };
  return { name: config.regular.name, priority: config.regular.priority };
}

function strategyFor(team: string, config: RoutingConfig) {
  return config.assignment.teamStrategies[team] ?? config.assignment.defaultStrategy;
}

/** Who to try, in order, for a contact of this tier. */
export function assignmentChain(tier: Tier, crmFields: Record<string, unknown>, config: RoutingConfig): AssignTarget[] {
  const teams = tier.config ? tier.config.teams : config.regular.teams;
  const chain: AssignTarget[] = [];
  const accountManager = crmFields['accountManager'];
  if (tier.config?.useAccountManager && typeof accountManager === 'string' && accountManager !== '') {
    chain.push({ kind: 'agent', agentId: accountManager, via: 'account_manager' });
  }
  if (tier.config?.dedicatedAgentId) {
    chain.push({ kind: 'agent', agentId: tier.config.dedicatedAgentId, via: 'dedicated_agent' });
  }
  for (const team of teams) chain.push({ kind: 'team', team, strategy: strategyFor(team, config), via: 'team' });
  if (tier.config?.managerFallback) {
    chain.push({ kind: 'role', role: config.escalation.role, strategy: config.assignment.defaultStrategy, via: 'manager' });
  }
  return chain;
}

export function escalationChain(config: RoutingConfig): AssignTarget[] {
  return [{ kind: 'role', role: config.escalation.role, strategy: config.assignment.defaultStrategy, via: 'escalation' }];
}

/** Wait before CRM attempt `attempt + 1`: exponential, capped. */
export function crmBackoff(attempt: number, retry: RoutingConfig['crm']['retry']): number {
  return Math.min(retry.initialInterval * retry.backoffCoefficient ** (attempt - 1), retry.maxInterval);
}
