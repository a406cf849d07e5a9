import { z } from 'zod';
import { version } from '../../package.json';
import type { WaitingEntry } from '../assignment/store';
import type { Agent } from '../db/agents';
import type { DirectoryCustomer } from '../db/directory';
import type { PathStep, TimeToAssignment } from '../db/operator';
import type { GivenUpEffect } from '../db/platform-calls';
import type { TranscriptMessage } from '../db/messages';
import type { Assignee, AssignmentResult, ChainPosition, ConversationState, ConversationStatus, Decision } from '../domain';
import type { ApiKeyScope } from '../security/api-keys';
import type { OperatorAgent, OperatorOverview, RecentConversation } from './operator';
import type { ErasedRows } from '../db/erasure';
import {
  agentIdParams,
  contactIdParams,
  emailParams,
  emailQuery,
  eraseContactQuery,
  inboundMessageBody,
  patchAgentBody,
  putAgentBody,
  putCustomerBody,
  startConversationBody,
  transferBody,
} from './schemas';

/**
 * The OpenAPI 3.1 description of the HTTP API. Request bodies, path and query parameters are the zod schemas the
 * routes validate with (`./schemas`), converted as they accept input; answers are described by the response
 * schemas below, checked against the code's types by the compiler and against real answers by
 * test/api/openapi.test.ts.
 */

type Meta = { id?: string; description?: string };
/** Components named and described here, so that ./schemas stays free of documentation concerns. */
const requests = z.registry<Meta>();
const answers = z.registry<Meta>();

const named = <S extends z.ZodType>(registry: typeof requests, id: string, schema: S, description?: string): S => {
  registry.add(schema, { id, description });
  return schema;
};

/** A response schema that says exactly what the code sends: its output is the type, with the same fields. */
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
const describes =
  <T>() =>
  <S extends z.ZodType<T>>(schema: S & (SameKeys<z.output<S>, T> extends true ? unknown : never)): S =>
    schema;

const isoTime = z.iso.datetime({ offset: true });

// ------------------------------------------------------------------------------------------------ answers

const conversationState = z.enum({
  checking_email: 'checking_email',
  asking_email: 'asking_email',
  fetching_crm: 'fetching_crm',
  assigning: 'assigning',
  queued: 'queued',
  assigned: 'assigned',
  escalated: 'escalated',
  closed: 'closed',
  failed: 'failed',
} satisfies { [S in ConversationState]: S });

const assignee = named(
  answers,
  'Assignee',
  describes<Assignee>()(z.object({ agentId: z.string(), name: z.string(), team: z.string() })),
  'The agent who holds the conversation.',
);

const assignment = named(
  answers,
  'Assignment',
  describes<AssignmentResult>()(
    assignee.extend({
      via: z.enum({
        account_manager: 'account_manager',
        last_agent: 'last_agent',
        dedicated_agent: 'dedicated_agent',
        transfer: 'transfer',
        team: 'team',
        next_shift: 'next_shift',
        manager: 'manager',
        escalation: 'escalation',
        platform: 'platform',
      } satisfies { [V in AssignmentResult['via']]: V }),
      strategy: z.enum({ least_open: 'least_open', round_robin: 'round_robin', direct: 'direct' } satisfies {
        [S in AssignmentResult['strategy']]: S;
      }),
    }),
  ),
  'An assignment: who, and how they were chosen (`via` the chain step, `strategy` within a team).',
);

const decision = describes<Decision>()(z.object({ step: z.string(), detail: z.string() }));

const chainPosition = named(
  answers,
  'ChainPosition',
  describes<ChainPosition>()(z.object({ step: z.number().int().min(0), steps: z.array(z.string()), until: isoTime })),
  "Where the tier's assignment chain stands while nobody is assigned: the step it is on, and `until` when its wait ends.",
);

const conversationStatus = named(
  answers,
  'ConversationStatus',
  describes<ConversationStatus>()(
    z.object({
      contactId: z.string(),
      conversationId: z.string(),
      state: conversationState,
      customerType: z.string().optional(),
      tier: z.string().optional(),
      assignee: assignee.optional(),
      chain: chainPosition.optional(),
      invalidReplies: z.number().int().min(0),
      path: z.array(z.string()),
      decisions: z.array(decision),
      reason: z.string().optional(),
    }),
  ),
  'The live state of the open run, or the final state of the latest one.',
);

const conversationStarted = named(
  answers,
  'ConversationStarted',
  z.object({ contactId: z.string(), workflowId: z.string(), runId: z.string() }),
  'The routing run of the conversation (`workflowId` is `conversation-<contactId>`).',
);

const conversationClosing = named(answers, 'ConversationClosing', z.object({ contactId: z.string(), closing: z.literal(true) }));

const transferred = named(answers, 'Transferred', z.object({ contactId: z.string(), assignee: assignment }));

const messageAccepted = named(
  answers,
  'MessageAccepted',
  z.object({ contactId: z.string(), messageId: z.string(), duplicate: z.boolean() }),
  '`duplicate`: this `messageId` was received before, and had no second effect.',
);

const transcriptMessage = named(
  answers,
  'TranscriptMessage',
  describes<TranscriptMessage>()(
    z.object({
      id: z.string(),
      contactId: z.string(),
      conversationId: z.string().nullable(),
      direction: z.enum({ inbound: 'inbound', outbound: 'outbound', note: 'note' } satisfies { [D in TranscriptMessage['direction']]: D }),
      kind: z.string(),
      messageId: z.string(),
      text: z.string(),
      delivery: z.enum({ stored: 'stored', delivered: 'delivered', received: 'received', failed: 'failed' } satisfies {
        [D in TranscriptMessage['delivery']]: D;
      }),
      timestamp: isoTime,
      platformTimestamp: isoTime.nullable(),
      platformMessageId: z.string().nullable(),
      deliveryError: z.string().nullable(),
    }),
  ),
  "One message of the transcript: the contact's (`inbound`, `received`), the service's (`outbound`: `stored`, then `delivered` or `failed` with `deliveryError`) and notes for agents (a `delivered` note whose comment respond.io never confirmed says so in `deliveryError`).",
);

