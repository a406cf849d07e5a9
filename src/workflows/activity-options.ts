import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';

/**
 * Every activity heartbeats while it runs (the worker's heartbeat interceptor; the worker sends a beat every 2 s), so
 * a worker that dies mid-activity is noticed after this long and the activity retried on another worker: half the
 * 30 s start-to-close timeout, and seven beats long, so a stall of a few seconds (a busy event loop, a slow
 * network) does not start a second attempt while the first is still at work.
 */
const HEARTBEAT_TIMEOUT = '15s';

/** PostgreSQL work: retried until the database is back, a conversation is never dropped for an outage. */
export const DATABASE_WORK: ActivityOptions = {
  startToCloseTimeout: '30s',
  heartbeatTimeout: HEARTBEAT_TIMEOUT,
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
};

/** How long an effect on the messaging platform is tried through an outage before it is given up. */
export const PLATFORM_EFFECT_BOUND = '4h';

/**
 * Delivery to the contact and calls to the messaging platform: a refusal (4xx) is not retried, a 429 waits its
 * Retry-After, the rest backs off up to a minute apart for PLATFORM_EFFECT_BOUND; then the effect is given up, and the
 * run records it as a decision, counts it and lists it for the operator (see effectGivenUp), and goes on.
 */
export const PLATFORM_CALLS: ActivityOptions = {
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: PLATFORM_EFFECT_BOUND,
  heartbeatTimeout: HEARTBEAT_TIMEOUT,
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
};

/** One CRM request; the workflow's own loop retries, so each attempt shows in the history with its reason. */
export function crmRequest(timeoutMs: number): ActivityOptions {
  return { startToCloseTimeout: timeoutMs + 5_000, heartbeatTimeout: HEARTBEAT_TIMEOUT, retry: { maximumAttempts: 1 } };
}

/**
 * The same database work as local activities: run by the worker inside the workflow task, recorded as markers,
 * retried in place. Retries longer than the threshold go through a timer, so an outage does not hold the task.
 */
export const LOCAL_DATABASE_WORK: LocalActivityOptions = {
  startToCloseTimeout: '30s',
  localRetryThreshold: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
};

/** Pure computation on the worker (its time-zone data): a local activity, retried at once if the worker stumbles. */
export const CALENDAR_READ: LocalActivityOptions = { startToCloseTimeout: '10s', retry: { initialInterval: '100ms', maximumAttempts: 10 } };

export function localCrmRequest(timeoutMs: number): LocalActivityOptions {
  return { startToCloseTimeout: timeoutMs + 5_000, retry: { maximumAttempts: 1 } };
}
