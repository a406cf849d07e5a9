import { z } from 'zod';
import type { WaitingEntry } from '../assignment/queue';
import type { Agent } from '../db/agents';
import type { DirectoryCustomer } from '../db/directory';
import type { ErasedRows } from '../db/erasure';
import type { FirstResponseSummary } from '../db/first-responses';
import type { TranscriptMessage } from '../db/messages';
import type { PathStep, TimeToAssignment } from '../db/operator-reads';
import type { GivenUpEffect } from '../db/platform-calls';
import type { Assignee, AssignmentResult, ChainPosition, ConversationState, ConversationStatus, Decision } from '../domain/conversation';
import type { Answer, Examples } from './contract';
import type { OperatorAgent, OperatorOverview, RecentConversation } from './operator-overview';

/**
 * What the routes answer, as the OpenAPI document describes it: each schema's output is the type the code sends,
 * with the same fields (checked by the compiler), and real answers are checked against it by
 * test/api/openapi.test.ts. `id` names the component.
 */

/** A response schema that says exactly what the code sends: its output is the type, with the same fields. */
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
const describes =
  <T>() =>
  <S extends z.ZodType<T>>(schema: S & (SameKeys<z.output<S>, T> extends true ? unknown : never)): S =>
    schema;

const isoTime = z.iso.datetime({ offset: true });



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

const assignee = describes<Assignee>()(z.object({ agentId: z.string(), name: z.string(), team: z.string() })).meta({
  id: 'Assignee',
  description: 'The agent who holds the conversation.',
});

const assignment = describes<AssignmentResult>()(
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
).meta({ id: 'Assignment', description: 'An assignment: who, and how they were chosen (`via` the chain step, `strategy` within a team).' });

const decision = describes<Decision>()(z.object({ step: z.string(), detail: z.string() }));

const chainPosition = describes<ChainPosition>()(z.object({ step: z.number().int().min(0), steps: z.array(z.string()), until: isoTime })).meta({
  id: 'ChainPosition',
  description:
    "Where the tier's assignment chain stands while nobody is assigned: the step it is on, and `until` when its wait ends.",
});

export const conversationStatus = describes<ConversationStatus>()(
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
    opensAt: isoTime.optional().meta({ description: 'Held outside business hours (`queued`, reason `outside business hours`): when the team opens.' }),
  }),
).meta({ id: 'ConversationStatus', description: 'The live state of the open run, or the final state of the latest one.' });

export const conversationStarted = z.object({ contactId: z.string(), workflowId: z.string(), runId: z.string() }).meta({
  id: 'ConversationStarted',
  description: 'The routing run of the conversation (`workflowId` is `conversation-<contactId>`).',
});

export const conversationClosing = z.object({ contactId: z.string(), closing: z.literal(true) }).meta({ id: 'ConversationClosing' });

export const transferred = z.object({ contactId: z.string(), assignee: assignment }).meta({ id: 'Transferred' });

export const messageAccepted = z.object({ contactId: z.string(), messageId: z.string(), duplicate: z.boolean() }).meta({
  id: 'MessageAccepted',
  description: '`duplicate`: this `messageId` was received before, and had no second effect.',
});

const transcriptMessage = describes<TranscriptMessage>()(
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
).meta({
    id: 'TranscriptMessage',
    description:
      "One message of the transcript: the contact's (`inbound`, `received`), the service's (`outbound`: `stored`, then `delivered` or `failed` with `deliveryError`) and notes for agents (a `delivered` note whose comment respond.io never confirmed says so in `deliveryError`).",
  });

export const erasure = describes<{ contactId: string; conversationClosed: boolean; removed: ErasedRows }>()(
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
).meta({
    id: 'ContactErased',
    description:
      "Rows removed, or emptied of the contact's data (a webhook event keeps its id, to recognise a redelivery), per table; all 0 when nothing was left.",
  });

export const transcript = z.object({ contactId: z.string(), messages: z.array(transcriptMessage) }).meta({
  id: 'Transcript',
  description: 'Oldest first.',
});

export const agent = describes<Agent>()(
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
).meta({
    id: 'Agent',
    description:
      "`capacity` null: the team's default. `email` and `respondioUserId`: how respond.io knows the agent. `removedAt`: an agent sync no longer found the user in respond.io.",
  });

export const agentList = z.object({ agents: z.array(agent) }).meta({ id: 'AgentList' });

const queueEntry = describes<WaitingEntry>()(
  z.object({
    position: z.number().int().min(1),
    conversationId: z.string(),
    workflowId: z.string(),
    contactId: z.string(),
    tier: z.string(),
    priority: z.number().int(),
    effectivePriority: z.number().int(),
    enqueuedAt: isoTime,
    waitingMs: z.number().int(),
  }),
).meta({
  id: 'QueueEntry',
  description:
    "`priority`: the tier's. `effectivePriority`: what the queue is served by now, the tier's priority risen with the wait when queue aging is set (routing.yaml `queue.aging`, `tiers[].aging`). `position`: 1 is served next.",
});

export const queue = z.object({ queue: z.array(queueEntry) }).meta({
  id: 'Queue',
  description: 'Waiting conversations in the order they will be served.',
});

