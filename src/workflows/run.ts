import { ActivityFailure, condition, log } from '@temporalio/workflow';
import type {
  AgentMessage,
  Assignee,
  ChainPosition,
  CloseRequest,
  ContactInput,
  ConversationState,
  ConversationStatus,
  InboundMessage,
  PlatformAssigneeChange,
  TransferRequest,
  TransferResult,
} from '../domain/conversation';
import { FirstResponseClock } from './first-response-clock';
import { agentMessageSchema, inboundMessageSchema, signalRefusal } from './input';

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

interface RunOptions {
  /** Signal arguments are checked as the API checks what it sends (runs since the input-checked patch). */
  inputChecked: boolean;
  /** An assignee who goes offline hands the conversation back to routing. */
  rerouteOnOffline: boolean;
  /** Told of every state entered, a repeated one included (the run's visibility follows it). */
  onEnter: (status: ConversationStatus) => void;
}

/**
 * What one routing run knows and is waiting for, changed only through its methods: the handlers of the run's
 * signals and update (first below), then what the routing steps tell it. The state query answers `status`.
 */
export class Run {
  private readonly current: ConversationStatus;
  private readonly inbox: InboundMessage[] = [];
  private readonly seenMessageIds = new Set<string>();
  private readonly seenPlatformEvents: string[] = [];
  private readonly transfers: PendingTransfer[] = [];
  private isClosed = false;
  private closer?: 'api' | 'platform' | 'run';
  private changes = 0;
  private rerouteRequested = false;
  private wasReopened = false;
  /** The latest assignee a person set in the platform by hand, not yet acted on. */
  private platformChange?: PlatformAssigneeChange;
  /** Whether the flow still reads the contact's messages (it stops once it no longer asks for the email). */
  private readingMessages = true;
  private assignedBefore = false;
  /** Counts the run's transfers and hand-overs: each one's key, so a retried activity recognises its own move. */
  private moves = 0;
  private toldOutOfHours = false;
  /** The assignee's first message to the contact, awaited while a tier's first-response time runs. */
  readonly firstResponse = new FirstResponseClock();
  /** Counts the queue notices sent: each one's send key. */
  private queueNotices = 0;

  constructor(
    contact: ContactInput,
    conversationId: string,
    private readonly options: RunOptions,
  ) {
    this.current = { contactId: contact.id, conversationId, state: 'checking_email', invalidReplies: 0, path: [], decisions: [] };
  }

  // The handlers: a signal whose argument the codec refused (or, in runs that check, the API would not send) changes nothing.

  messageReceived(message: InboundMessage): void {
    if (!this.refused('messageReceived', message, inboundMessageSchema)) this.receive(message);
  }

  agentMessageSent(message: AgentMessage): void {
    if (!this.refused('agentMessageSent', message, agentMessageSchema)) this.firstResponse.heard(message.agentId);
  }

  closeConversation(request: CloseRequest | undefined): void {
    if (!this.refused('closeConversation', request)) this.close(request?.source ?? 'api');
  }

  /** Only the latest change counts: two quick re-assignments by hand end with the second person. */
  platformAssigneeChanged(change: PlatformAssigneeChange): void {
    if (this.refused('platformAssigneeChanged', change) || this.seenPlatformEvents.includes(change.eventId)) return;
    this.seenPlatformEvents.push(change.eventId);
    if (this.seenPlatformEvents.length > SEEN_PLATFORM_EVENTS) this.seenPlatformEvents.shift();
    this.platformChange = change;
  }

  assignmentChanged(): void {
    this.changes++;
  }

  conversationReopened(): void {
    this.wasReopened = true;
  }

  agentWentOffline(offline: { agentId: string }): void {
    if (this.refused('agentWentOffline', offline)) return;
    if (this.options.rerouteOnOffline && this.current.assignee?.agentId === offline.agentId) this.rerouteRequested = true;
  }

  /** Answered once the serving step has carried the transfer out (or the conversation closed). */
  async transfer(request: TransferRequest): Promise<TransferResult> {
    const pending: PendingTransfer = { request };
    this.transfers.push(pending);
    await condition(() => pending.result !== undefined);
    return pending.result!;
  }

  validateTransfer(request: TransferRequest): void {
    const refusal = signalRefusal(request);
    if (refusal !== undefined) throw new Error(`the transfer request was refused: ${refusal}`);
    if (this.isClosed || !this.current.assignee) throw new Error(`only an assigned conversation can be transferred (state: ${this.current.state})`);
    if (!request.agentId === !request.team) throw new Error('name exactly one of agentId or team');
  }

  private refused(signal: string, value: unknown, schema?: Parameters<typeof signalRefusal>[1]): boolean {
    const refusal = signalRefusal(value, this.options.inputChecked ? schema : undefined);
    if (refusal === undefined) return false;
    this.record('signal_refused', `${signal}: ${refusal}`);
    log.warn('signal refused', { signal, refusal });
    return true;
  }

  /** A message of the contact; a redelivered one (same id) counts once. */
  private receive(message: InboundMessage): void {
    if (!this.readingMessages || this.seenMessageIds.has(message.messageId)) return;
    this.seenMessageIds.add(message.messageId);
    if (this.seenMessageIds.size > SEEN_MESSAGES) this.seenMessageIds.delete(this.seenMessageIds.values().next().value!);
    this.inbox.push(message);
  }

