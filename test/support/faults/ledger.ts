import type { ConversationState } from '../../../src/domain/conversation';

/** What a conversation should end as, given what its case did to it. */
export interface Expectation {
  /** Acceptable final states (usually one). */
  states: ConversationState[];
  /** The assignee must be one of these agents. */
  agentIds?: string[];
  /** The assignee's team. */
  team?: string;
  /** The CRM's customerType the run must report; null: none reported. */
  customerType?: string | null;
  /** Words the run's `reason` must contain (e.g. why the CRM step gave up). */
  reasonIncludes?: string;
  /** Steps the run's path must contain. */
  pathIncludes?: string[];
  invalidReplies?: number;
}

export interface Conversation {
  contactId: string;
  /** What kind of contact: `vip`, `regular`, `ask-valid`, `crm-500`… (shown in failure details). */
  label: string;
  expect: Expectation;
}

/** A request the service answered 2xx: from then on it must not be lost. */
export interface Accepted {
  contactId: string;
  via: string;
  status: number;
}

export interface AcceptedMessage extends Accepted {
  messageId: string;
}

export interface AcceptedWebhook extends Accepted {
  eventId: string;
  eventType: string;
  /** For message.received: respond.io's message id, which the transcript keeps. */
  messageId?: string;
  duplicate: boolean;
}

/**
 * Everything a case started and sent, and what the senders saw: the auditor checks the service against it.
 */
export class Ledger {
  readonly conversations = new Map<string, Conversation>();
  readonly triggers: Accepted[] = [];
  readonly messages: AcceptedMessage[] = [];
  readonly webhooks: AcceptedWebhook[] = [];
  readonly closes: Accepted[] = [];
  /** What senders saw short of acceptance, by kind: `POST /v1/conversations: 503 …`, `network error: other side closed`. */
  readonly senderSaw = new Map<string, number>();
  /** Measurements and observations for the report. */
  readonly notes: string[] = [];
  /** What a case saw go wrong on the way (a run that should not exist, an event never applied): each fails the case. */
  readonly problems: string[] = [];

  expect(conversation: Conversation): Conversation {
    this.conversations.set(conversation.contactId, conversation);
    return conversation;
  }

  /** Changes what a conversation should end as (e.g. the case closed it). */
  reexpect(contactId: string, expect: Expectation): void {
    const conversation = this.conversations.get(contactId);
    if (!conversation) throw new Error(`unknown conversation ${contactId}`);
    conversation.expect = expect;
  }

  saw(what: string): void {
    this.senderSaw.set(what, (this.senderSaw.get(what) ?? 0) + 1);
  }

  note(line: string): void {
    this.notes.push(line);
  }

  /** A note that is a failure: reported with the problems, and the case fails. */
  problem(line: string): void {
    this.problems.push(line);
  }
}