const erasure = named(
  answers,
  'ContactErased',
  describes<{ contactId: string; conversationClosed: boolean; removed: ErasedRows }>()(
    z.object({
      contactId: z.string(),
      conversationClosed: z.boolean(),
      removed: z.object({
        messages: z.int().min(0),
        contacts: z.int().min(0),
        webhookEvents: z.int().min(0),
        platformCalls: z.int().min(0),
        assignments: z.int().min(0),
        queueEntries: z.int().min(0),
        assigneeEchoes: z.int().min(0),
        directoryCustomers: z.int().min(0),
        supersededConversations: z.int().min(0),
        givenUpEffects: z.int().min(0),
      }),
    }),
  ),
  "Rows removed, or emptied of the contact's data (a webhook event keeps its id, to recognise a redelivery), per table; all 0 when nothing was left.",
);

const transcript = named(answers, 'Transcript', z.object({ contactId: z.string(), messages: z.array(transcriptMessage) }), 'Oldest first.');

const agent = named(
  answers,
  'Agent',
  describes<Agent>()(
    z.object({
      id: z.string(),
      name: z.string(),
      team: z.string(),
      role: z.enum({ agent: 'agent', manager: 'manager' } satisfies { [R in Agent['role']]: R }),
      online: z.boolean(),
      capacity: z.number().int().nullable(),
      openConversations: z.number().int().min(0),
      lastAssignedAt: isoTime.nullable(),
      email: z.string().nullable(),
      respondioUserId: z.string().nullable(),
      removedAt: isoTime.nullable(),
    }),
  ),
  "`capacity` null: the team's default. `email` and `respondioUserId`: how respond.io knows the agent. `removedAt`: an agent sync no longer found the user in respond.io.",
);

const agentList = named(answers, 'AgentList', z.object({ agents: z.array(agent) }));

const queueEntry = named(
  answers,
  'QueueEntry',
  describes<WaitingEntry>()(
    z.object({
      position: z.number().int().min(1),
      conversationId: z.string(),
      workflowId: z.string(),
      contactId: z.string(),
      tier: z.string(),
      priority: z.number().int(),
      enqueuedAt: isoTime,
      waitingMs: z.number().int(),
    }),
  ),
);

const queue = named(answers, 'Queue', z.object({ queue: z.array(queueEntry) }), 'Waiting conversations in the order they will be served.');

const operatorAgent = named(
  answers,
  'OperatorAgent',
  describes<OperatorAgent>()(
    z.object({
      id: z.string(),
      name: z.string(),
      team: z.string(),
      role: agent.shape.role,
      online: z.boolean(),
      load: z.number().int().min(0),
      capacity: z.number().int().min(0),
    }),
  ),
  "`load`: open conversations. `capacity`: the agent's own, else the team's default, else the routing config's.",
);

const pathStep = named(
  answers,
  'PathStep',
  describes<PathStep>()(z.object({ via: z.string(), agentId: z.string(), assignedAt: isoTime, releasedAt: isoTime.nullable() })),
  'One agent the conversation was given to, and how: `via` is the chain step (`account_manager`, `team`, `manager`…), `transfer`, `next_shift`, `escalation` or `platform` (by hand).',
);

const recentConversation = named(
  answers,
  'RecentConversation',
  describes<RecentConversation>()(
    z.object({
      contactId: z.string(),
      workflowId: z.string(),
      runId: z.string(),
      startedAt: isoTime,
      closedAt: isoTime.nullable(),
      state: z.string(),
      tier: z.string().nullable(),
      path: z.array(pathStep),
      historyUrl: z.url().nullable(),
    }),
  ),
  "A routing run as Temporal's visibility lists it. `state` and `tier` are the search attributes the run keeps (without them: `open` or `closed`; a run ended otherwise says how, e.g. `terminated`); `path` is what PostgreSQL recorded of its assignments, oldest first; `historyUrl` opens its history in Temporal UI (`TEMPORAL_UI_URL`).",
);

const timeToAssignment = named(
  answers,
  'TimeToAssignment',
  describes<TimeToAssignment>()(
    z.object({
      tier: z.string(),
      minute: isoTime,
      conversations: z.number().int().min(1),
      averageSeconds: z.number().min(0),
      maxSeconds: z.number().min(0),
    }),
  ),
  'The conversations of a tier first assigned within one minute (`minute`, its start), and how long they took from opening.',
);

const givenUpEffect = named(
  answers,
  'GivenUpEffect',
  describes<GivenUpEffect>()(
    z.object({ conversationId: z.string(), contactId: z.string(), effect: z.string(), reason: z.string(), givenUpAt: isoTime }),
  ),
  "An effect on the messaging platform (`effect`: message, assignee or close) that respond.io did not take within its time bound (4 hours of retries through an outage) and was given up; `reason` is the run's decision, with respond.io's last answer.",
);

const operatorOverview = named(
  answers,
  'OperatorOverview',
  describes<OperatorOverview>()(
    z.object({
      generatedAt: isoTime,
      agents: z.array(operatorAgent),
      queue: z.array(queueEntry),
      recent: z.array(recentConversation),
      recentError: z.string().optional(),
      timeToAssignment: z.object({ minutes: z.number().int().min(1), points: z.array(timeToAssignment) }),
      givenUp: z.array(givenUpEffect),
    }),
  ),
  "What the operator page shows: the agents (an agent sync's removed ones left out), the queue in serving order (up to 500), the routing runs of this API's task queue (up to 50: open ones first, then the latest closed; `recentError` when Temporal's visibility did not answer), time to first assignment by tier and minute over `minutes`, and the latest effects given up (up to 20, newest first).",
);

