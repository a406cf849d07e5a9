import { ActivityFailure, condition } from '@temporalio/workflow';
import type {
  ContactInput,
  ConversationState,
  ConversationStatus,
  InboundMessage,
  PlatformAssigneeChange,
  TransferRequest,
  TransferResult,
} from '../domain';

export interface PendingTransfer {
  request: TransferRequest;
  result?: TransferResult;
}

/** Platform event ids remembered to drop redeliveries; older ones are long settled. */
const SEEN_PLATFORM_EVENTS = 50;
/**
 * Message ids remembered to drop redeliveries while the run still reads messages (the API stops signalling once
 * it does not); a redelivery comes within minutes, long before this many newer messages.
 */
const SEEN_MESSAGES = 200;

/** What one routing run knows and is waiting for; the state query answers `status`. */
export class Run {
  readonly status: ConversationStatus;
  readonly inbox: InboundMessage[] = [];
  private readonly seenMessageIds = new Set<string>();
  readonly transfers: PendingTransfer[] = [];
  closed = false;
  /** Who ended the conversation: the platform closed it itself; an API close or the run's own is mirrored there. */
  closedBy?: 'api' | 'platform' | 'run';
  /** Bumped by every assignmentChanged signal, so a wait can tell that something happened since it began. */
  assignmentChanges = 0;
  rerouteRequested = false;
  /** A newer conversation of the contact opened after this one ended: the close's effects are not sent. */
  reopened = false;
  /** The latest assignee a person set in the platform by hand, not yet acted on. */
  platformChange?: PlatformAssigneeChange;
  private readonly seenPlatformEvents: string[] = [];

  constructor(contact: ContactInput, conversationId: string) {
    this.status = { contactId: contact.id, conversationId, state: 'checking_email', invalidReplies: 0, path: [], decisions: [] };
  }

  /** Told of every state entered, a repeated one included (the run's visibility follows it). */
  onEnter: () => void = () => undefined;

  enter(state: ConversationState): void {
    this.status.state = state;
    this.onEnter();
  }

  step(name: string, detail?: string): void {
    this.status.path.push(name);
    if (detail) this.status.decisions.push({ step: name, detail });
  }

  /** Whether the flow still reads the contact's messages (it stops once it no longer asks for the email). */
  readingMessages = true;

  /** A message of the contact; a redelivered one (same id) counts once. */
  receive(message: InboundMessage): void {
    if (!this.readingMessages || this.seenMessageIds.has(message.messageId)) return;
    this.seenMessageIds.add(message.messageId);
    if (this.seenMessageIds.size > SEEN_MESSAGES) this.seenMessageIds.delete(this.seenMessageIds.values().next().value!);
    this.inbox.push(message);
  }

  close(by: NonNullable<Run['closedBy']>): void {
    this.closed = true;
    this.closedBy ??= by;
  }

  /** Only the latest change counts: two quick re-assignments by hand end with the second person. */
  platformAssigneeChanged(change: PlatformAssigneeChange): void {
    if (this.seenPlatformEvents.includes(change.eventId)) return;
    this.seenPlatformEvents.push(change.eventId);
    if (this.seenPlatformEvents.length > SEEN_PLATFORM_EVENTS) this.seenPlatformEvents.shift();
    this.platformChange = change;
  }

  takePlatformChange(): PlatformAssigneeChange | undefined {
    const change = this.platformChange;
    this.platformChange = undefined;
    return change;
  }

  /** A person assigned the conversation by hand in the platform: the flow stops asking and routing. */
  get takenOver(): boolean {
    return this.platformChange?.assignee != null;
  }

  /** Waits like sleep, but a close ends the wait at once; true when closed. */
  pause(ms: number): Promise<boolean> {
    return condition(() => this.closed, ms);
  }
}

/** Why an activity failed, in the words of the failure it raised rather than the SDK's wrapper. */
export function failureReason(error: unknown): string {
  if (error instanceof ActivityFailure) return error.cause?.message ?? error.message;
  return error instanceof Error ? error.message : String(error);
}
