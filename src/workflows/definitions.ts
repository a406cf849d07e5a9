import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AgentMessage, CloseRequest, ConversationStatus, InboundMessage, PlatformAssigneeChange, TransferRequest, TransferResult } from '../domain/conversation';

/**
 * What a routing run and its clients (the API, the dispatcher, the respond.io inbox) say to each other: the run's
 * signals, query and update, its memo keys and its workflow id. Wire names are camelCase; they are in every recorded
 * history, so they never change.
 */

export const messageReceivedSignal = defineSignal<[InboundMessage]>('messageReceived');
/** A person wrote to the contact; sent only while the run's first-response timer runs (its memo says so). */
export const agentMessageSentSignal = defineSignal<[AgentMessage]>('agentMessageSent');
export const closeConversationSignal = defineSignal<[CloseRequest?]>('closeConversation');
/** A person changed the contact's assignee in the messaging platform (respond.io) by hand. */
export const platformAssigneeChangedSignal = defineSignal<[PlatformAssigneeChange]>('platformAssigneeChanged');
/** The dispatcher changed this conversation's assignment (or capacity moved): look again. */
export const assignmentChangedSignal = defineSignal('assignmentChanged');
/** An agent of this conversation went offline; the run re-routes if its rules say so. */
export const agentWentOfflineSignal = defineSignal<[{ agentId: string }]>('agentWentOffline');
/**
 * The contact opened a new conversation while this run, its own conversation ended, was still sending the close's
 * effects to the platform: those effects are dropped (the platform would apply them to the new conversation).
 */
export const conversationReopenedSignal = defineSignal('conversationReopened');
/** An operator moves the conversation to another agent or team. */
export const transferUpdate = defineUpdate<TransferResult, [TransferRequest]>('transfer');
export const stateQuery = defineQuery<ConversationStatus>('state');

/** The routing workflow's type, as Temporal's visibility lists it (starts pass the function itself). */
export const ROUTING_WORKFLOW = 'routeConversation';

/** Memo of a run: false once the run reads no more messages of the contact (the API then only keeps them). */
export const READS_MESSAGES_MEMO = 'readsMessages';

/**
 * Memo of a run: true while its assignee's first message to the contact is awaited (a first-response timer runs);
 * only then are agents' messages signalled, so a conversation of weeks keeps a short history.
 */
export const AWAITS_FIRST_RESPONSE_MEMO = 'awaitsFirstResponse';

/**
 * Memo of a run: true once its conversation has ended and it only finishes the close's effects at the platform; a
 * new conversation of the contact then replaces it rather than being answered "already open".
 */
export const CLOSING_MEMO = 'closing';

const CONVERSATION_PREFIX = 'conversation-';

export function workflowIdForContact(contactId: string): string {
  return `${CONVERSATION_PREFIX}${contactId}`;
}

/** The contact a conversation's workflow id names; other workflows name none. */
export function contactIdOfWorkflow(workflowId: string): string | undefined {
  return workflowId.startsWith(CONVERSATION_PREFIX) ? workflowId.slice(CONVERSATION_PREFIX.length) : undefined;
}