const directoryCustomer = named(
  answers,
  'DirectoryCustomer',
  describes<DirectoryCustomer>()(
    z.object({ email: z.string(), customerType: z.string(), accountManager: z.string().nullable(), name: z.string().nullable(), updatedAt: isoTime }),
  ),
  "A customer of the built-in directory, as the default CRM step reads it (`customerType` picks the tier, `accountManager` an agent id).",
);

const webhookReceived = named(
  answers,
  'WebhookReceived',
  z.object({ received: z.literal(true), eventId: z.string(), duplicate: z.boolean() }),
  'The event is recorded; its effect follows in the background. `duplicate`: this `event_id` was received before.',
);

const problem = z.object({ path: z.string(), message: z.string() });
const errorBody = named(
  answers,
  'Error',
  z.object({ error: z.object({ code: z.string(), message: z.string(), details: z.array(problem).optional() }) }),
  'Every error. `details` names the failing fields (`path` in dot notation).',
);

const health = named(answers, 'Health', z.object({ status: z.literal('ok') }));
const check = z.object({ ok: z.boolean(), error: z.string().optional() });
const readiness = named(
  answers,
  'Readiness',
  z.object({ status: z.enum(['ready', 'not_ready']), checks: z.object({ temporal: check, postgres: check }) }),
);

// ------------------------------------------------------------------------------------------------ requests

named(requests, 'StartConversationRequest', startConversationBody, 'The contact whose conversation opens. An email, when given and valid, skips asking for it.');
named(requests, 'InboundMessageRequest', inboundMessageBody, "The contact's message. A `messageId` seen before has no second effect.");
named(
  requests,
  'PutAgentRequest',
  putAgentBody,
  "`role` defaults to `agent`, `online` to `true`; no `capacity`: the team's default. `email` and `respondioUserId` are kept when left out.",
);
named(requests, 'PatchAgentRequest', patchAgentBody, 'At least one of `online` and `capacity`.');
named(requests, 'TransferRequest', transferBody, 'Exactly one of `agentId` and `team`. `force` passes capacity (and, for an agent, presence).');
named(requests, 'PutCustomerRequest', putCustomerBody);

/** What the routes check beyond what JSON Schema can see of a zod schema (its refinements). */
const refinements = new Map<unknown, Record<string, unknown>>([
  [transferBody, { oneOf: [{ required: ['agentId'] }, { required: ['team'] }] }],
  [patchAgentBody, { minProperties: 1 }],
]);

/** Proto3 JSON of Temporal payloads: bytes in base64, either alphabet, padded or not. */
const base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/);
const codecPayloads = named(
  requests,
  'CodecPayloads',
  z.object({
    payloads: z
      .array(
        z.object({
          metadata: z.record(z.string(), base64).nullish(),
          data: base64.nullish(),
          externalPayloads: z.array(z.object({ sizeBytes: z.union([z.string().regex(/^\d+$/), z.number().int().min(0)]).optional() })).optional(),
        }),
      )
      .max(10_000),
  }),
  "Temporal's codec-server protocol: payloads as proto3 JSON.",
);

const respondioId = z.union([z.number().int().min(0), z.string().regex(/^\d{1,20}$/)]);
const optionalText = z.string().nullish();
const respondioUser = z.looseObject({ id: z.union([z.number(), z.string()]).nullish(), firstName: optionalText, lastName: optionalText, email: optionalText });
const respondioContact = z.looseObject({
  id: respondioId,
  firstName: optionalText,
  lastName: optionalText,
  email: optionalText,
  phone: optionalText,
  language: optionalText,
  assignee: respondioUser.nullish(),
});
const eventEnvelope = { event_id: z.string().min(1).max(200), contact: respondioContact };
const respondioEvent = named(
  requests,
  'RespondioEvent',
  z.union([
    z.looseObject({ ...eventEnvelope, event_type: z.literal('conversation.opened'), conversation: z.looseObject({ source: optionalText }).nullish() }),
    z.looseObject({
      ...eventEnvelope,
      event_type: z.literal('message.received'),
      message: z.looseObject({
        messageId: z.union([z.number(), z.string().min(1).max(200)]),
        traffic: z.string().optional(),
        timestamp: z.union([z.number().min(0), z.string().regex(/^\d{1,12}$/)]).nullish(),
        message: z.looseObject({ type: z.string().min(1).max(50), text: z.string().max(10_000).nullish() }),
      }),
      channel: z.looseObject({ source: optionalText, name: optionalText }).nullish(),
    }),
    z.looseObject({ ...eventEnvelope, event_type: z.literal('conversation.closed') }),
    z.looseObject({ ...eventEnvelope, event_type: z.literal('contact.assignee.updated') }),
    z.looseObject({ event_id: eventEnvelope.event_id, event_type: z.string().min(1).max(100) }),
  ]),
  "A respond.io webhook event, as respond.io sends it: the fields the flow reads are listed, every other field is kept. `conversation.opened` starts routing the contact, `message.received` (incoming) is the contact's reply, `conversation.closed` closes the run, `contact.assignee.updated` follows a re-assignment made by hand; any other `event_type` is answered 200 and ignored.",
);

// ------------------------------------------------------------------------------------------------ operations

interface Example<T> {
  summary: string;
  value: T;
}
type Examples<T> = Record<string, Example<T>>;

interface Content {
  schema: z.ZodType;
  examples?: Examples<unknown>;
  /** `application/json` unless said. */
  mediaType?: string;
}

interface Answer {
  description: string;
  content?: Content;
}

/** Who may call: API keys of these scopes (admin always may), the webhook signature, a key in the path, or anyone. */
type Access = { scopes: ApiKeyScope[] } | { keyInPath: ApiKeyScope[] } | 'signature' | 'open';

interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI style: `/v1/agents/{agentId}`. */
  path: string;
  operationId: string;
  tag: string;
  summary: string;
  description?: string;
  access: Access;
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** One example value per parameter. */
  paramExamples?: Record<string, string>;
  body?: Content;
  responses: Record<number, Answer>;
}

