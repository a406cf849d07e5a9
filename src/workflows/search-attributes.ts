import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * What a conversation shows in Temporal's visibility, kept current by its run: "escalated VIP conversations" is one
 * filter in Temporal UI and one `temporal workflow list --query`. Registered on the namespace before use (npm start
 * does it on its dev server; production: `temporal operator search-attribute create`, see README).
 */
export const CUSTOMER_TYPE = defineSearchAttributeKey('CustomerType', SearchAttributeType.KEYWORD);
export const TIER = defineSearchAttributeKey('Tier', SearchAttributeType.KEYWORD);
export const ROUTING_STATE = defineSearchAttributeKey('RoutingState', SearchAttributeType.KEYWORD);
export const ASSIGNEE_ID = defineSearchAttributeKey('AssigneeId', SearchAttributeType.KEYWORD);
export const ESCALATED = defineSearchAttributeKey('Escalated', SearchAttributeType.BOOL);

/** Name → the type `temporal operator search-attribute create --type` and the dev server's --search-attribute take. */
export const ROUTING_SEARCH_ATTRIBUTES = {
  CustomerType: 'Keyword',
  Tier: 'Keyword',
  RoutingState: 'Keyword',
  AssigneeId: 'Keyword',
  Escalated: 'Bool',
} as const;
