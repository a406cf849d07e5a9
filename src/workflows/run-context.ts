import { workflowInfo } from '@temporalio/workflow';
import type { RoutingConfig } from '../domain/routing-config';
import type { MessageSet } from '../domain/routing-texts';
import type { AssignmentRequest, ContactInput, RoutingInput } from '../domain/conversation';
import { type Features, runFeatures } from './features';
import { checkRoutingInput, refuseUnreadableInput } from './input';
import { type RoutingMetrics, routingMetrics } from './run-metrics';
import { effectGivenUp, type GivenUp, type PlatformMirror, platformMirror } from './platform-effects';
import { capacityDefaults } from './rules';
import { Run } from './run';
import { type ShortActivities, shortActivities } from './short-activities';
import { textsFor } from './texts';
import { visibility } from './visibility';

/** The conversation as the assignment activities know it. */
type ConversationRef = Pick<AssignmentRequest, 'conversationId' | 'workflowId' | 'contactId' | 'onlineOnly' | 'capacity' | 'openedAt'>;

/** What every step of one routing run works with: its state, its input, and the calls it makes. */
export interface RunContext {
  run: Run;
  input: RoutingInput;
  contact: ContactInput;
  config: RoutingConfig;
  features: Features;
  /** In the contact's language. */
  texts: MessageSet;
  metrics: RoutingMetrics;
  activities: ShortActivities;
  mirror: PlatformMirror;
  givenUp: GivenUp;
  /** The conversation's id: its run's first execution run id. */
  conversationId: string;
  ref: ConversationRef;
}

/**
 * The run's first moments: its input refused if unreadable, its patches asked (always first, in one order), its input
 * checked (runs since that patch), and what its steps work with set up. No command but the patch markers.
 */
export function startRun(input: RoutingInput): RunContext {
  refuseUnreadableInput(input);
  const features = runFeatures(input);
  if (features.inputChecked) checkRoutingInput(input);
  const { contact, config } = input;
  const { workflowId, firstExecutionRunId: conversationId } = workflowInfo();
  const run = new Run(contact, conversationId, {
    inputChecked: features.inputChecked,
    rerouteOnOffline: config.assignment.rerouteOnOffline,
    onEnter: visibility(features.searchAttributes),
  });
  const metrics = routingMetrics();
  const activities = shortActivities(features.localActivities, config.crm.timeout);
  const record = features.givenUpRecorded ? activities.recordGivenUpEffect : undefined;
  const givenUp = effectGivenUp({ run, metrics, record, contactId: contact.id, conversationId });
  return {
    run,
    input,
    contact,
    config,
    features,
    texts: textsFor(config.askEmail, contact.language),
    metrics,
    activities,
    mirror: platformMirror(features.mirror, input, run, conversationId, givenUp),
    givenUp,
    conversationId,
    ref: {
      conversationId,
      workflowId,
      contactId: contact.id,
      onlineOnly: config.assignment.onlineOnly,
      capacity: capacityDefaults(config),
      openedAt: workflowInfo().startTime.toISOString(),
    },
  };
}
