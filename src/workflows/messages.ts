import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ConversationStatus, InboundMessage } from './types';

/** Wire names: camelCase verbs, shared by the workflow and the API. */
export const messageReceivedSignal = defineSignal<[InboundMessage]>('messageReceived');
export const closeConversationSignal = defineSignal<[{ reason?: string }?]>('closeConversation');
/** Capacity may have freed up: queued conversations try to get assigned again. */
export const capacityFreedSignal = defineSignal('capacityFreed');
export const stateQuery = defineQuery<ConversationStatus>('state');

export const ROUTING_WORKFLOW = 'routeConversation';

export function workflowIdForContact(contactId: string): string {
  return `conversation-${contactId}`;
}
