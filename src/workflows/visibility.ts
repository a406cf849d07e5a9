import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { ConversationStatus } from '../domain/conversation';
import { ASSIGNEE_ID, CUSTOMER_TYPE, ESCALATED, ROUTING_STATE, TIER } from './search-attributes';

/** States an operator looks for; the ones in between (checking, fetching, assigning) last a moment. */
const SHOWN: ReadonlySet<ConversationStatus['state']> = new Set(['asking_email', 'queued', 'assigned', 'escalated', 'closed', 'failed']);

/** The line Temporal UI shows for a run: "VIP · assigned to Alex", "asking for the email", "queued"… */
function describeStatus(status: ConversationStatus): string {
  const tier = status.tier ? `${status.tier.toUpperCase() === 'VIP' ? 'VIP' : status.tier} · ` : '';
  switch (status.state) {
    case 'assigned':
    case 'escalated':
      return `${tier}${status.state} to ${status.assignee?.name ?? status.assignee?.agentId ?? 'someone'}`;
    case 'asking_email':
      return `asking for the email${status.invalidReplies ? ` (${status.invalidReplies} invalid)` : ''}`;
    case 'failed':
      return `failed: ${status.reason ?? 'see decisions'}`;
    default:
      return `${tier}${status.state.replace('_', ' ')}`;
  }
}

/**
 * Keeps what Temporal's visibility shows of the run current: its search attributes (only those that changed, only
 * at the states worth filtering on) when the namespace has them and the run was started knowing so, and the
 * current-details line always (it costs no event). Runs recorded before replay without the upserts.
 */
export function visibility(upserts: boolean): (status: ConversationStatus) => void {
  const shown: Record<string, string | boolean | undefined> = {};
  return (status) => {
    setCurrentDetails(describeStatus(status));
    if (!upserts || !SHOWN.has(status.state)) return;
    const wanted = {
      RoutingState: status.state,
      Tier: status.tier,
      CustomerType: status.customerType,
      AssigneeId: status.assignee?.agentId,
      Escalated: status.state === 'escalated' ? true : undefined,
    };
    const changed = Object.entries(wanted).filter(([name, value]) => value !== undefined && shown[name] !== value);
    if (changed.length === 0) return;
    for (const [name, value] of changed) shown[name] = value;
    const keys = { RoutingState: ROUTING_STATE, Tier: TIER, CustomerType: CUSTOMER_TYPE, AssigneeId: ASSIGNEE_ID } as const;
    upsertSearchAttributes(
      changed.map(([name, value]) =>
        name === 'Escalated' ? { key: ESCALATED, value: value as boolean } : { key: keys[name as keyof typeof keys], value: value as string },
      ),
    );
  };
}
