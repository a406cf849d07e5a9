import {
  type Client,
  WorkflowExecutionAlreadyStartedError,
  type WorkflowHandle,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import type { RoutingConfig } from '../domain/routing-config';
import { markSuperseded } from '../db/platform-calls';
import type { Queryable } from '../db/pool';
import type { RuleVersions } from '../db/rule-versions';
import {
  agentMessageSentSignal,
  AWAITS_FIRST_RESPONSE_MEMO,
  CLOSING_MEMO,
  closeConversationSignal,
  conversationReopenedSignal,
  messageReceivedSignal,
  platformAssigneeChangedSignal,
  READS_MESSAGES_MEMO,
  stateQuery,
  transferUpdate,
  workflowIdForContact,
} from '../workflows/definitions';
import { routeConversation } from '../workflows/routing';
import { ROUTING_STATE } from '../workflows/search-attributes';
import type {
  AgentMessage,
  CloseRequest,
  ContactInput,
  ConversationStatus,
  InboundMessage,
  PlatformAssigneeChange,
  RoutingInput,
  TransferRequest,
  TransferResult,
} from '../domain/conversation';
import { conversationsOpened } from '../observability/metrics';
import { HttpError, notFound } from './errors';

/** How long a new conversation waits for the contact's ended run to drop its pending effects and finish. */
const REPLACE_WAIT_MS = 10_000;
const CLOSE_POLL_MS = 200;

/** The Temporal side of the API: one routing run per contact's open conversation. */
export class Conversations {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    private readonly routing: RoutingConfig,
    /** Each run's rules are recorded here; the run carries their version. */
    private readonly ruleVersions: RuleVersions,
    private readonly options: {
      /** Where a conversation replaced by a newer one of its contact is recorded, for the platform activities. */
      db: Queryable;
      /** Set when respond.io is configured: new runs mirror their effects there. */
      platform?: RoutingInput['platform'];
      /** The namespace has the routing search attributes: new runs keep them current. */
      searchAttributes?: boolean;
    },
  ) {}

  /**
   * Starts the run; a duplicate trigger while one is open returns the open one (`created: false`). An open run whose
   * conversation has already ended (it only finishes the close's effects at the platform) is replaced: the contact
   * opened a new conversation, routed at once.
   */
  async open(
    contact: ContactInput,
    source: 'api' | 'webhook' = 'api',
    mayReplace = true,
  ): Promise<{ workflowId: string; runId: string; created: boolean; replaced?: boolean }> {
    const workflowId = workflowIdForContact(contact.id);
    const { platform, searchAttributes } = this.options;
    const rulesVersion = await this.ruleVersions.record(this.routing);
    const input: RoutingInput = { contact, config: this.routing, rulesVersion, ...(platform ? { platform } : {}), ...(searchAttributes ? { searchAttributes } : {}) };
    try {
      const handle = await this.client.workflow.start(routeConversation, {
        workflowId,
        taskQueue: this.taskQueue,
        args: [input],
        // What Temporal UI lists it as; its current details say where it stands (the run keeps them).
        staticSummary: [contact.channel ?? 'conversation', contact.language].filter(Boolean).join(' · '),
        ...(searchAttributes ? { typedSearchAttributes: [{ key: ROUTING_STATE, value: 'checking_email' }] } : {}),
        // The server refuses a second run while one is open; a closed conversation may be reopened.
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      });
      conversationsOpened.inc({ source });
      return { workflowId, runId: handle.firstExecutionRunId, created: true };
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      const running = await this.openHandle(contact.id);
      if (running.memo?.[CLOSING_MEMO] !== true || !mayReplace) return { workflowId, runId: running.runId, created: false };
      await this.replaceClosing(contact.id, running);
      return { ...(await this.open(contact, source, false)), replaced: true };
    }
  }

  /**
   * Drops the close's effects the ended run still has to send (respond.io would apply them to the new conversation):
   * recorded for the activities first, then the run is told and finishes. A run that does not finish in time (no
   * worker) answers 503, and the trigger is retried (a webhook by the inbox).
   */
  private async replaceClosing(contactId: string, { handle, runId }: { handle: WorkflowHandle; runId: string }): Promise<void> {
    await markSuperseded(this.options.db, runId, contactId);
    try {
      await handle.signal(conversationReopenedSignal);
    } catch (error) {
      // It finished meanwhile: nothing left to drop.
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      handle.result().then(
        () => true,
        () => true,
      ),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), REPLACE_WAIT_MS))),
    ]).finally(() => clearTimeout(timer));
    if (!finished) {
      throw new HttpError(503, 'previous_conversation_closing', `contact ${contactId}'s previous conversation is still closing; retry shortly`);
    }
  }

  /** Signals the open run, unless it reads no more messages (its memo says so); then the transcript alone keeps it. */
  async message(contactId: string, message: InboundMessage): Promise<{ runId: string; signalled: boolean }> {
    const { handle, runId, memo } = await this.openHandle(contactId);
    if (memo?.[READS_MESSAGES_MEMO] === false) return { runId, signalled: false };
    await this.ifStillOpen(contactId, () => handle.signal(messageReceivedSignal, message));
    return { runId, signalled: true };
  }

  /** Signals the open run only while it awaits its assignee's first response (its memo says so). */
  async agentMessage(contactId: string, message: AgentMessage): Promise<{ runId: string; signalled: boolean }> {
    const { handle, runId, memo } = await this.openHandle(contactId);
    if (memo?.[AWAITS_FIRST_RESPONSE_MEMO] !== true) return { runId, signalled: false };
    await this.ifStillOpen(contactId, () => handle.signal(agentMessageSentSignal, message));
    return { runId, signalled: true };
  }

  async close(contactId: string, request: CloseRequest): Promise<void> {
    const { handle } = await this.openHandle(contactId);
    await this.ifStillOpen(contactId, () => handle.signal(closeConversationSignal, request));
  }

  /**
   * Closes the open conversation, if there is one, and waits up to `timeoutMs` for its run to end (its effects done):
   * true when one was closed, false when none was open; 409 when the run is still closing (e.g. respond.io is down).
   */
  async closeAndWait(contactId: string, request: CloseRequest, timeoutMs: number): Promise<boolean> {
    let open: WorkflowHandle;
    try {
      ({ handle: open } = await this.openHandle(contactId));
      await this.ifStillOpen(contactId, () => open.signal(closeConversationSignal, request));
    } catch (error) {
      if (error instanceof HttpError && error.status === 404) return false;
      throw error;
    }
    const deadline = Date.now() + timeoutMs;
    while ((await open.describe()).status.name === 'RUNNING') {
      if (Date.now() > deadline) throw new HttpError(409, 'still_closing', `the conversation of contact ${contactId} is still closing; try again shortly`);
      await new Promise((tick) => setTimeout(tick, CLOSE_POLL_MS));
    }
    return true;
  }

  async platformAssigneeChanged(contactId: string, change: PlatformAssigneeChange): Promise<void> {
    const { handle } = await this.openHandle(contactId);
    await this.ifStillOpen(contactId, () => handle.signal(platformAssigneeChangedSignal, change));
  }

  /** Moves an assigned conversation; the run carries it out, so it is in the history like any other step. */
  async transfer(contactId: string, request: TransferRequest): Promise<TransferResult> {
    const { handle } = await this.openHandle(contactId);
    try {
      return await this.ifStillOpen(contactId, () => handle.executeUpdate(transferUpdate, { args: [request] }));
    } catch (error) {
      // The run's validator refused: the conversation is not in a state that can be transferred.
      if (error instanceof WorkflowUpdateFailedError) throw new HttpError(409, 'not_transferable', error.cause?.message ?? error.message);
      throw error;
    }
  }

  /** The live state while open; the final state of the latest run once closed. */
  async status(contactId: string): Promise<ConversationStatus> {
    const handle = this.client.workflow.getHandle(workflowIdForContact(contactId));
    const description = await this.describe(contactId, handle);
    switch (description.status.name) {
      case 'RUNNING':
        return handle.query(stateQuery);
      case 'COMPLETED':
        // That run's result, by its id: the latest run's, followed without one, may be a newer conversation started
        // since the describe, and waiting for its result would hold the request until that conversation ends.
        return this.client.workflow.getHandle(workflowIdForContact(contactId), description.runId).result();
      default:
        return {
          contactId,
          conversationId: description.runId,
          state: 'failed',
          invalidReplies: 0,
          path: [],
          decisions: [],
          reason: `routing run ${description.status.name.toLowerCase()}`,
        };
    }
  }

  private async openHandle(contactId: string): Promise<{ handle: WorkflowHandle; runId: string; memo?: Record<string, unknown> }> {
    const workflowId = workflowIdForContact(contactId);
    const latest = this.client.workflow.getHandle(workflowId);
    const description = await this.describe(contactId, latest);
    if (description.status.name !== 'RUNNING') throw notFound(`contact ${contactId} has no open conversation`);
    return { handle: this.client.workflow.getHandle(workflowId, description.runId), runId: description.runId, memo: description.memo };
  }

  private async describe(contactId: string, handle: WorkflowHandle) {
    return this.ifStillOpen(contactId, () => handle.describe());
  }

  private async ifStillOpen<T>(contactId: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw notFound(`contact ${contactId} has no open conversation`);
      throw error;
    }
  }
}
