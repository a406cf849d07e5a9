import { type Client, ScheduleNotFoundError, type ScheduleOptions, type ScheduleOptionsStartWorkflowAction, ScheduleOverlapPolicy } from '@temporalio/client';
import { upsertSchedule } from './schedules';
import { pruneExpiredData } from '../workflows/retention-workflow';

/** The schedule runs hourly: a row outlives its retention by an hour at most. */
const RETENTION_EVERY_MS = 3_600_000;

export function retentionScheduleId(taskQueue: string): string {
  return `vip-router-retention-${taskQueue}`;
}

/**
 * The Temporal Schedule that applies VIP_ROUTER_TRANSCRIPT_RETENTION: created by the first worker, brought to the
 * current retention by later ones, and deleted by a worker started without one (the rows are then kept).
 */
export async function ensureRetentionSchedule(client: Client, { taskQueue, retentionMs }: { taskQueue: string; retentionMs?: number }): Promise<void> {
  const scheduleId = retentionScheduleId(taskQueue);
  if (retentionMs === undefined) {
    await client.schedule
      .getHandle(scheduleId)
      .delete()
      .catch((error: unknown) => {
        if (!(error instanceof ScheduleNotFoundError)) throw error;
      });
    return;
  }
  const spec = { intervals: [{ every: RETENTION_EVERY_MS }] };
  const action: ScheduleOptionsStartWorkflowAction<typeof pruneExpiredData> = {
    type: 'startWorkflow',
    workflowType: pruneExpiredData,
    workflowId: `prune-expired-${taskQueue}`,
    taskQueue,
    args: [{ retentionMs }],
  };
  const policies: ScheduleOptions['policies'] = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1h' };
  await upsertSchedule(client, scheduleId, { spec, action, policies });
}
