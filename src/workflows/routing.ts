import { allHandlersFinished, condition, log, setHandler, upsertMemo, workflowInfo } from '@temporalio/workflow';
import type { RoutingConfig } from '../domain/routing-config';
import type { ConversationStatus, CrmOutcome, RoutingInput } from '../domain/conversation';
import { assignAlong, serve } from './assigning';
import {
  agentWentOfflineSignal,
  assignmentChangedSignal,
  CLOSING_MEMO,
  closeConversationSignal,
  conversationReopenedSignal,
  messageReceivedSignal,
  platformAssigneeChangedSignal,
  READS_MESSAGES_MEMO,
  stateQuery,
  transferUpdate,
} from './definitions';
import type { RoutingMetrics } from './run-metrics';
import { closingEffects } from './platform-effects';
import { crmBackoff, escalationChain, extractEmail, type ResolvedLink, resolveChain, type Tier, tierFor } from './rules';
import { failureReason } from './run';
import { type RunContext, startRun } from './run-context';
import { say } from './say';
import { fillTemplate } from './template';

/**
 * One open conversation, routed as in respond.io's "Route VIP contacts" template: trigger → has email? → (no: ask,
 * validate, jump back) → fetch CRM data → VIP or regular → assign → serve → close. Each box is one call below, in
 * this order; the run's state and its handlers' logic are in Run.
 */
export async function routeConversation(input: RoutingInput): Promise<ConversationStatus> {
  const conversation = startRun(input);
  const { run } = conversation;
  setHandler(stateQuery, () => run.status);
  setHandler(messageReceivedSignal, (message) => run.messageReceived(message));
  setHandler(closeConversationSignal, (request) => run.closeConversation(request));
  setHandler(platformAssigneeChangedSignal, (change) => run.platformAssigneeChanged(change));
  setHandler(assignmentChangedSignal, () => run.assignmentChanged());
  setHandler(conversationReopenedSignal, () => run.conversationReopened());
  setHandler(agentWentOfflineSignal, (offline) => run.agentWentOffline(offline));
  setHandler(transferUpdate, (request) => run.transfer(request), { validator: (request) => run.validateTransfer(request) });

  await trigger(conversation);
  let email = conversation.contact.email ? extractEmail(conversation.contact.email) : undefined;
  while (!run.closed) {
    run.record('check_email', email ? 'has email' : 'no email');
    if (email) {
      const crm = await fetchCrm(conversation, email);
      if (!run.closed) await assignInTier(conversation, chooseTier(conversation, crm));
      break;
    }
    const answer = await askForEmail(conversation);
    if (answer.kind !== 'email') {
      await routeWithoutEmail(conversation, answer);
      break;
    }
    email = answer.email; // jump back to "has email?" and on to the CRM
  }
  await condition(() => run.closed);
  return close(conversation);
}

/** The conversation opened: the contact is saved. */
async function trigger({ run, activities, contact }: RunContext): Promise<void> {
  run.record('trigger');
  await activities.saveContact(contact);
}

type Answer = { kind: 'email'; email: string } | { kind: 'too_many_invalid' } | { kind: 'no_reply' } | { kind: 'closed' } | { kind: 'taken_over' };

async function askForEmail(conversation: RunContext): Promise<Answer> {
  const { run, config, contact, texts } = conversation;
  run.enter('asking_email');
  const { maxReAsks, replyTimeout } = config.askEmail;
  const vars = { firstName: contact.firstName ?? '', lastName: contact.lastName ?? '' };
  const earlier = await emailWrittenBefore(conversation);
  if (earlier) return earlier;
  run.record('ask_email');
  await say(conversation, 'question', 'ask-email', fillTemplate(texts.question, vars));
  for (;;) {
    const replied = await condition(() => run.hasMessage || run.closed || run.takenOver, replyTimeout);
    if (run.closed) return { kind: 'closed' };
    if (run.takenOver) return { kind: 'taken_over' };
    if (!replied) return { kind: 'no_reply' };
    const email = extractEmail(run.nextMessage()!.text);
    if (email) {
      run.record('valid_reply');
      await say(conversation, 'success', 'email-saved', fillTemplate(texts.success, { ...vars, email }));
      await saveEmail(conversation, email);
      return { kind: 'email', email };
    }
    const invalidReplies = run.invalidReply();
    if (invalidReplies > maxReAsks) return { kind: 'too_many_invalid' };
    run.record('ask_email', `re-ask ${invalidReplies}/${maxReAsks}`);
    await say(conversation, 'invalid_reply', `re-ask-${invalidReplies}`, fillTemplate(texts.invalid, vars));
  }
}

