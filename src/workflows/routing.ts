import { allHandlersFinished, condition, log, proxyActivities, setHandler, upsertMemo, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { PLATFORM_CALLS } from './activity-options';
import { assigning } from './assigning';
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
import { crmBackoff, escalationChain, extractEmail, type ResolvedStep, resolveChain, type Tier, tierFor } from './rules';
import { runFeatures } from './features';
import { checkRoutingInput, inboundMessageSchema, refuseUnreadableInput, signalRefusal } from './input';
import { routingMetrics } from './metrics';
import { closingEffects, effectGivenUp, platformMirror } from './platform';
import { failureReason, Run } from './run';
import { runSteps } from './steps';
import { visibility } from './visibility';
import { fillTemplate } from './template';
import { textsFor } from './texts';
import type { ConversationStatus, CrmOutcome, OutboundKind, RoutingInput } from '../domain';

/** Outbound messages: a refusal is not retried; the transcript keeps the message anyway. */
const { sendMessage } = proxyActivities<Activities>(PLATFORM_CALLS);


/**
 * One open conversation, routed as in respond.io's "Route VIP contacts" template:
 * trigger → has email? → (no: ask, validate, jump back) → fetch CRM data → VIP or regular → assign → close.
 */
export async function routeConversation(input: RoutingInput): Promise<ConversationStatus> {
  refuseUnreadableInput(input);
  const features = runFeatures(input);
  if (features.inputChecked) checkRoutingInput(input);
  const { contact, config, platform } = input;
  const { workflowId, firstExecutionRunId: conversationId } = workflowInfo();
  const run = new Run(contact, conversationId);
  const { status } = run;
  const metrics = routingMetrics();
  let firstAssignment = true;
  const steps = runSteps(features.localSteps, config.crm.timeout);
  const { saveContact, saveContactEmail, findLastAgent, fetchCustomerData } = steps;
  const shown = visibility(features.searchAttributes, status);
  run.onEnter = () => shown.publish();
  const texts = textsFor(config.askEmail, contact.language);
  const givenUp = effectGivenUp({ run, metrics, record: features.givenUpRecorded ? steps.recordGivenUpEffect : undefined, contactId: contact.id, conversationId });
  const mirror = platformMirror(features.mirror, input, run, conversationId, givenUp);
  const { assignAlong, serve, release } = assigning({ run, config, contact, workflowId, conversationId, mirror, steps, shiftTimesRecorded: features.shiftTimesRecorded });

  setHandler(stateQuery, () => status);
  /** A signal whose argument the codec refused (or, in runs that check, the API would not send) changes nothing. */
  const refused = (signal: string, value: unknown, schema?: Parameters<typeof signalRefusal>[1]): boolean => {
    const refusal = signalRefusal(value, features.inputChecked ? schema : undefined);
    if (refusal === undefined) return false;
    run.step('signal_refused', `${signal}: ${refusal}`);
    log.warn('signal refused', { signal, refusal });
    return true;
  };
  setHandler(messageReceivedSignal, (message) => void (refused('messageReceived', message, inboundMessageSchema) || run.receive(message)));
  setHandler(closeConversationSignal, (request) => void (refused('closeConversation', request) || run.close(request?.source ?? 'api')));
  setHandler(platformAssigneeChangedSignal, (change) => void (refused('platformAssigneeChanged', change) || run.platformAssigneeChanged(change)));
  setHandler(assignmentChangedSignal, () => void run.assignmentChanges++);
  setHandler(conversationReopenedSignal, () => void (run.reopened = true));
  setHandler(agentWentOfflineSignal, (offline) => {
    if (refused('agentWentOffline', offline)) return;
    if (config.assignment.rerouteOnOffline && status.assignee?.agentId === offline.agentId) run.rerouteRequested = true;
  });
  setHandler(
    transferUpdate,
    async (request) => {
      const pending: (typeof run.transfers)[number] = { request };
      run.transfers.push(pending);
      await condition(() => pending.result !== undefined);
      return pending.result!;
    },
    {
      validator: (request) => {
        const refusal = signalRefusal(request);
        if (refusal !== undefined) throw new Error(`the transfer request was refused: ${refusal}`);
        if (run.closed || !status.assignee) throw new Error(`only an assigned conversation can be transferred (state: ${status.state})`);
        if (!request.agentId === !request.team) throw new Error('name exactly one of agentId or team');
      },
    },
  );

  const say = (kind: OutboundKind, key: string, text: string, direction: 'outbound' | 'note' = 'outbound') =>
    sendMessage({ contactId: contact.id, conversationId, key, kind, text, direction, platform }).catch(async (error: unknown) => {
      run.step('message_not_delivered', `${kind}: ${failureReason(error)}`);
      await givenUp('message', key, kind, error);
    });


  async function fetchCrm(email: string): Promise<CrmOutcome> {
    run.enter('fetching_crm');
    const { retry } = config.crm;
    // The worker reads the CRM settings of the run's rules version itself; runs started before versions name theirs.
    const lookup = input.rulesVersion === undefined ? { email, contact, crm: config.crm } : { email, contact, rulesVersion: input.rulesVersion };
    let outcome: CrmOutcome = { outcome: 'error', retryable: false, reason: 'not attempted' };
    for (let attempt = 1; attempt <= retry.maxAttempts && !run.closed; attempt++) {
      try {
        outcome = await fetchCustomerData(lookup);
      } catch (error) {
        outcome = { outcome: 'error', retryable: true, reason: failureReason(error) };
      }
      if (outcome.note) run.step('crm_settings', outcome.note);
      if (outcome.outcome !== 'error') break;
      run.step('crm_error', `attempt ${attempt}/${retry.maxAttempts}: ${outcome.reason}`);
      if (!outcome.retryable || attempt === retry.maxAttempts) break;
      if (await run.pause(crmBackoff(attempt, retry))) break;
    }
    return outcome;
  }

  type Answer =
    | { kind: 'email'; email: string }
    | { kind: 'too_many_invalid' }
    | { kind: 'no_reply' }
    | { kind: 'closed' }
    | { kind: 'taken_over' };

  /**
   * What the contact wrote before the question was sent (a busy worker may send it late): an email there is used
   * rather than asked for; anything else is recorded as not counted. Runs recorded before this kept no such messages.
   */
  async function emailWrittenBefore(): Promise<Answer | undefined> {
    const earlier = run.inbox.splice(0);
    if (!features.earlyEmail) return undefined;
    const found = earlier.map((message) => ({ message, email: extractEmail(message.text) })).reverse().find((m) => m.email);
    for (const { messageId } of earlier) {
      if (messageId !== found?.message.messageId) run.step('message_not_counted', `${messageId}: written before the question, no email taken from it`);
    }
    if (!found) return undefined;
    run.step('email_from_earlier_message', `${found.email} from message ${found.message.messageId}, written before the question: not asked`);
    await saveEmail(found.email!);
    return { kind: 'email', email: found.email! };
  }

  async function saveEmail(email: string): Promise<void> {
    const saved = await saveContactEmail({ contactId: contact.id, conversationId, email, platform });
    run.step('save_email', email);
    // Runs recorded before the platform existed got no answer here.
    if (saved?.platformRefused) run.step('platform_refused', `save email: ${saved.platformRefused}`);
  }

  /**
   * From here on the run reads no message of the contact: the API keeps them in the transcript without signalling
   * the run, so a conversation of weeks and thousands of messages keeps a short history.
   */
  function stopReadingMessages(): void {
    if (!run.readingMessages) return;
    run.readingMessages = false;
    run.inbox.length = 0;
    if (features.messagesMemo) upsertMemo({ [READS_MESSAGES_MEMO]: false });
  }

  async function askForEmail(): Promise<Answer> {
    run.enter('asking_email');
    const { maxReAsks, replyTimeout } = config.askEmail;
    const vars = { firstName: contact.firstName ?? '', lastName: contact.lastName ?? '' };
    const earlier = await emailWrittenBefore();
    if (earlier) return earlier;
    run.step('ask_email');
    await say('question', 'ask-email', fillTemplate(texts.question, vars));
    for (;;) {
      const replied = await condition(() => run.inbox.length > 0 || run.closed || run.takenOver, replyTimeout);
      if (run.closed) return { kind: 'closed' };
      if (run.takenOver) return { kind: 'taken_over' };
      if (!replied) return { kind: 'no_reply' };
      const email = extractEmail(run.inbox.shift()!.text);
      if (email) {
        run.step('valid_reply');
        await say('success', 'email-saved', fillTemplate(texts.success, { ...vars, email }));
        await saveEmail(email);
        return { kind: 'email', email };
      }
      status.invalidReplies++;
      run.step('invalid_reply', `invalid reply ${status.invalidReplies}`);
      if (status.invalidReplies > maxReAsks) return { kind: 'too_many_invalid' };
      run.step('ask_email', `re-ask ${status.invalidReplies}/${maxReAsks}`);
      await say('invalid_reply', `re-ask-${status.invalidReplies}`, fillTemplate(texts.invalid, vars));
    }
  }

  /** Assigns along the chain and keeps the conversation served until it closes; false if nobody took it in time. */
  async function assignAndServe(chain: ResolvedStep[], tier: Tier, note?: string): Promise<boolean> {
    let assigned = await assignAlong(chain, tier, note);
    while (assigned && !run.closed) {
      run.step('assigned', `${assigned.agentId} via ${assigned.via} (${assigned.strategy})`);
      if (firstAssignment) metrics.firstAssigned(tier.name, (Date.now() - workflowInfo().startTime.getTime()) / 1000);
      firstAssignment = false;
      const reroute = await serve(assigned, chain);
      if (!reroute) return true;
      delete status.assignee;
      assigned = await assignAlong(reroute.chain, tier, reroute.reason, reroute.exclude);
    }
    return assigned !== undefined || run.closed;
  }

  /** `reason` is for the decisions; `note` is what the agents read, in the contact's language. */
  async function escalate(reason: string, note: string, tier: Tier, why: Parameters<typeof metrics.escalated>[0]): Promise<void> {
    run.step('escalate', reason);
    metrics.escalated(why);
    await say('escalation_note', 'escalation-note', note, 'note');
    if (!(await assignAndServe(escalationChain(config), tier, reason))) fail('no manager became available to take the escalation');
  }

  function fail(reason: string) {
    run.enter('failed');
    status.reason = reason;
    run.step('failed', reason);
  }

  async function route(tier: Tier, crmFields: Record<string, unknown>, reason?: string): Promise<void> {
    status.tier = tier.name;
    run.step(`tier:${tier.name}`, reason);
    const lastAgentStep = tier.chain.find((s) => s.kind === 'last_agent');
    const lastAgentId = lastAgentStep ? await findLastAgent({ contactId: contact.id, withinDays: lastAgentStep.withinDays }) : null;
    if (await assignAndServe(resolveChain(tier.chain, { crmFields, lastAgentId }, config), tier)) return;
    run.step('queue_timeout', `not assigned within ${config.assignment.maxQueueWait} ms`);
    metrics.queueTimedOut();
    if (config.assignment.onQueueTimeout === 'close') return run.close('run');
    await escalate('nobody on the routing chain became available in time', texts.escalationQueueTimeout, tier, 'queue_timeout');
  }

  async function routeFromEmailOrQuestion(): Promise<void> {
    let email = contact.email ? extractEmail(contact.email) : undefined;
    while (!run.closed) {
      run.step('check_email', email ? 'has email' : 'no email');
      if (email) {
        stopReadingMessages();
        run.step('fetch_crm');
        const crm = await fetchCrm(email);
        if (run.closed) return;
        if (crm.outcome === 'found') {
          const customerType = crm.fields['customerType'];
          if (typeof customerType === 'string') status.customerType = customerType;
          return route(tierFor(customerType, config), crm.fields, `customerType=${String(customerType ?? '(none)')}`);
        }
        const why = crm.outcome === 'not_found' ? 'CRM has no record of this contact' : `CRM unavailable: ${crm.reason}`;
        run.step(crm.outcome === 'not_found' ? 'crm_not_found' : 'crm_failed', why);
        status.reason = crm.outcome === 'error' ? why : undefined;
        return route(tierFor(undefined, config), {}, why);
      }
      const answer = await askForEmail();
      if (answer.kind !== 'email') stopReadingMessages();
      switch (answer.kind) {
        case 'email':
          email = answer.email; // jump back to "has email?" and on to the CRM step
          continue;
        case 'closed':
          return;
        case 'too_many_invalid': {
          const note = fillTemplate(texts.escalationNote, { invalidReplies: status.invalidReplies });
          return escalate(`${status.invalidReplies} replies were not an email address`, note, tierFor(undefined, config), 'invalid_replies');
        }
        case 'no_reply':
          run.step('reply_timeout', `no reply within ${config.askEmail.replyTimeout} ms: ${config.askEmail.onReplyTimeout}`);
          metrics.replyTimedOut();
          if (config.askEmail.onReplyTimeout === 'close') return run.close('run');
          if (config.askEmail.onReplyTimeout === 'escalate') {
            return escalate('the contact did not reply to the email question', texts.escalationNoReply, tierFor(undefined, config), 'no_reply');
          }
          return route(tierFor(undefined, config), {}, 'no reply to the email question');
        case 'taken_over':
          // The regular chain only matters if the person hands the conversation back.
          return route(tierFor(undefined, config), {}, 'assigned by hand in the platform before routing');
      }
    }
  }

  run.step('trigger');
  await saveContact(contact);
  await routeFromEmailOrQuestion();
  await condition(() => run.closed);

  // From here a new conversation of the contact replaces this run instead of being told "already open".
  if (features.reopenWhileClosing) upsertMemo({ [CLOSING_MEMO]: true });
  const released = await release();
  for (const pending of run.transfers) pending.result = { transferred: false, reason: 'the conversation closed' };
  if (run.closedBy !== 'platform') {
    // The platform closed its own conversation already; any other close is carried out there too.
    await closingEffects(features.reopenWhileClosing, run, async () => {
      if (status.assignee) await mirror.assignee(null);
      await mirror.close();
    });
  }
  delete status.assignee;
  run.enter('closed');
  // A transfer update still being answered finishes before the run does.
  await condition(allHandlersFinished);
  run.step('close', released ? `released ${released}` : undefined);
  log.info('conversation closed', { contactId: contact.id, path: status.path.join(' → ') });
  return status;
}
