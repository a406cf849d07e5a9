import {
  ActivityFailure,
  condition,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { capacityFreedSignal, closeConversationSignal, messageReceivedSignal, stateQuery } from './messages';
import { assignmentChain, crmBackoff, escalationChain, extractEmail, type Tier, tierFor } from './rules';
import { fillTemplate } from './template';
import type {
  AssignmentResult,
  AssignTarget,
  ConversationState,
  ConversationStatus,
  CrmOutcome,
  InboundMessage,
  OutboundKind,
  RoutingInput,
} from './types';

/** Postgres writes: retried until the database is back, a conversation is never dropped for an outage. */
const { saveContact, saveContactEmail, assignConversation, releaseConversation, enqueueConversation, leaveQueue, listQueuedWorkflows } =
  proxyActivities<Activities>({
    startToCloseTimeout: '30s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
  });

/** Outbound messages: a refusing webhook (4xx) is not retried; the transcript keeps the message anyway. */
const { sendMessage } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 20 },
});

/**
 * One open conversation, routed as in respond.io's "Route VIP contacts" template:
 * trigger → has email? → (no: ask, validate, jump back) → fetch CRM data → VIP or regular → assign → close.
 */
export async function routeConversation({ contact, config }: RoutingInput): Promise<ConversationStatus> {
  const { workflowId, firstExecutionRunId: conversationId } = workflowInfo();
  const status: ConversationStatus = { contactId: contact.id, conversationId, state: 'checking_email', invalidReplies: 0, path: [], decisions: [] };
  const inbox: InboundMessage[] = [];
  const seenMessageIds = new Set<string>();
  let closed = false;
  let capacitySignals = 0;

  setHandler(stateQuery, () => status);
  setHandler(messageReceivedSignal, (message) => {
    // The platform may deliver a message twice; only the first copy counts.
    if (seenMessageIds.has(message.messageId)) return;
    seenMessageIds.add(message.messageId);
    inbox.push(message);
  });
  setHandler(closeConversationSignal, () => void (closed = true));
  setHandler(capacityFreedSignal, () => void capacitySignals++);

  const enter = (state: ConversationState) => void (status.state = state);
  const step = (name: string, detail?: string) => {
    status.path.push(name);
    if (detail) status.decisions.push({ step: name, detail });
  };
  /** Waits like sleep, but a close ends the wait at once; true when closed. */
  const pause = (ms: number) => condition(() => closed, ms);
  const say = (kind: OutboundKind, key: string, text: string, direction: 'outbound' | 'note' = 'outbound') =>
    sendMessage({ contactId: contact.id, conversationId, key, kind, text, direction }).catch((error: unknown) => {
      step('message_not_delivered', `${kind}: ${(error as Error).message}`);
    });

  const { fetchCustomerData } = proxyActivities<Activities>({
    startToCloseTimeout: config.crm.timeout + 5_000,
    // The workflow's own loop below retries, so each attempt shows in the history with its reason.
    retry: { maximumAttempts: 1 },
  });

  async function fetchCrm(email: string): Promise<CrmOutcome> {
    enter('fetching_crm');
    const { retry } = config.crm;
    let outcome: CrmOutcome = { outcome: 'error', retryable: false, reason: 'not attempted' };
    for (let attempt = 1; attempt <= retry.maxAttempts && !closed; attempt++) {
      try {
        outcome = await fetchCustomerData({ email, contact, crm: config.crm });
      } catch (error) {
        const reason = error instanceof ActivityFailure ? (error.cause?.message ?? error.message) : String(error);
        outcome = { outcome: 'error', retryable: true, reason };
      }
      if (outcome.outcome !== 'error') break;
      step('crm_error', `attempt ${attempt}/${retry.maxAttempts}: ${outcome.reason}`);
      if (!outcome.retryable || attempt === retry.maxAttempts) break;
      if (await pause(crmBackoff(attempt, retry))) break;
    }
    return outcome;
  }

  type Answer = { kind: 'email'; email: string } | { kind: 'too_many_invalid' } | { kind: 'no_reply' } | { kind: 'closed' };

  async function askForEmail(): Promise<Answer> {
    enter('asking_email');
    const { maxReAsks, replyTimeout, messages } = config.askEmail;
    const vars = { firstName: contact.firstName ?? '', lastName: contact.lastName ?? '' };
    inbox.length = 0; // only replies to the question count, not what the contact said before it
    step('ask_email');
    await say('question', 'ask-email', fillTemplate(messages.question, vars));
    for (;;) {
      const replied = await condition(() => inbox.length > 0 || closed, replyTimeout);
      if (closed) return { kind: 'closed' };
      if (!replied) return { kind: 'no_reply' };
      const email = extractEmail(inbox.shift()!.text);
      if (email) {
        step('valid_reply');
        await say('success', 'email-saved', fillTemplate(messages.success, { ...vars, email }));
        await saveContactEmail({ contactId: contact.id, email });
        step('save_email', email);
        return { kind: 'email', email };
      }
      status.invalidReplies++;
      step('invalid_reply', `invalid reply ${status.invalidReplies}`);
      if (status.invalidReplies > maxReAsks) return { kind: 'too_many_invalid' };
      step('ask_email', `re-ask ${status.invalidReplies}/${maxReAsks}`);
      await say('invalid_reply', `re-ask-${status.invalidReplies}`, fillTemplate(messages.invalid, vars));
    }
  }

  /** Tries the chain; when nobody is available, waits in the queue until capacity frees up or time runs out. */
  async function assign(chain: AssignTarget[], tier: Tier, note?: string): Promise<AssignmentResult | undefined> {
    enter('assigning');
    const request = { conversationId, workflowId, contactId: contact.id, targets: chain, onlineOnly: config.assignment.onlineOnly, note };
    let assigned = await assignConversation(request);
    if (!assigned) {
      enter('queued');
      step('queued', `nobody available in ${chain.map(describeTarget).join(' → ')}`);
      await enqueueConversation({ conversationId, workflowId, contactId: contact.id, tier: tier.name, priority: tier.priority });
      const deadline = Date.now() + config.assignment.maxQueueWait;
      // Enqueued first, then tried again: a capacity change between our first try and the enqueue is not missed.
      while (!closed) {
        const signalsSeen = capacitySignals;
        assigned = await assignConversation(request);
        if (assigned) break;
        const remaining = deadline - Date.now();
        if (remaining <= 0 || !(await condition(() => closed || capacitySignals !== signalsSeen, remaining))) break;
      }
      if (!assigned) await leaveQueue(conversationId);
    }
    if (assigned) {
      status.assignee = { agentId: assigned.agentId, name: assigned.name, team: assigned.team };
      step('assigned', `${assigned.agentId} via ${assigned.via} (${assigned.strategy})`);
    }
    return assigned ?? undefined;
  }

  async function escalate(reason: string, tier: Tier): Promise<void> {
    step('escalate', reason);
    await say('escalation_note', 'escalation-note', reason, 'note');
    if (await assign(escalationChain(config), tier, reason)) enter('escalated');
    else if (!closed) fail('no manager became available to take the escalation');
  }

  function fail(reason: string) {
    enter('failed');
    status.reason = reason;
    step('failed', reason);
  }

  async function route(tier: Tier, crmFields: Record<string, unknown>, reason?: string): Promise<void> {
    status.tier = tier.name;
    step(`tier:${tier.name}`, reason);
    if (await assign(assignmentChain(tier, crmFields, config), tier)) return enter('assigned');
    if (closed) return;
    step('queue_timeout', `not assigned within ${config.assignment.maxQueueWait} ms`);
    if (config.assignment.onQueueTimeout === 'close') return void (closed = true);
    await escalate('nobody on the routing chain became available in time', tier);
  }

  async function routeFromEmailOrQuestion(): Promise<void> {
    let email = contact.email ? extractEmail(contact.email) : undefined;
    while (!closed) {
      step('check_email', email ? 'has email' : 'no email');
      if (email) {
        step('fetch_crm');
        const crm = await fetchCrm(email);
        if (closed) return;
        if (crm.outcome === 'found') {
          const customerType = crm.fields['customerType'];
          if (typeof customerType === 'string') status.customerType = customerType;
          return route(tierFor(customerType, config), crm.fields, `customerType=${String(customerType ?? '(none)')}`);
        }
        const why = crm.outcome === 'not_found' ? 'CRM has no record of this contact' : `CRM unavailable: ${crm.reason}`;
        step(crm.outcome === 'not_found' ? 'crm_not_found' : 'crm_failed', why);
        status.reason = crm.outcome === 'error' ? why : undefined;
        return route(tierFor(undefined, config), {}, why);
      }
      const answer = await askForEmail();
      switch (answer.kind) {
        case 'email':
          email = answer.email; // jump back to "has email?" and on to the CRM step
          continue;
        case 'closed':
          return;
        case 'too_many_invalid':
          return escalate(fillTemplate(config.askEmail.messages.escalationNote, { invalidReplies: status.invalidReplies }), tierFor(undefined, config));
        case 'no_reply':
          step('reply_timeout', `no reply within ${config.askEmail.replyTimeout} ms: ${config.askEmail.onReplyTimeout}`);
          if (config.askEmail.onReplyTimeout === 'close') return void (closed = true);
          if (config.askEmail.onReplyTimeout === 'escalate') return escalate('the contact did not reply to the email question', tierFor(undefined, config));
          return route(tierFor(undefined, config), {}, 'no reply to the email question');
      }
    }
  }

  step('trigger');
  await saveContact(contact);
  await routeFromEmailOrQuestion();
  await condition(() => closed);

  const released = await releaseConversation(conversationId);
  await leaveQueue(conversationId);
  if (released) await wakeQueuedConversations();
  delete status.assignee;
  enter('closed');
  step('close', released ? `released ${released}` : undefined);
  log.info('conversation closed', { contactId: contact.id, path: status.path.join(' → ') });
  return status;

  /** A freed slot may serve someone waiting: tell the queued runs to try again. */
  async function wakeQueuedConversations(): Promise<void> {
    const waiting = await listQueuedWorkflows();
    await Promise.all(
      waiting
        .filter((id) => id !== workflowId)
        .map((id) => getExternalWorkflowHandle(id).signal(capacityFreedSignal).catch(() => undefined)),
    );
  }
}

function describeTarget(target: AssignTarget): string {
  switch (target.kind) {
    case 'agent':
      return `${target.via} ${target.agentId}`;
    case 'team':
      return `team ${target.team}`;
    case 'role':
      return `any ${target.role}`;
  }
}