const body = <S extends z.ZodType>(schema: S, examples: Examples<z.input<S>>): Content => ({ schema, examples });
const answer = <S extends z.ZodType>(description: string, schema: S, examples?: Examples<z.output<S>>): Answer => ({
  description,
  content: { schema, examples },
});
const failure = (description: string, examples: Examples<z.output<typeof errorBody>>): Answer => answer(description, errorBody, examples);
const error = (code: string, message: string, details?: Array<{ path: string; message: string }>) => ({ error: { code, message, ...(details ? { details } : {}) } });

const RUN_ID = '0199b2c4-6f0e-7c1d-9a3b-4e5f6a7b8c9d';
const AT = '2025-06-03T09:15:02.481Z';

const AGENT_ALEX: Agent = {
  id: 'alex',
  name: 'Alex Account-Manager',
  team: 'account-managers',
  role: 'agent',
  online: true,
  capacity: 5,
  openConversations: 0,
  lastAssignedAt: null,
  email: 'alex@example.com',
  respondioUserId: null,
  removedAt: null,
};

const contactParams = { params: contactIdParams, paramExamples: { contactId: 'c-1' } };
const noOpenConversation = (contactId: string) =>
  failure('No open conversation for this contact.', { none: { summary: 'Nothing open', value: error('not_found', `contact ${contactId} has no open conversation`) } });

