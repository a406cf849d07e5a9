import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { RetentionSummary } from '../activities/retention-activities';

/** Deletes in batches; a pass over a large backlog takes minutes, not hours. */
const { pruneExpiredRows } = proxyActivities<Activities>({
  startToCloseTimeout: '30m',
  retry: { initialInterval: '10s', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: 5 },
});

/** One pass of VIP_ROUTER_TRANSCRIPT_RETENTION (run by a Temporal Schedule). */
export async function pruneExpiredData(input: { retentionMs: number }): Promise<RetentionSummary> {
  return pruneExpiredRows(input);
}
