import type { Db } from '../../db/pool';
import { answer, conversationClosing, conversationStarted, conversationStatus, error, failure, transferred } from '../answers';
import { body, route } from '../contract';
import type { Conversations } from '../conversation-runs';
import { HttpError } from '../errors';
import { contactIdParams, startConversationBody, transferBody } from '../schemas';
import { AT, RUN_ID } from './examples';

export interface ConversationDeps {
  conversations: Conversations;
  db: Db;
}

const conversationRoute = route<ConversationDeps>();

const contactParams = { params: contactIdParams, paramExamples: { contactId: 'c-1' } };
export const noOpenConversation = (contactId: string) =>
  failure('No open conversation for this contact.', { none: { summary: 'Nothing open', value: error('not_found', `contact ${contactId} has no open conversation`) } });

/** One routing run per open conversation of a contact. */
export const conversationRoutes = [
  conversationRoute({
    method: 'post',
    path: '/v1/conversations',
    operationId: 'startConversation',
    tag: 'Conversations',
    summary: 'Open a conversation: start routing the contact',
    description:
      'A second call while the conversation is open returns the open run (`200`, same ids) instead of starting another. A run whose conversation has already ended, still sending its close to the messaging platform, is not open: it drops that close (it would close the new conversation) and a new run starts (`202`); `503` if it has not finished within 10 s (no worker), and a retry is safe.',
    access: { scopes: ['integration'] },
    body: body(startConversationBody, {
      withEmail: { summary: 'A contact with an email (routed straight to the CRM step)', value: { contact: { id: 'c-1', firstName: 'Ana', email: 'ana@example.com' } } },
      askForEmail: { summary: 'A contact without an email, in Spanish (asked for it)', value: { contact: { id: 'c-2', firstName: 'Bob', language: 'es', channel: 'whatsapp' } } },
    }),
    responses: {
      202: answer('Started.', conversationStarted, {
        started: { summary: 'A new run', value: { contactId: 'c-1', workflowId: 'conversation-c-1', runId: RUN_ID } },
      }),
      200: answer('Already open: the open run.', conversationStarted, {
        open: { summary: 'The run already open', value: { contactId: 'c-1', workflowId: 'conversation-c-1', runId: RUN_ID } },
      }),
    },
    handle: async ({ body: { contact } }, { conversations }, res) => {
      res.locals['contactId'] = contact.id;
      const { workflowId, runId, created } = await conversations.open(contact);
      res.status(created ? 202 : 200).json({ contactId: contact.id, workflowId, runId });
    },
  }),
  conversationRoute({
    method: 'get',
    path: '/v1/conversations/{contactId}',
    operationId: 'getConversation',
    tag: 'Conversations',
    summary: "The conversation's state: where the run is, who has it, and why",
    description:
      '`chain`, while nobody is assigned yet: the step of the assignment chain it is on, and `until` when its wait ends. `opensAt`, while held outside business hours: when the team opens.',
    access: { scopes: ['integration', 'read'] },
    ...contactParams,
    responses: {
      200: answer('The live state (open), or the final state of the latest run.', conversationStatus, {
        assigned: {
          summary: 'A VIP customer, assigned to their account manager',
          value: {
            contactId: 'c-1',
            conversationId: RUN_ID,
            state: 'assigned',
            customerType: 'VIP',
            tier: 'vip',
            assignee: { agentId: 'alex', name: 'Alex Account-Manager', team: 'account-managers' },
            invalidReplies: 0,
            path: ['trigger', 'check_email', 'fetch_crm', 'tier:vip', 'assigned'],
            decisions: [
              { step: 'check_email', detail: 'has email' },
              { step: 'tier:vip', detail: 'customerType=VIP' },
              { step: 'assigned', detail: 'alex via account_manager (direct)' },
            ],
          },
        },
        waiting: {
          summary: 'Waiting for the account manager to become available',
          value: {
            contactId: 'c-3',
            conversationId: RUN_ID,
            state: 'assigning',
            customerType: 'VIP',
            tier: 'vip',
            chain: { step: 0, steps: ['account manager alex', 'team vip', 'any manager', 'queue'], until: AT },
            invalidReplies: 0,
            path: ['trigger', 'check_email', 'fetch_crm', 'tier:vip'],
            decisions: [
              { step: 'check_email', detail: 'has email' },
              { step: 'tier:vip', detail: 'customerType=VIP' },
            ],
          },
        },
        outsideHours: {
          summary: 'Written outside business hours: held in the queue until the team opens',
          value: {
            contactId: 'c-4',
            conversationId: RUN_ID,
            state: 'queued',
            tier: 'regular',
            invalidReplies: 0,
            path: ['trigger', 'check_email', 'fetch_crm', 'tier:regular', 'outside_hours'],
            decisions: [
              { step: 'check_email', detail: 'has email' },
              { step: 'tier:regular', detail: 'customerType=Regular' },
              { step: 'outside_hours', detail: `wait: the team opens tomorrow at 09:00 (${AT})` },
            ],
            reason: 'outside business hours',
            opensAt: AT,
          },
        },
      }),
      404: failure('No conversation was ever opened for this contact.', {
        unknown: { summary: 'Unknown contact', value: error('not_found', 'contact c-9 has no open conversation') },
      }),
    },
    handle: async ({ params: { contactId } }, { conversations }, res) => {
      res.json(await conversations.status(contactId));
    },
  }),
  conversationRoute({
    method: 'post',
    path: '/v1/conversations/{contactId}/close',
    operationId: 'closeConversation',
    tag: 'Conversations',
    summary: 'Close the conversation: waits are cancelled, the agent is unassigned, queued conversations are woken',
    access: { scopes: ['integration'] },
    ...contactParams,
    responses: {
      202: answer('Closing.', conversationClosing, { closing: { summary: 'Closing', value: { contactId: 'c-1', closing: true } } }),
      404: noOpenConversation('c-1'),
    },
    handle: async ({ params: { contactId } }, { conversations }, res) => {
      await conversations.close(contactId, { reason: 'closed through the API', source: 'api' });
      res.status(202).json({ contactId, closing: true });
    },
  }),
  conversationRoute({
    method: 'post',
    path: '/v1/conversations/{contactId}/transfer',
    operationId: 'transferConversation',
    tag: 'Conversations',
    summary: 'Move an assigned conversation to another agent or team',
    access: { scopes: [] },
    ...contactParams,
    body: body(transferBody, {
      toTeam: { summary: 'To whoever of a team has room', value: { team: 'vip', reason: 'the customer asked for the VIP desk' } },
      toAgent: { summary: 'To one agent, past their capacity', value: { agentId: 'alex', force: true, reason: 'back to the account manager' } },
    }),
    responses: {
      200: answer('Transferred.', transferred, {
        transferred: {
          summary: 'Moved to the VIP team',
          value: { contactId: 'c-1', assignee: { agentId: 'sam', name: 'Sam Ortega', team: 'vip', via: 'transfer', strategy: 'least_open' } },
        },
      }),
      404: noOpenConversation('c-1'),
      409: failure('Nobody with room (`transfer_refused`), or the conversation is not assigned (`not_transferable`).', {
        refused: { summary: 'Nobody with room', value: error('transfer_refused', 'nobody in team vip is online with room') },
        notAssigned: { summary: 'Not assigned', value: error('not_transferable', 'only an assigned conversation can be transferred (state: asking_email)') },
      }),
    },
    handle: async ({ params: { contactId }, body: request }, { conversations }, res) => {
      const outcome = await conversations.transfer(contactId, request);
      if (!outcome.transferred) throw new HttpError(409, 'transfer_refused', outcome.reason);
      res.json({ contactId, assignee: outcome.assignee });
    },
  }),
];