const operations: Operation[] = [
  {
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
  },
  {
    method: 'get',
    path: '/v1/conversations/{contactId}',
    operationId: 'getConversation',
    tag: 'Conversations',
    summary: "The conversation's state: where the run is, who has it, and why",
    description: '`chain`, while nobody is assigned yet: the step of the assignment chain it is on, and `until` when its wait ends.',
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
      }),
      404: failure('No conversation was ever opened for this contact.', {
        unknown: { summary: 'Unknown contact', value: error('not_found', 'contact c-9 has no open conversation') },
      }),
    },
  },
  {
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
  },
  {
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
  },
  {
    method: 'post',
    path: '/v1/contacts/{contactId}/messages',
    operationId: 'postMessage',
    tag: 'Contacts',
    summary: "The contact's message, to the open conversation",
    access: { scopes: ['integration'] },
    params: contactIdParams,
    paramExamples: { contactId: 'c-2' },
    body: body(inboundMessageBody, {
      reply: { summary: 'A reply with the email asked for', value: { messageId: 'm-1', text: 'es bob@example.com', timestamp: '2025-06-03T09:16:40Z' } },
    }),
    responses: {
      202: answer('Received.', messageAccepted, {
        received: { summary: 'Received', value: { contactId: 'c-2', messageId: 'm-1', duplicate: false } },
        duplicate: { summary: 'Received before: no second effect', value: { contactId: 'c-2', messageId: 'm-1', duplicate: true } },
      }),
      404: noOpenConversation('c-2'),
    },
  },
  {
    method: 'get',
    path: '/v1/contacts/{contactId}/messages',
    operationId: 'getTranscript',
    tag: 'Contacts',
    summary: "The contact's transcript, oldest first: inbound, outbound and notes, each with its delivery",
    access: { scopes: ['integration', 'read'] },
    params: contactIdParams,
    paramExamples: { contactId: 'c-2' },
    responses: {
      200: answer('The transcript.', transcript, {
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
  },
  {
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
  },
  {
    method: 'put',
    path: '/v1/agents/{agentId}',
    operationId: 'putAgent',
    tag: 'Agents',
    summary: 'Create or replace an agent',
    access: { scopes: [] },
    params: agentIdParams,
    paramExamples: { agentId: 'alex' },
    body: body(putAgentBody, {
      minimal: { summary: 'Only what is required: an online agent with the team’s default capacity', value: { name: 'Alex Account-Manager', team: 'account-managers' } },
      accountManager: {
        summary: 'An account manager, known to respond.io by email',
        value: { name: 'Alex Account-Manager', team: 'account-managers', capacity: 5, email: 'alex@example.com' },
      },
    }),
    responses: {
      200: answer('The agent as stored.', agent, { stored: { summary: 'The agent', value: AGENT_ALEX } }),
      409: failure('Another agent already has this email or respond.io user id.', {
        taken: { summary: 'Email taken', value: error('conflict', 'another agent already has this email', [{ path: 'email', message: 'taken' }]) },
      }),
    },
  },
  {
    method: 'patch',
    path: '/v1/agents/{agentId}',
    operationId: 'patchAgent',
    tag: 'Agents',
    summary: "Set an agent's presence or capacity",
    description:
      "Going online or gaining capacity serves the queue; going offline re-routes the agent's conversations when the routing rules say `rerouteOnOffline`.",
    access: { scopes: [] },
    params: agentIdParams,
    paramExamples: { agentId: 'alex' },
    body: body(patchAgentBody, {
      offline: { summary: 'Going offline', value: { online: false } },
      capacity: { summary: 'Back online with more room', value: { online: true, capacity: 8 } },
    }),
    responses: {
      200: answer('The agent as stored.', agent, {
        offline: {
          summary: 'Offline, keeping the open conversation unless the rules re-route it',
          value: { ...AGENT_ALEX, online: false, openConversations: 1, lastAssignedAt: AT },
        },
      }),
      404: failure('No such agent.', { unknown: { summary: 'Unknown agent', value: error('not_found', 'unknown agent zoe') } }),
    },
  },
  {
    method: 'get',
    path: '/v1/agents',
    operationId: 'listAgents',
    tag: 'Agents',
    summary: 'Every agent, with their open conversations',
    access: { scopes: ['read'] },
    responses: {
      200: answer('The agents, by team.', agentList, {
        agents: {
          summary: 'Two agents',
          value: {
            agents: [
              { ...AGENT_ALEX, openConversations: 1, lastAssignedAt: AT },
              {
                id: 'respondio-5120',
                name: 'Sam Ortega',
                team: 'vip',
                role: 'agent',
                online: false,
                capacity: null,
                openConversations: 0,
                lastAssignedAt: null,
                email: 'sam@example.com',
                respondioUserId: '5120',
                removedAt: null,
              },
            ],
          },
        },
      }),
    },
  },
  {
    method: 'get',
    path: '/v1/queue',
    operationId: 'getQueue',
    tag: 'Agents',
    summary: 'Waiting conversations, in the order they will be served',
    access: { scopes: ['read'] },
    responses: {
      200: answer('The queue: higher priority first, then the longest waiting.', queue, {
        waiting: {
          summary: 'One VIP waiting',
          value: {
            queue: [
              {
                position: 1,
                conversationId: RUN_ID,
                workflowId: 'conversation-c-3',
                contactId: 'c-3',
                tier: 'vip',
                priority: 10,
                enqueuedAt: AT,
                waitingMs: 42_000,
              },
            ],
          },
        },
      }),
    },
  },
  {
    method: 'get',
    path: '/v1/operator/overview',
    operationId: 'getOperatorOverview',
    tag: 'Operator',
    summary: 'Everything the operator page shows, at once: agents, queue, latest conversations, time to assignment by tier',
    description: 'The page (`/ui`) asks for it every 2 seconds; every part is bounded.',
    access: { scopes: ['read'] },
    responses: {
      200: answer('The overview.', operatorOverview, {
        overview: {
          summary: 'A VIP assigned, one regular contact waiting',
          value: {
            generatedAt: '2025-06-03T09:16:00.000Z',
            agents: [{ id: 'alex', name: 'Alex Account-Manager', team: 'account-managers', role: 'agent', online: true, load: 1, capacity: 5 }],
            queue: [
              { position: 1, conversationId: RUN_ID, workflowId: 'conversation-c-3', contactId: 'c-3', tier: 'regular', priority: 0, enqueuedAt: AT, waitingMs: 57_519 },
            ],
            recent: [
              {
                contactId: 'c-1',
                workflowId: 'conversation-c-1',
                runId: RUN_ID,
                startedAt: AT,
                closedAt: null,
                state: 'assigned',
                tier: 'vip',
                path: [{ via: 'account_manager', agentId: 'alex', assignedAt: '2025-06-03T09:15:03.112Z', releasedAt: null }],
                historyUrl: `http://localhost:8233/namespaces/default/workflows/conversation-c-1/${RUN_ID}/history`,
              },
            ],
            timeToAssignment: {
              minutes: 60,
              points: [{ tier: 'vip', minute: '2025-06-03T09:15:00.000Z', conversations: 1, averageSeconds: 0.631, maxSeconds: 0.631 }],
            },
            givenUp: [],
          },
        },
      }),
    },
  },
  {
    method: 'put',
    path: '/v1/directory/customers/{email}',
    operationId: 'putCustomer',
    tag: 'Directory',
    summary: 'Create or replace a customer of the built-in directory',
    access: { scopes: [] },
    params: emailParams,
    paramExamples: { email: 'ana@example.com' },
    body: body(putCustomerBody, {
      vip: { summary: 'A VIP customer with an account manager', value: { customerType: 'VIP', accountManager: 'alex', name: 'Ana Souza' } },
    }),
    responses: {
      200: answer('The customer as stored.', directoryCustomer, {
        stored: { summary: 'The customer', value: { email: 'ana@example.com', customerType: 'VIP', accountManager: 'alex', name: 'Ana Souza', updatedAt: AT } },
      }),
    },
  },
  {
    method: 'get',
    path: '/v1/directory/customers',
    operationId: 'findCustomer',
    tag: 'Directory',
    summary: 'A customer of the built-in directory, by email: what the default CRM step calls',
    access: { scopes: ['read'] },
    query: emailQuery,
    paramExamples: { email: 'ana@example.com' },
    responses: {
      200: answer('The customer.', directoryCustomer, {
        found: { summary: 'Found', value: { email: 'ana@example.com', customerType: 'VIP', accountManager: 'alex', name: 'Ana Souza', updatedAt: AT } },
      }),
      404: failure('No customer with this email.', { unknown: { summary: 'Not in the directory', value: error('not_found', 'no customer with email zoe@example.com') } }),
    },
  },
  {
    method: 'post',
    path: '/v1/webhooks/respondio',
    operationId: 'receiveRespondioEvent',
    tag: 'respond.io',
    summary: "respond.io's webhook events",
    description:
      'Signed by respond.io, not called with an API key: `X-Webhook-Signature` is base64(HMAC-SHA256(raw body, signing key)) with the key of one of the webhooks in `RESPONDIO_WEBHOOK_SIGNING_KEYS`. Answered once the event is recorded (milliseconds); applied in the background, per contact in order. Bodies up to 1 MB.',
    access: 'signature',
    body: body(respondioEvent, {
      conversationOpened: {
        summary: 'conversation.opened',
        value: {
          event_id: '6b0f3c2e-8a51-4d27-9a0c-1f2e3d4c5b6a',
          event_type: 'conversation.opened',
          contact: { id: 1048576, firstName: 'Ana', lastName: 'Souza', email: 'ana@example.com', phone: '+34600111222', language: 'pt-BR', status: 'open', assignee: null, tags: [] },
          conversation: { source: 'whatsapp_cloud', conversationOpenedAt: 1748942100, firstIncomingMessage: 'Olá!' },
        },
      },
      messageReceived: {
        summary: 'message.received (incoming)',
        value: {
          event_id: '0d9e8f7a-6b5c-4d3e-2f1a-0b9c8d7e6f5a',
          event_type: 'message.received',
          contact: { id: 1048577, firstName: 'Bob', lastName: 'Diaz', email: null, phone: null, language: 'es', status: 'open', assignee: null },
          message: {
            messageId: 3021448,
            channelMessageId: 'wamid.HBgLMzQ2MDAxMTEyMjIVAgASGBQzQTdC',
            contactId: 1048577,
            channelId: 1,
            traffic: 'incoming',
            message: { type: 'text', text: 'bob@example.com' },
            timestamp: 1748942200,
          },
          channel: { id: 1, name: 'WhatsApp', source: 'whatsapp_cloud' },
        },
      },
      conversationClosed: {
        summary: 'conversation.closed',
        value: {
          event_id: '4c3b2a19-0f8e-4d7c-b6a5-9e8d7c6b5a49',
          event_type: 'conversation.closed',
          contact: { id: 1048576, firstName: 'Ana', lastName: 'Souza', email: 'ana@example.com', status: 'closed', assignee: null },
          conversation: { category: 'Resolved', summary: '', openedTime: 1748942100, closedTime: 1748945700, closedBySource: 'user' },
        },
      },
      contactAssigneeUpdated: {
        summary: 'contact.assignee.updated (re-assigned by hand)',
        value: {
          event_id: '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a',
          event_type: 'contact.assignee.updated',
          contact: {
            id: 1048576,
            firstName: 'Ana',
            lastName: 'Souza',
            email: 'ana@example.com',
            status: 'open',
            assignee: { id: 5120, firstName: 'Sam', lastName: 'Ortega', email: 'sam@example.com' },
          },
        },
      },
    }),
    responses: {
      200: answer('Recorded.', webhookReceived, {
        received: { summary: 'Recorded', value: { received: true, eventId: '6b0f3c2e-8a51-4d27-9a0c-1f2e3d4c5b6a', duplicate: false } },
      }),
      409: failure(
        'respond.io dates the event (a message timestamp, a conversation opening or closing time) before the dedupe window (7 days, or `VIP_ROUTER_TRANSCRIPT_RETENTION` when shorter): a redelivery of it could no longer be recognised, so it is refused and nothing is recorded.',
        { tooOld: { summary: 'Too old', value: error('event_too_old', 'the event happened at 2025-06-03T09:15:00.000Z, before the 168 h in which redeliveries are recognised') } },
      ),
      401: failure('The signature is missing or matches no signing key; nothing is recorded.', {
        badSignature: {
          summary: 'Bad signature',
          value: error('invalid_signature', 'X-Webhook-Signature is missing or does not match any configured signing key'),
        },
      }),
      404: failure('Webhooks are not enabled (no signing key configured).', {
        disabled: { summary: 'Not enabled', value: error('not_found', 'respond.io webhooks are not enabled: set RESPONDIO_WEBHOOK_SIGNING_KEYS') },
      }),
    },
  },
  ...(['encode', 'decode'] as const).flatMap((operation): Operation[] => {
    const verb = operation === 'encode' ? 'Encrypt' : 'Decrypt';
    const Operation = operation === 'encode' ? 'Encode' : 'Decode';
    const plain = { metadata: { encoding: 'anNvbi9wbGFpbg==' }, data: 'ImhlbGxvIg==' };
    const encrypted = {
      metadata: { encoding: 'YmluYXJ5L2VuY3J5cHRlZA==', 'encryption-key-id': 'azE=' },
      data: 'JLeFfeJRTCYOWOBFljDC6659PXo1WnBCFswtbxmU2MUPYHuS8zsvm/pY1pejzAFuz6nO0BrxVIf8o+RWWw==',
    };
    const responses = {
      200: answer(`The payloads, ${operation}d, in the same order.`, codecPayloads, {
        [operation]: { summary: `${operation}d`, value: { payloads: [operation === 'encode' ? encrypted : plain] } },
      }),
      400: failure('Not a codec request, or a payload the keys cannot decrypt.', {
        invalid: { summary: 'Not base64', value: error('validation_failed', 'the request is invalid', [{ path: 'payloads.0.data', message: 'not valid base64' }]) },
      }),
    };
    const codecBody = body(codecPayloads, {
      payload: { summary: 'One JSON payload ("hello")', value: { payloads: [plain] } },
    });
    return [
      {
        method: 'post',
        path: `/codec/${operation}`,
        operationId: `codec${Operation}`,
        tag: 'Codec',
        summary: `${verb} Temporal payloads (codec server, for the Temporal CLI's --codec-endpoint)`,
        access: { scopes: operation === 'encode' ? ['codec'] : ['codec', 'decode'] },
        body: codecBody,
        responses,
      },
      {
        method: 'post',
        path: `/codec/ui/{key}/${operation}`,
        operationId: `codecUi${Operation}`,
        tag: 'Codec',
        summary: `${verb} Temporal payloads, the key in the path (for Temporal UI, which sends no header of ours)`,
        description:
          operation === 'encode'
            ? 'Always 403: the endpoint Temporal UI is given reads histories and never writes payloads. Encode with the key in an `Authorization` header (`POST /codec/encode`).'
            : 'The codec endpoint given to Temporal UI is `https://<vip-router>/codec/ui/<key>`, with a key of scope decode (`VIP_ROUTER_UI_CODEC_KEY`). Temporal UI can send no fixed header: its `passAccessToken` sends the signed-in user\'s own token, so the key stays in the path here; every other client sends it as `Authorization: Bearer`.',
        access: { keyInPath: operation === 'encode' ? [] : ['codec', 'decode'] },
        params: z.object({ key: z.string() }),
        paramExamples: { key: 'vr_codec-key-shown-once-by-npm-run-api-key' },
        body: codecBody,
        responses,
      },
    ];
  }),
  {
    method: 'get',
    path: '/healthz',
    operationId: 'liveness',
    tag: 'Health',
    summary: 'Liveness: the process answers',
    access: 'open',
    responses: { 200: answer('Alive.', health, { ok: { summary: 'Alive', value: { status: 'ok' } } }) },
  },
  {
    method: 'get',
    path: '/readyz',
    operationId: 'readiness',
    tag: 'Health',
    summary: 'Readiness: Temporal and PostgreSQL answer',
    access: 'open',
    responses: {
      200: answer('Ready.', readiness, { ready: { summary: 'Ready', value: { status: 'ready', checks: { temporal: { ok: true }, postgres: { ok: true } } } } }),
      503: answer('Temporal or PostgreSQL is down.', readiness, {
        postgresDown: {
          summary: 'PostgreSQL down',
          value: { status: 'not_ready', checks: { temporal: { ok: true }, postgres: { ok: false, error: 'connect ECONNREFUSED 127.0.0.1:5432' } } },
        },
      }),
    },
  },
  {
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    tag: 'Health',
    summary: 'Routing and SDK metrics, in Prometheus text format',
    access: { scopes: ['metrics', 'read'] },
    responses: {
      200: {
        description:
          "Conversations opened, CRM outcomes, respond.io calls, the queue and each agent's open conversations now; with `npm start` also the worker's: the SDK's metrics (`temporal_*`) and what the runs count (escalations, timeouts, time to assignment).",
        content: { schema: z.string(), mediaType: 'text/plain' },
      },
    },
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'openapi',
    tag: 'Docs',
    summary: 'This document',
    access: 'open',
    responses: { 200: { description: 'The OpenAPI 3.1 description of this API.', content: { schema: z.looseObject({ openapi: z.string() }) } } },
  },
  {
    method: 'get',
    path: '/docs',
    operationId: 'docs',
    tag: 'Docs',
    summary: 'This document, browsable (Swagger UI)',
    access: 'open',
    responses: { 200: { description: 'An HTML page.', content: { schema: z.string(), mediaType: 'text/html' } } },
  },
  {
    method: 'get',
    path: '/ui',
    operationId: 'operatorPage',
    tag: 'Operator',
    summary: 'The operator page: agents (presence can be changed there), queue, latest conversations, time to assignment',
    description:
      'Static: it shows nothing until an API key is entered (read to watch, admin to change presence), then reads `GET /v1/operator/overview` every 2 seconds. `/ui#key=<key>` opens it with that key.',
    access: 'open',
    responses: { 200: { description: 'An HTML page.', content: { schema: z.string(), mediaType: 'text/html' } } },
  },
];

// ------------------------------------------------------------------------------------------------ the document

type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string; license: { name: string; identifier: string } };
  tags: Array<{ name: string; description: string }>;
  paths: Record<string, Record<string, JsonSchema>>;
  components: { schemas: Record<string, JsonSchema>; responses: Record<string, JsonSchema>; securitySchemes: Record<string, JsonSchema> };
}

