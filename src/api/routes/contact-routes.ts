import { getContact } from '../../db/contacts';
import { eraseContact } from '../../db/erasure';
import { transcript } from '../../db/messages';
import { inTransaction } from '../../db/pool';
import { answer, erasure, error, failure, messageAccepted, transcript as transcriptAnswer } from '../answers';
import { body, route } from '../contract';
import { notFound } from '../errors';
import { receiveAgentMessage, receiveMessage } from '../inbound';
import { contactIdParams, eraseContactQuery, postMessageBody } from '../schemas';
import { type ConversationDeps, noOpenConversation } from './conversation-routes';
import { RUN_ID } from './examples';

/** How long an erasure waits for the contact's open conversation to close before answering 409. */
const ERASURE_CLOSE_TIMEOUT_MS = 30_000;

const contactRoute = route<ConversationDeps>();

/** A contact's messages, and the erasure of its personal data. */
export const contactRoutes = [
  contactRoute({
    method: 'post',
    path: '/v1/contacts/{contactId}/messages',
    operationId: 'postMessage',
    tag: 'Contacts',
    summary: "The contact's message (or an agent's message to the contact), to the open conversation",
    access: { scopes: ['integration'] },
    params: contactIdParams,
    paramExamples: { contactId: 'c-2' },
    body: body(postMessageBody, {
      reply: { summary: 'A reply with the email asked for', value: { messageId: 'm-1', text: 'es bob@example.com', timestamp: '2025-06-03T09:16:40Z' } },
      agent: {
        summary: "The assignee's first message to the contact: it stops the first-response timer",
        value: { messageId: 'm-2', text: 'Hi Bob, Alex here: how can I help?', direction: 'outbound', agentId: 'alex' },
      },
    }),
    responses: {
      202: answer('Received.', messageAccepted, {
        received: { summary: 'Received', value: { contactId: 'c-2', messageId: 'm-1', duplicate: false } },
        duplicate: { summary: 'Received before: no second effect', value: { contactId: 'c-2', messageId: 'm-1', duplicate: true } },
      }),
      404: noOpenConversation('c-2'),
    },
    handle: async ({ params: { contactId }, body: { direction, agentId, ...message } }, { conversations, db }, res) => {
      const { duplicate } = agentId !== undefined && direction === 'outbound'
        ? await receiveAgentMessage(conversations, db, contactId, { ...message, agentId })
        : await receiveMessage(conversations, db, contactId, message);
      res.status(202).json({ contactId, messageId: message.messageId, duplicate });
    },
  }),
  contactRoute({
    method: 'get',
    path: '/v1/contacts/{contactId}/messages',
    operationId: 'getTranscript',
    tag: 'Contacts',
    summary: "The contact's transcript, oldest first: inbound, outbound and notes, each with its delivery",
    access: { scopes: ['integration', 'read'] },
    params: contactIdParams,
    paramExamples: { contactId: 'c-2' },
    responses: {
      200: answer('The transcript.', transcriptAnswer, {
        askedAndAnswered: {
          summary: 'Asked for the email, answered, thanked',
          value: {
            contactId: 'c-2',
            messages: [
              {
                id: '101',
                contactId: 'c-2',
                conversationId: RUN_ID,
                direction: 'outbound',
                kind: 'question',
                messageId: `${RUN_ID}:ask-email`,
                text: '¡Hola! Para dirigirte a la persona adecuada, ¿podrías compartir tu correo electrónico?',
                delivery: 'delivered',
                timestamp: '2025-06-03T09:15:02.481Z',
                platformTimestamp: null,
                platformMessageId: '3021447',
                deliveryError: null,
              },
              {
                id: '102',
                contactId: 'c-2',
                conversationId: RUN_ID,
                direction: 'inbound',
                kind: 'reply',
                messageId: 'm-1',
                text: 'es bob@example.com',
                delivery: 'received',
                timestamp: '2025-06-03T09:16:41.107Z',
                platformTimestamp: '2025-06-03T09:16:40.000Z',
                platformMessageId: null,
                deliveryError: null,
              },
            ],
          },
        },
      }),
      404: failure('Nothing is known of this contact.', { unknown: { summary: 'Unknown contact', value: error('not_found', 'unknown contact c-9') } }),
    },
    handle: async ({ params: { contactId } }, { db }, res) => {
      const messages = await transcript(db, contactId);
      if (messages.length === 0 && !(await getContact(db, contactId))) throw notFound(`unknown contact ${contactId}`);
      res.json({ contactId, messages });
    },
  }),
  contactRoute({
    method: 'delete',
    path: '/v1/contacts/{contactId}',
    operationId: 'eraseContact',
    tag: 'Contacts',
    summary: "Erase the contact's personal data: close the open conversation, then remove the transcript, the contact and its webhook payloads",
    description:
      "The open conversation is closed through its run (as `close` does) and waited for, so nothing is written after the erasure; then the contact's rows go from every table, in one transaction. `directory=true` also removes the built-in directory's entry for the contact's email. Idempotent: again, or for a contact never seen, `200` with every count 0. Workflow histories are encrypted and leave Temporal with the namespace's retention (README, Security).",
    access: { scopes: [] },
    params: contactIdParams,
    query: eraseContactQuery,
    paramExamples: { contactId: 'c-2', directory: 'true' },
    responses: {
      200: answer('Erased.', erasure, {
        erased: {
          summary: 'A contact served once, directory entry included',
          value: {
            contactId: 'c-2',
            conversationClosed: true,
            removed: { messages: 6, contacts: 1, webhookEvents: 4, platformCalls: 3, assignments: 1, queueEntries: 0, assigneeEchoes: 1, directoryCustomers: 1, supersededConversations: 0, givenUpEffects: 0 },
          },
        },
        nothingLeft: {
          summary: 'Erased before',
          value: {
            contactId: 'c-2',
            conversationClosed: false,
            removed: { messages: 0, contacts: 0, webhookEvents: 0, platformCalls: 0, assignments: 0, queueEntries: 0, assigneeEchoes: 0, directoryCustomers: 0, supersededConversations: 0, givenUpEffects: 0 },
          },
        },
      }),
      409: failure('The conversation is still closing (its last effects at respond.io are being retried): nothing was erased yet; try again.', {
        closing: { summary: 'Still closing', value: error('still_closing', 'the conversation of contact c-2 is still closing; try again shortly') },
      }),
    },
    /**
     * The open conversation is closed first and its run waited for, so nothing is written after the rows are gone.
     * Idempotent: a contact with nothing left (or never seen) answers 200 with every count 0.
     */
    handle: async ({ params: { contactId }, query: { directory } }, { conversations, db }, res) => {
      const closed = await conversations.closeAndWait(contactId, { reason: 'contact erased through the API', source: 'api' }, ERASURE_CLOSE_TIMEOUT_MS);
      const removed = await inTransaction(db, (tx) => eraseContact(tx, contactId, { directory }));
      res.json({ contactId, conversationClosed: closed, removed });
    },
  }),
];
