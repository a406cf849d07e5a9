import { recordMessage } from '../db/messages';
import type { Db } from '../db/pool';
import type { AgentMessage, InboundMessage } from '../domain/conversation';
import type { Conversations } from './conversation-runs';

/**
 * A contact's message, from the API or a respond.io webhook: signalled to the open run, then kept in the
 * transcript (only kept there once the run reads no more messages). Without an open conversation the signal fails
 * with 404 and nothing is stored; a message id seen before is ignored by the run and by the transcript.
 */
export async function receiveMessage(
  conversations: Conversations,
  db: Db,
  contactId: string,
  message: InboundMessage,
): Promise<{ runId: string; duplicate: boolean; signalled: boolean }> {
  // Taken before the signal, so the transcript shows the reply before the answer it triggers.
  const receivedAt = new Date();
  const { runId, signalled } = await conversations.message(contactId, message);
  const { inserted } = await recordMessage(db, {
    contactId,
    conversationId: runId,
    direction: 'inbound',
    kind: 'reply',
    externalId: message.messageId,
    text: message.text,
    occurredAt: receivedAt,
    platformTimestamp: message.timestamp,
  });
  return { runId, duplicate: !inserted, signalled };
}

/**
 * A person's message to the contact (an agent's, never automation's): kept in the transcript as outbound, and
 * signalled to the open run only while it awaits a first response (its memo says so). Never read as the contact's
 * answer. Without an open conversation: 404, nothing stored.
 */
export async function receiveAgentMessage(
  conversations: Conversations,
  db: Db,
  contactId: string,
  message: AgentMessage & Pick<InboundMessage, 'text' | 'timestamp'>,
): Promise<{ runId: string; duplicate: boolean; signalled: boolean }> {
  const { runId, signalled } = await conversations.agentMessage(contactId, { messageId: message.messageId, agentId: message.agentId });
  const { inserted } = await recordMessage(db, {
    contactId,
    conversationId: runId,
    direction: 'outbound',
    kind: 'agent',
    externalId: message.messageId,
    text: message.text,
    platformTimestamp: message.timestamp,
    delivery: 'delivered',
  });
  return { runId, duplicate: !inserted, signalled };
}