const COMPONENTS = '#/components/schemas/';

function componentSchemas(): Record<string, JsonSchema> {
  const convert = (registry: typeof requests, io: 'input' | 'output') => {
    const { schemas } = z.toJSONSchema(registry, {
      io,
      metadata: registry,
      uri: (id) => `${COMPONENTS}${id}`,
      override: ({ zodSchema, jsonSchema }) => void Object.assign(jsonSchema, refinements.get(zodSchema)),
    });
    if ('__shared' in schemas) throw new Error('a schema is shared by several components without a name of its own: name it');
    return Object.fromEntries(Object.entries(schemas).map(([id, schema]) => [id, embedded(schema)]));
  };
  return { ...convert(requests, 'input'), ...convert(answers, 'output') };
}

function schemaOf(content: Content, io: 'input' | 'output'): JsonSchema {
  // The codec answers in the shape it is asked in: one component serves both.
  const id = (io === 'input' ? requests : answers).get(content.schema)?.id ?? requests.get(content.schema)?.id;
  if (id) return { $ref: `${COMPONENTS}${id}` };
  return embedded(z.toJSONSchema(content.schema, { io }));
}

/** zod marks each schema with its dialect and id; inside an OpenAPI 3.1 document both are the document's. */
function embedded(schema: JsonSchema): JsonSchema {
  const copy = { ...schema };
  delete copy['$schema'];
  delete copy['$id'];
  return copy;
}

