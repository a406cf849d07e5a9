import type { AssignmentStrategy, RoutingConfig } from '../routing-config';

/** The states of SPEC's API, in the order a conversation usually meets them. */
export type ConversationState =
  | 'checking_email'
  | 'asking_email'
  | 'fetching_crm'
  | 'assigning'
  | 'queued'
  | 'assigned'
  | 'escalated'
  | 'closed'
  | 'failed';

export interface ContactInput {
  id: string;
  firstName?: string | null;
  lastName?: string | null;
  email?: string | null;
  phone?: string | null;
  channel?: string | null;
}

export interface RoutingInput {
  contact: ContactInput;
  /** The rules the run started with; later config edits do not reach a running conversation. */
  config: RoutingConfig;
}

/** One place to look for someone, in the order the chain tries them. */
export type AssignTarget =
  | { kind: 'agent'; agentId: string; via: 'account_manager' | 'dedicated_agent' }
  | { kind: 'team'; team: string; strategy: AssignmentStrategy; via: 'team' }
  | { kind: 'role'; role: 'manager'; strategy: AssignmentStrategy; via: 'manager' | 'escalation' };

export interface Assignee {
  agentId: string;
  name: string;
  team: string;
}

export interface AssignmentResult extends Assignee {
  via: AssignTarget['via'];
  strategy: AssignmentStrategy | 'direct';
}

export type CrmOutcome =
  | { outcome: 'found'; fields: Record<string, unknown>; status: number }
  | { outcome: 'not_found'; status: number }
  | { outcome: 'error'; retryable: boolean; reason: string; status?: number };

export interface InboundMessage {
  messageId: string;
  text: string;
  timestamp?: string;
}

export interface Decision {
  step: string;
  detail: string;
}

export interface ConversationStatus {
  contactId: string;
  conversationId: string;
  state: ConversationState;
  customerType?: string;
  tier?: string;
  assignee?: Assignee;
  invalidReplies: number;
  path: string[];
  decisions: Decision[];
  reason?: string;
}

export type OutboundKind = 'question' | 'invalid_reply' | 'success' | 'escalation_note';
