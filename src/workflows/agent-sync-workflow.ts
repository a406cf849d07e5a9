import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { AgentSyncSummary } from '../activities/agent-sync-activities';

/** Listing users pages through respond.io: heartbeats show it is alive; a 429 waits its Retry-After. */
const { importPlatformAgents } = proxyActivities<Activities>({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '2m', maximumAttempts: 5 },
});

/** One import of respond.io's users into the agents (run by a Temporal Schedule, or on demand). */
export async function syncAgents(): Promise<AgentSyncSummary> {
  return importPlatformAgents();
}