function parameters(operation: Operation): JsonSchema[] {
  const of = (schema: z.ZodObject | undefined, where: 'path' | 'query') => {
    if (!schema) return [];
    const { properties = {}, required = [] } = z.toJSONSchema(schema, { io: 'input' }) as { properties?: Record<string, JsonSchema>; required?: string[] };
    return Object.entries(properties).map(([name, property]) => ({
      name,
      in: where,
      required: where === 'path' || required.includes(name),
      schema: property,
      example: operation.paramExamples?.[name],
    }));
  };
  return [...of(operation.params, 'path'), ...of(operation.query, 'query')];
}

function scopesOf(access: Access): ApiKeyScope[] {
  if (typeof access === 'string') return [];
  if ('keyInPath' in access) return access.keyInPath.length > 0 ? ['admin', ...access.keyInPath] : [];
  return ['admin', ...access.scopes];
}

function accessText(access: Access): string {
  switch (access) {
    case 'open':
      return 'Open: no API key.';
    case 'signature':
      return 'Signed: `X-Webhook-Signature`, no API key.';
    default:
      if ('keyInPath' in access) return `The API key is the \`key\` path segment; scopes: ${scopesOf(access).join(', ') || 'none'}.`;
      return `API key scopes: ${scopesOf(access).join(', ')}.`;
  }
}

/** The operation's own answers, and the errors its door and its input can give (components.responses). */
function responsesOf(operation: Operation): Record<number, JsonSchema> {
  const byStatus: Record<number, JsonSchema> = {};
  for (const [status, { description, content }] of Object.entries(operation.responses)) {
    byStatus[Number(status)] = { description, ...(content ? { content: contentOf(content, 'output') } : {}) };
  }
  const otherwise = (status: number, name: keyof typeof SHARED_ERRORS) => (byStatus[status] ??= { $ref: `#/components/responses/${name}` });
  const keyed = typeof operation.access === 'object';
  if (operation.body || operation.params || operation.query) otherwise(400, 'BadRequest');
  if (keyed) otherwise(401, 'Unauthorized');
  if (keyed) otherwise(403, 'Forbidden');
  if (operation.body) otherwise(413, 'PayloadTooLarge');
  // Every key check limits failed authentications per client address; /v1 also limits each key's requests.
  if (keyed) otherwise(429, 'RateLimited');
  if (keyed || operation.path.startsWith('/v1/')) otherwise(503, 'Unavailable');
  return byStatus;
}

