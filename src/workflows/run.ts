import { condition } from '@temporalio/workflow';
import type { ContactInput, ConversationState, ConversationStatus, InboundMessage, TransferRequest, TransferResult } from './types';

export interface PendingTransfer {
  request: TransferRequest;
  result?: TransferResult;
}

/** What one routing run knows and is waiting for; the state query answers `status`. */
export class Run {
  readonly status: ConversationStatus;
  readonly inbox: InboundMessage[] = [];
  readonly seenMessageIds = new Set<string>();
  readonly transfers: PendingTransfer[] = [];
  closed = false;
  /** Bumped by every assignmentChanged signal, so a wait can tell that something happened since it began. */
  assignmentChanges = 0;
  rerouteRequested = false;

  constructor(contact: ContactInput, conversationId: string) {
    this.status = { contactId: contact.id, conversationId, state: 'checking_email', invalidReplies: 0, path: [], decisions: [] };
  }

  enter(state: ConversationState): void {
    this.status.state = state;
  }

  step(name: string, detail?: string): void {
    this.status.path.push(name);
    if (detail) this.status.decisions.push({ step: name, detail });
  }

  /** Waits like sleep, but a close ends the wait at once; true when closed. */
  pause(ms: number): Promise<boolean> {
    return condition(() => this.closed, ms);
  }
}