const operatorAgent = describes<OperatorAgent>()(
  z.object({
    id: z.string(),
    name: z.string(),
    team: z.string(),
    role: agent.shape.role,
    online: z.boolean(),
    load: z.number().int().min(0),
    capacity: z.number().int().min(0),
  }),
).meta({
    id: 'OperatorAgent',
    description:
      "`load`: open conversations. `capacity`: the agent's own, else the team's default, else the routing config's.",
  });

const pathStep = describes<PathStep>()(z.object({ via: z.string(), agentId: z.string(), assignedAt: isoTime, releasedAt: isoTime.nullable() })).meta({
  id: 'PathStep',
  description:
    'One agent the conversation was given to, and how: `via` is the chain step (`account_manager`, `team`, `manager`…), `transfer`, `next_shift`, `escalation` or `platform` (by hand).',
});

const recentConversation = describes<RecentConversation>()(
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
).meta({
    id: 'RecentConversation',
    description:
      "A routing run as Temporal's visibility lists it. `state` and `tier` are the search attributes the run keeps (without them: `open` or `closed`; a run ended otherwise says how, e.g. `terminated`); `path` is what PostgreSQL recorded of its assignments, oldest first; `historyUrl` opens its history in Temporal UI (`TEMPORAL_UI_URL`).",
  });

const timeToAssignment = describes<TimeToAssignment>()(
  z.object({
    tier: z.string(),
    minute: isoTime,
    conversations: z.number().int().min(1),
    averageSeconds: z.number().min(0),
    maxSeconds: z.number().min(0),
  }),
).meta({
    id: 'TimeToAssignment',
    description:
      'The conversations of a tier first assigned within one minute (`minute`, its start), and how long they took from opening.',
  });

const firstResponse = describes<FirstResponseSummary>()(
  z.object({
    tier: z.string(),
    answered: z.number().int().min(0),
    averageSeconds: z.number().min(0).nullable(),
    maxSeconds: z.number().min(0).nullable(),
    missed: z.number().int().min(0),
  }),
).meta({
    id: 'FirstResponseByTier',
    description:
      "A tier's first responses: assignees who wrote to the contact within the first-response time (`answered`, with the average and longest time from assignment; null when none) and those who let it pass (`missed`: the conversation moved on).",
  });

const givenUpEffect = describes<GivenUpEffect>()(
  z.object({ conversationId: z.string(), contactId: z.string(), effect: z.string(), reason: z.string(), givenUpAt: isoTime }),
).meta({
    id: 'GivenUpEffect',
    description:
      "An effect on the messaging platform (`effect`: message, assignee or close) that respond.io did not take within its time bound (4 hours of retries through an outage) and was given up; `reason` is the run's decision, with respond.io's last answer.",
  });

export const operatorOverview = describes<OperatorOverview>()(
  z.object({
    generatedAt: isoTime,
    agents: z.array(operatorAgent),
    queue: z.array(queueEntry),
    recent: z.array(recentConversation),
    recentError: z.string().optional(),
    timeToAssignment: z.object({ minutes: z.number().int().min(1), points: z.array(timeToAssignment) }),
    firstResponse: z.object({ minutes: z.number().int().min(1), tiers: z.array(firstResponse) }),
    givenUp: z.array(givenUpEffect),
  }),
).meta({
    id: 'OperatorOverview',
    description:
      "What the operator page shows: the agents (an agent sync's removed ones left out), the queue in serving order (up to 500), the routing runs of this API's task queue (up to 50: open ones first, then the latest closed; `recentError` when Temporal's visibility did not answer), time to first assignment by tier and minute over `minutes`, first responses by tier over the same minutes, and the latest effects given up (up to 20, newest first).",
  });

export const directoryCustomer = describes<DirectoryCustomer>()(
  z.object({ email: z.string(), customerType: z.string(), accountManager: z.string().nullable(), name: z.string().nullable(), updatedAt: isoTime }),
).meta({
    id: 'DirectoryCustomer',
    description:
      "A customer of the built-in directory, as the default CRM step reads it (`customerType` picks the tier, `accountManager` an agent id).",
  });

export const webhookReceived = z.object({ received: z.literal(true), eventId: z.string(), duplicate: z.boolean() }).meta({
  id: 'WebhookReceived',
  description:
    'The event is recorded; its effect follows in the background. `duplicate`: this `event_id` was received before.',
});

const problem = z.object({ path: z.string(), message: z.string() });
export const errorBody = z.object({ error: z.object({ code: z.string(), message: z.string(), details: z.array(problem).optional() }) }).meta({
  id: 'Error',
  description: 'Every error. `details` names the failing fields (`path` in dot notation).',
});

export const health = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });
const check = z.object({ ok: z.boolean(), error: z.string().optional() });
export const readiness = z.object({ status: z.enum(['ready', 'not_ready']), checks: z.object({ temporal: check, postgres: check }) }).meta({ id: 'Readiness' });


/** A success answer: its examples are what the schema outputs. */
export const answer = <S extends z.ZodType>(description: string, schema: S, examples?: Examples<z.output<S>>): Answer => ({
  description,
  content: { schema, examples },
});

/** An error answer of the route's own (the errors every route of its kind can give are added by the document). */
export const failure = (description: string, examples: Examples<z.output<typeof errorBody>>): Answer => answer(description, errorBody, examples);

/** An error body, as `errorHandler` sends it. */
export const error = (code: string, message: string, details?: Array<{ path: string; message: string }>) => ({
  error: { code, message, ...(details ? { details } : {}) },
});
