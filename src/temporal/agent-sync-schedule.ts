import { type Client, type ScheduleOptions, type ScheduleOptionsStartWorkflowAction, ScheduleOverlapPolicy } from '@temporalio/client';
import { upsertSchedule } from './schedules';
import type { AgentSyncSummary } from '../activities/agent-sync-activities';
import { syncAgents } from '../workflows/agent-sync-workflow';

export function agentSyncScheduleId(taskQueue: string): string {
  return `vip-router-sync-agents-${taskQueue}`;
}

/**
 * The Temporal Schedule that imports respond.io's users every `everyMs`: created by the first worker, brought to
 * the current interval by later ones. A sync still running when the next is due is not doubled.
 */
export async function ensureAgentSyncSchedule(client: Client, { taskQueue, everyMs }: { taskQueue: string; everyMs: number }): Promise<void> {
  const scheduleId = agentSyncScheduleId(taskQueue);
  const spec = { intervals: [{ every: everyMs }] };
  const action: ScheduleOptionsStartWorkflowAction<typeof syncAgents> = {
    type: 'startWorkflow',
    workflowType: syncAgents,
    workflowId: `sync-agents-${taskQueue}`,
    taskQueue,
    args: [],
  };
  const policies: ScheduleOptions['policies'] = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1m' };
  await upsertSchedule(client, scheduleId, { spec, action, policies });
}

/** One agent sync now, waiting for its summary (`npm run sync-agents`). */
export async function syncAgentsNow(client: Client, taskQueue: string): Promise<AgentSyncSummary> {
  return client.workflow.execute(syncAgents, {
    taskQueue,
    workflowId: `sync-agents-${taskQueue}-manual-${Date.now()}`,
    args: [],
  });
}
