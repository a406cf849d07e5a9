import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { CloseRequest, ConversationStatus, InboundMessage, PlatformAssigneeChange, TransferRequest, TransferResult } from '../domain';

/** Wire names: camelCase, shared by the workflow, its activities and the API. */
export const messageReceivedSignal = defineSignal<[InboundMessage]>('messageReceived');
export const closeConversationSignal = defineSignal<[CloseRequest?]>('closeConversation');
/** A person changed the contact's assignee in the messaging platform (respond.io) by hand. */
export const platformAssigneeChangedSignal = defineSignal<[PlatformAssigneeChange]>('platformAssigneeChanged');
/** The dispatcher changed this conversation's assignment (or capacity moved): look again. */
export const assignmentChangedSignal = defineSignal('assignmentChanged');
/** An agent of this conversation went offline; the run re-routes if its rules say so. */
export const agentWentOfflineSignal = defineSignal<[{ agentId: string }]>('agentWentOffline');
/** An operator moves the conversation to another agent or team. */
export const transferUpdate = defineUpdate<TransferResult, [TransferRequest]>('transfer');
export const stateQuery = defineQuery<ConversationStatus>('state');

export const ROUTING_WORKFLOW = 'routeConversation';

/** Memo of a run: false once the run reads no more messages of the contact (the API then only keeps them). */
export const READS_MESSAGES_MEMO = 'readsMessages';

const CONVERSATION_PREFIX = 'conversation-';

export function workflowIdForContact(contactId: string): string {
  return `${CONVERSATION_PREFIX}${contactId}`;
}

/** The contact a conversation's workflow id names; other workflows name none. */
export function contactIdOfWorkflow(workflowId: string): string | undefined {
  return workflowId.startsWith(CONVERSATION_PREFIX) ? workflowId.slice(CONVERSATION_PREFIX.length) : undefined;
}