/**
 * What the contact wrote before the question was sent (a busy worker may send it late): an email there is used
 * rather than asked for; anything else is recorded as not counted. Runs recorded before this kept no such messages.
 */
async function emailWrittenBefore(conversation: RunContext): Promise<Answer | undefined> {
  const { run, features } = conversation;
  const earlier = run.takeMessages();
  if (!features.earlyEmail) return undefined;
  const found = earlier.map((message) => ({ message, email: extractEmail(message.text) })).reverse().find((m) => m.email);
  for (const { messageId } of earlier) {
    if (messageId !== found?.message.messageId) run.record('message_not_counted', `${messageId}: written before the question, no email taken from it`);
  }
  if (!found) return undefined;
  run.record('email_from_earlier_message', `${found.email} from message ${found.message.messageId}, written before the question: not asked`);
  await saveEmail(conversation, found.email!);
  return { kind: 'email', email: found.email! };
}

async function saveEmail({ run, activities, contact, conversationId, input }: RunContext, email: string): Promise<void> {
  const saved = await activities.saveContactEmail({ contactId: contact.id, conversationId, email, platform: input.platform });
  run.record('save_email', email);
  // Runs recorded before the platform existed got no answer here.
  if (saved?.platformRefused) run.record('platform_refused', `save email: ${saved.platformRefused}`);
}

/** Fetch CRM data, retried with backoff in a bounded loop: each attempt is in the history with its reason. */
async function fetchCrm(conversation: RunContext, email: string): Promise<CrmOutcome> {
  const { run, config, contact, input, activities } = conversation;
  stopReadingMessages(conversation);
  run.record('fetch_crm');
  run.enter('fetching_crm');
  const { retry } = config.crm;
  // The worker reads the CRM settings of the run's rules version itself; runs started before versions name theirs.
  const lookup = input.rulesVersion === undefined ? { email, contact, crm: config.crm } : { email, contact, rulesVersion: input.rulesVersion };
  let outcome: CrmOutcome = { outcome: 'error', retryable: false, reason: 'not attempted' };
  for (let attempt = 1; attempt <= retry.maxAttempts && !run.closed; attempt++) {
    try {
      outcome = await activities.fetchCustomerData(lookup);
    } catch (error) {
      outcome = { outcome: 'error', retryable: true, reason: failureReason(error) };
    }
    if (outcome.note) run.record('crm_settings', outcome.note);
    if (outcome.outcome !== 'error') break;
    run.record('crm_error', `attempt ${attempt}/${retry.maxAttempts}: ${outcome.reason}`);
    if (!outcome.retryable || attempt === retry.maxAttempts) break;
    if (await run.pause(crmBackoff(attempt, retry))) break;
  }
  return outcome;
}

interface TierChoice {
  tier: Tier;
  crmFields: Record<string, unknown>;
  reason: string;
}

/** VIP or regular: the tier of the CRM's customer type; without a CRM record, regular. */
function chooseTier({ run, config }: RunContext, crm: CrmOutcome): TierChoice {
  if (crm.outcome === 'found') {
    const customerType = crm.fields['customerType'];
    if (typeof customerType === 'string') run.customerType(customerType);
    return { tier: tierFor(customerType, config), crmFields: crm.fields, reason: `customerType=${String(customerType ?? '(none)')}` };
  }
  const why = crm.outcome === 'not_found' ? 'CRM has no record of this contact' : `CRM unavailable: ${crm.reason}`;
  run.record(crm.outcome === 'not_found' ? 'crm_not_found' : 'crm_failed', why);
  run.explain(crm.outcome === 'error' ? why : undefined);
  return regular(config, why);
}

function regular(config: RoutingConfig, reason: string): TierChoice {
  return { tier: tierFor(undefined, config), crmFields: {}, reason };
}

/** Assign along the tier's chain and serve; nobody in time: close or escalate, as the rules say. */
async function assignInTier(conversation: RunContext, { tier, crmFields, reason }: TierChoice): Promise<void> {
  const { run, config, contact, activities, metrics, texts } = conversation;
  run.tier(tier.name, reason);
  const lastAgentLink = tier.chain.find((link) => link.kind === 'last_agent');
  const lastAgentId = lastAgentLink ? await activities.findLastAgent({ contactId: contact.id, withinDays: lastAgentLink.withinDays }) : null;
  if (await assignAndServe(conversation, resolveChain(tier.chain, { crmFields, lastAgentId }, config), tier)) return;
  run.record('queue_timeout', `not assigned within ${config.assignment.maxQueueWait} ms`);
  metrics.queueTimedOut();
  if (config.assignment.onQueueTimeout === 'close') return run.close('run');
  await escalate(conversation, 'nobody on the routing chain became available in time', texts.escalationQueueTimeout, tier, 'queue_timeout');
}