  // What the state query answers and the steps read.

  get status(): Readonly<ConversationStatus> {
    return this.current;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Who ended the conversation: the platform closed it itself; an API close or the run's own is mirrored there. */
  get closedBy(): 'api' | 'platform' | 'run' | undefined {
    return this.closer;
  }

  /** A newer conversation of the contact opened after this one ended: the close's effects are not sent. */
  get reopened(): boolean {
    return this.wasReopened;
  }

  /** Bumped by every assignmentChanged signal, so a wait can tell that something happened since it began. */
  get assignmentChanges(): number {
    return this.changes;
  }

  get hasPlatformChange(): boolean {
    return this.platformChange !== undefined;
  }

  /** A person assigned the conversation by hand in the platform: the flow stops asking and routing. */
  get takenOver(): boolean {
    return this.platformChange?.assignee != null;
  }

  get hasMessage(): boolean {
    return this.inbox.length > 0;
  }

  get hasTransfer(): boolean {
    return this.transfers.length > 0;
  }

  get rerouteDue(): boolean {
    return this.rerouteRequested;
  }

  // What the steps do to it.

  /** Adds `name` to the run's path, and to its decisions with `detail`. */
  record(name: string, detail?: string): void {
    this.current.path.push(name);
    if (detail) this.current.decisions.push({ step: name, detail });
  }

  enter(state: ConversationState): void {
    this.current.state = state;
    this.options.onEnter(this.current);
  }

  close(by: 'api' | 'platform' | 'run'): void {
    this.isClosed = true;
    this.closer ??= by;
  }

  fail(reason: string): void {
    this.enter('failed');
    this.current.reason = reason;
    this.record('failed', reason);
  }

  /** Why the conversation is where it is (a CRM outage); undefined clears it. */
  explain(reason: string | undefined): void {
    this.current.reason = reason;
  }

  customerType(customerType: string): void {
    this.current.customerType = customerType;
  }

  tier(name: string, reason?: string): void {
    this.current.tier = name;
    this.record(`tier:${name}`, reason);
  }

  /** One more reply that was not an email address: how many so far. */
  invalidReply(): number {
    this.current.invalidReplies++;
    this.record('invalid_reply', `invalid reply ${this.current.invalidReplies}`);
    return this.current.invalidReplies;
  }

  /** The messages that came since the last look, all of them. */
  takeMessages(): InboundMessage[] {
    return this.inbox.splice(0);
  }

  nextMessage(): InboundMessage | undefined {
    return this.inbox.shift();
  }

  /** True if it was reading them until now. */
  stopReadingMessages(): boolean {
    if (!this.readingMessages) return false;
    this.readingMessages = false;
    this.inbox.length = 0;
    return true;
  }

  takePlatformChange(): PlatformAssigneeChange | undefined {
    const change = this.platformChange;
    this.platformChange = undefined;
    return change;
  }

  takeTransfer(): PendingTransfer | undefined {
    return this.transfers.shift();
  }

  answerTransfer(pending: PendingTransfer, result: TransferResult): void {
    pending.result = result;
  }

  /** Answers the transfers still waiting: the conversation closed. */
  refuseTransfers(reason: string): void {
    for (const pending of this.transfers) pending.result = { transferred: false, reason };
  }

  takeRerouteRequest(): boolean {
    const requested = this.rerouteRequested;
    this.rerouteRequested = false;
    return requested;
  }

  /** True the first time only: the time to assignment is measured once. */
  firstAssignment(): boolean {
    const first = !this.assignedBefore;
    this.assignedBefore = true;
    return first;
  }

  nextMoveKey(kind: 'transfer' | 'handover' | 'first-response-missed'): string {
    return `${kind}-${++this.moves}`;
  }

  /** True the first time only: the contact hears once that the team is away. */
  tellOutOfHours(): boolean {
    const first = !this.toldOutOfHours;
    this.toldOutOfHours = true;
    return first;
  }

  /** Held outside business hours until `opensAt` (ISO); undefined: the hours are open again. */
  heldUntil(opensAt: string | undefined): void {
    if (opensAt) this.current.opensAt = opensAt;
    else delete this.current.opensAt;
  }

  /** One message per notice, whatever retries or replays: a key of its own for each. */
  nextQueueNoticeKey(): string {
    return `queue-notice-${++this.queueNotices}`;
  }

  waitingAt(chain: ChainPosition): void {
    this.current.chain = chain;
  }

  leftChain(): void {
    delete this.current.chain;
  }

  assignTo(assignee: Assignee, state: 'assigned' | 'escalated'): void {
    this.current.assignee = { agentId: assignee.agentId, name: assignee.name, team: assignee.team };
    this.enter(state);
  }

  unassign(): void {
    delete this.current.assignee;
  }

  /** Waits like sleep, but a close ends the wait at once; true when closed. */
  pause(ms: number): Promise<boolean> {
    return condition(() => this.isClosed, ms);
  }
}

/** Why an activity failed, in the words of the failure it raised rather than the SDK's wrapper. */
export function failureReason(error: unknown): string {
  if (error instanceof ActivityFailure) return error.cause?.message ?? error.message;
  return error instanceof Error ? error.message : String(error);
}
