import { metricMeter } from '@temporalio/workflow';

/**
 * What the runs count, through the SDK's meter (not counted again on replay), exported with the worker's metrics
 * with the labels namespace, task_queue and workflow_type added (src/temporal/runtime.ts names the SDK's two in snake_case).
 */
export function routingMetrics() {
  const escalations = metricMeter.createCounter('vip_router_escalations', 'conversations', 'Conversations escalated to a manager');
  const replyTimeouts = metricMeter.createCounter('vip_router_reply_timeouts', 'conversations', 'Email questions nobody answered in time');
  const queueTimeouts = metricMeter.createCounter('vip_router_queue_timeouts', 'conversations', 'Conversations nobody took within the maximum wait');
  const givenUp = metricMeter.createCounter('vip_router_effects_given_up', 'effects', 'Effects on the messaging platform given up after their time bound');
  const timeToAssignment = metricMeter.createHistogram('vip_router_time_to_assignment_seconds', 'float', 's', 'From opening to the first assignment');
  const firstResponse = metricMeter.createHistogram('vip_router_first_response_seconds', 'float', 's', "From the assignment to the assignee's first message to the contact");
  const firstResponseMissed = metricMeter.createCounter('vip_router_first_response_missed', 'conversations', 'Assignees who did not write to the contact within the first-response time');
  return {
    escalated: (why: 'invalid_replies' | 'no_reply' | 'queue_timeout' | 'first_response') => escalations.add(1, { why }),
    replyTimedOut: () => replyTimeouts.add(1),
    queueTimedOut: () => queueTimeouts.add(1),
    effectGivenUp: (effect: 'message' | 'assignee' | 'close') => givenUp.add(1, { effect }),
    firstAssigned: (tier: string, seconds: number) => timeToAssignment.record(seconds, { tier }),
    firstResponded: (tier: string, seconds: number) => firstResponse.record(seconds, { tier }),
    firstResponseMissed: (tier: string) => firstResponseMissed.add(1, { tier }),
  };
}

export type RoutingMetrics = ReturnType<typeof routingMetrics>;