/** No email to look up: escalate, close, or route as regular, as the answer and the rules say. */
async function routeWithoutEmail(conversation: RunContext, answer: Exclude<Answer, { kind: 'email' }>): Promise<void> {
  const { run, config, texts, metrics } = conversation;
  stopReadingMessages(conversation);
  const tier = tierFor(undefined, config);
  switch (answer.kind) {
    case 'closed':
      return;
    case 'too_many_invalid': {
      const note = fillTemplate(texts.escalationNote, { invalidReplies: run.status.invalidReplies });
      return escalate(conversation, `${run.status.invalidReplies} replies were not an email address`, note, tier, 'invalid_replies');
    }
    case 'no_reply':
      run.record('reply_timeout', `no reply within ${config.askEmail.replyTimeout} ms: ${config.askEmail.onReplyTimeout}`);
      metrics.replyTimedOut();
      if (config.askEmail.onReplyTimeout === 'close') return run.close('run');
      if (config.askEmail.onReplyTimeout === 'escalate') {
        return escalate(conversation, 'the contact did not reply to the email question', texts.escalationNoReply, tier, 'no_reply');
      }
      return assignInTier(conversation, regular(config, 'no reply to the email question'));
    case 'taken_over':
      // The regular chain only matters if the person hands the conversation back.
      return assignInTier(conversation, regular(config, 'assigned by hand in the platform before routing'));
  }
}

type EscalatedWhy = Parameters<RoutingMetrics['escalated']>[0];

/** `reason` is for the decisions; `note` is what the agents read, in the contact's language. */
async function escalate(conversation: RunContext, reason: string, note: string, tier: Tier, why: EscalatedWhy): Promise<void> {
  const { run, config, metrics } = conversation;
  run.record('escalate', reason);
  metrics.escalated(why);
  await say(conversation, 'escalation_note', 'escalation-note', note, 'note');
  if (!(await assignAndServe(conversation, escalationChain(config), tier, reason))) run.fail('no manager became available to take the escalation');
}

/** Assigns along the chain and keeps the conversation served until it closes; false if nobody took it in time. */
async function assignAndServe(conversation: RunContext, chain: ResolvedLink[], tier: Tier, note?: string): Promise<boolean> {
  const { run, metrics } = conversation;
  let assigned = await assignAlong(conversation, chain, tier, note);
  while (assigned && !run.closed) {
    run.record('assigned', `${assigned.agentId} via ${assigned.via} (${assigned.strategy})`);
    if (run.firstAssignment()) metrics.firstAssigned(tier.name, (Date.now() - workflowInfo().startTime.getTime()) / 1000);
    const reroute = await serve(conversation, assigned, chain);
    if (!reroute) return true;
    run.unassign();
    assigned = await assignAlong(conversation, reroute.chain, tier, reroute.reason, reroute.exclude);
  }
  return assigned !== undefined || run.closed;
}

/** Close: what the conversation holds is released and, unless the platform closed it, closed there too. */
async function close({ run, features, activities, mirror, contact, conversationId }: RunContext): Promise<ConversationStatus> {
  // From here a new conversation of the contact replaces this run instead of being told "already open".
  if (features.reopenWhileClosing) upsertMemo({ [CLOSING_MEMO]: true });
  const released = await activities.releaseConversation(conversationId);
  run.refuseTransfers('the conversation closed');
  if (run.closedBy !== 'platform') {
    // The platform closed its own conversation already; any other close is carried out there too.
    await closingEffects(features.reopenWhileClosing, run, async () => {
      if (run.status.assignee) await mirror.assignee(null);
      await mirror.close();
    });
  }
  run.unassign();
  run.enter('closed');
  // A transfer update still being answered finishes before the run does.
  await condition(allHandlersFinished);
  run.record('close', released ? `released ${released}` : undefined);
  log.info('conversation closed', { contactId: contact.id, path: run.status.path.join(' → ') });
  return run.status;
}

/**
 * From here on the run reads no message of the contact: the API keeps them in the transcript without signalling
 * the run, so a conversation of weeks and thousands of messages keeps a short history.
 */
function stopReadingMessages({ run, features }: RunContext): void {
  if (run.stopReadingMessages() && features.messagesMemo) upsertMemo({ [READS_MESSAGES_MEMO]: false });
}