function contentOf(content: Content, io: 'input' | 'output'): JsonSchema {
  const examples = content.examples ? { examples: content.examples } : {};
  return { [content.mediaType ?? 'application/json']: { schema: schemaOf(content, io), ...examples } };
}

function operationObject(operation: Operation): JsonSchema {
  const bearer = typeof operation.access === 'object' && 'scopes' in operation.access;
  const security = bearer ? [{ apiKey: [] }] : operation.access === 'signature' ? [{ webhookSignature: [] }] : [];
  const params = parameters(operation);
  return {
    operationId: operation.operationId,
    tags: [operation.tag],
    summary: operation.summary,
    description: [operation.description, accessText(operation.access)].filter(Boolean).join('\n\n'),
    'x-scopes': scopesOf(operation.access),
    security,
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(operation.body ? { requestBody: { required: true, content: contentOf(operation.body, 'input') } } : {}),
    responses: responsesOf(operation),
  };
}

const SHARED_ERRORS = {
  BadRequest: {
    description: 'The request is invalid (`validation_failed`, naming the failing fields) or not JSON (`invalid_json`).',
    example: error('validation_failed', 'the request is invalid', [{ path: 'contact.id', message: 'use letters, digits and . _ : @ + -' }]),
  },
  Unauthorized: {
    description: 'No API key, or an unknown or revoked one.',
    example: error('unauthorized', 'send an API key as "Authorization: Bearer <key>"'),
    headers: { 'WWW-Authenticate': { description: '`Bearer`', schema: { type: 'string' } } },
  },
  Forbidden: {
    description: "The key's scope does not allow this.",
    example: error('forbidden', 'a read key cannot do this; it needs admin or integration'),
  },
  PayloadTooLarge: {
    description: 'The body is too large: over 100 kB for /v1 routes, 1 MB for the webhook, 4 MB for the codec.',
    example: error('entity.too.large', 'request entity too large'),
  },
  RateLimited: {
    description:
      "Over the API key's rate limit (`VIP_ROUTER_RATE_LIMIT`, /v1 routes), or too many failed authentications from this address (20 a minute): retry after `Retry-After` seconds.",
    example: error('rate_limited', 'too many requests for this API key; retry in 1200 ms'),
    headers: { 'Retry-After': { description: 'Seconds to wait.', schema: { type: 'integer', minimum: 1 } } },
  },
  Unavailable: {
    description: 'PostgreSQL or Temporal could not be reached, or too many API keys were being checked at once (`busy`): retry after `Retry-After` seconds. A retry is safe: message ids, event ids and open conversations are idempotent, so what part of the request took effect takes effect once.',
    example: error('unavailable', 'PostgreSQL is unavailable; retry in a few seconds (a retry is safe)'),
    headers: { 'Retry-After': { description: 'Seconds to wait.', schema: { type: 'integer', minimum: 1 } } },
  },
} satisfies Record<string, { description: string; example: unknown; headers?: JsonSchema }>;

/** The OpenAPI document, built from the route schemas. Pure: build it once and serve it. */
export function openApiDocument(): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const operation of operations) (paths[operation.path] ??= {})[operation.method] = operationObject(operation);
  const tags = [...new Set(operations.map((operation) => operation.tag))];
  return {
    openapi: '3.1.0',
    info: {
      title: 'vip-router',
      version,
      description: [
        'Routes customer conversations to the right agent, VIP customers first. The README explains the API in its sections **HTTP API (v1)** (routes and errors), **Security** (API keys and their scopes) and **respond.io** (the webhook).',
        'Every `/v1` route needs `Authorization: Bearer <API key>`, except the respond.io webhook (signed instead). A key has one scope: `admin` (everything), `integration` (open, messages, close, state), `read` (GETs), `metrics` (`/metrics` only), `codec` (the codec endpoints) or `decode` (decoding only, for Temporal UI); each operation names the scopes it allows (also in `x-scopes`). `npm run api-key -- create --scope admin` makes a key.',
        'Errors are `{ "error": { "code", "message", "details"? } }`. Bad input never starts a workflow or writes a row.',
      ].join('\n\n'),
      license: { name: 'MIT', identifier: 'MIT' },
    },
    tags: tags.map((name) => ({ name, description: TAGS[name] ?? name })),
    paths,
    components: {
      schemas: componentSchemas(),
      responses: Object.fromEntries(
        Object.entries(SHARED_ERRORS).map(([name, { example, ...response }]) => [
          name,
          { ...response, content: { 'application/json': { schema: { $ref: `${COMPONENTS}Error` }, examples: { [name]: { summary: response.description, value: example } } } } },
        ]),
      ),
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'An API key (`vr_…`), made with `npm run api-key`; its scope decides what it may do.' },
        webhookSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Webhook-Signature',
          description: "base64(HMAC-SHA256(raw body, the webhook's signing key)), as respond.io signs its webhooks.",
        },
      },
    },
  };
}

const TAGS: Record<string, string> = {
  Conversations: 'One routing run per open conversation of a contact.',
  Contacts: "A contact's messages.",
  Agents: 'Who takes conversations, and the queue of those waiting for one.',
  Directory: 'The built-in customer directory the default CRM step calls.',
  'respond.io': "respond.io's signed webhooks.",
  Codec: "Temporal's codec-server protocol: payloads are encrypted before they reach Temporal.",
  Health: 'Liveness, readiness and metrics, for an orchestrator and Prometheus.',
  Operator: 'The operator page and what it reads.',
  Docs: 'This description of the API.',
};
