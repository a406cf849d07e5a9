import type { AssignmentStrategy, QueueAging, RoutingConfig } from './routing-config';

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
  /** Primary language subtag ("es", "pt"): the contact's messages are sent in it when configured. */
  language?: string | null;
}

export interface CloseRequest {
  reason?: string;
  /** Who closed it: the platform has closed its own conversation already; anyone else's close is mirrored there. */
  source?: 'api' | 'platform';
}

export interface PlatformAssigneeChange {
  /** The platform's event id: a redelivered event changes nothing twice. */
  eventId: string;
  /** Null: un-assigned. */
  assignee: PlatformUser | null;
}

/** A user of the messaging platform (a respond.io user), as an assignment there names them. */
export interface PlatformUser {
  userId?: string;
  email?: string;
  name?: string;
}

export interface RoutingInput {
  contact: ContactInput;
  /** The rules the run started with; later config edits do not reach a running conversation. */
  config: RoutingConfig;
  /**
   * The version of `config` in the registry of rule versions (absent in runs started before there was one): the
   * worker reads the CRM's endpoint, headers and mapping from there, never from this input.
   */
  rulesVersion?: string;
  /** The messaging platform the run's effects are mirrored to (absent in runs started before there was one). */
  platform?: 'respondio';
  /** The namespace has the routing search attributes: the run keeps them current. */
  searchAttributes?: boolean;
}

/** One place to look for someone, resolved for this conversation. */
export type AssignTarget =
  | { kind: 'agent'; agentId: string; via: 'account_manager' | 'last_agent' | 'dedicated_agent' | 'transfer' }
  | { kind: 'team'; team: string; strategy: AssignmentStrategy; onlineOnly: boolean; via: 'team' | 'transfer' | 'next_shift' }
  | { kind: 'role'; role: 'manager'; strategy: AssignmentStrategy; via: 'manager' | 'escalation' };

/** Everything the dispatcher needs to serve one waiting conversation; stored with its queue entry. */
export interface AssignmentRequest {
  conversationId: string;
  workflowId: string;
  contactId: string;
  tier: string;
  priority: number;
  /** Preferred first. */
  targets: AssignTarget[];
  /** For agent and manager targets; team targets carry their own. */
  onlineOnly: boolean;
  capacity: CapacityDefaults;
  note?: string;
  /** Not these agents, this time (one who just handed the conversation back). */
  excludeAgentIds?: string[];
  /** When the conversation was opened (ISO): its time to assignment is measured from here. */
  openedAt?: string;
  /**
   * Not served before this (ISO): opened outside business hours, the conversation holds its place in the queue
   * (its arrival, its priority) until the opening.
   */
  notBefore?: string;
  /** How the waiting conversation's priority rises with time in the queue (its tier's, else the queue's); none: it does not. */
  aging?: QueueAging;
}

/** An agent's capacity when they have none of their own: their team's default, else the fallback. */
export interface CapacityDefaults {
  byTeam: Record<string, number>;
  fallback: number;
}

export interface Assignee {
  agentId: string;
  name: string;
  team: string;
}

export interface AssignmentResult extends Assignee {
  /** `platform`: a person assigned it by hand in the messaging platform. */
  via: AssignTarget['via'] | 'platform';
  strategy: AssignmentStrategy | 'direct';
}

export interface TransferRequest {
  agentId?: string;
  team?: string;
  /** Past capacity (and, for an agent, presence). */
  force?: boolean;
  reason?: string;
}

export type TransferResult = { transferred: true; assignee: AssignmentResult } | { transferred: false; reason: string };

export type CrmOutcome = (
  | { outcome: 'found'; fields: Record<string, unknown>; status: number }
  | { outcome: 'not_found'; status: number }
  | { outcome: 'error'; retryable: boolean; reason: string; status?: number }
) & {
  /** Set when the CRM settings used were not the run's own (a run started before rule versions, with unrecorded ones). */
  note?: string;
};

export interface InboundMessage {
  messageId: string;
  text: string;
  timestamp?: string;
}

export interface Decision {
  step: string;
  detail: string;
}

/** Where the assignment chain stands while nobody has been assigned yet. */
export interface ChainPosition {
  step: number;
  steps: string[];
  /** ISO time when this step's wait (or the queue's maximum wait) ends. */
  until: string;
}

export interface ConversationStatus {
  contactId: string;
  conversationId: string;
  state: ConversationState;
  customerType?: string;
  tier?: string;
  assignee?: Assignee;
  chain?: ChainPosition;
  invalidReplies: number;
  path: string[];
  decisions: Decision[];
  reason?: string;
  /** Held outside business hours (state `queued`): when the team opens and routing goes on (ISO). */
  opensAt?: string;
}

export type OutboundKind = 'question' | 'invalid_reply' | 'success' | 'escalation_note' | 'out_of_hours' | 'first_response_note' | 'queue_notice';

/** A person's message to the contact (an agent's, never automation's), told to the run while it awaits a first response. */
export interface AgentMessage {
  messageId: string;
  /** Our agent's id; a platform user who is not one of our agents as `respondio:<userId>`. */
  agentId: string;
}
