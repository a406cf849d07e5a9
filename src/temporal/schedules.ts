import { type Client, ScheduleAlreadyRunning, type ScheduleOptions } from '@temporalio/client';

/**
 * Creates the Temporal Schedule (running it once at once), or brings an existing one to this spec, action and
 * policies: every worker calls it at start, and the first one creates it.
 */
export async function upsertSchedule(
  client: Client,
  scheduleId: string,
  { spec, action, policies }: Pick<ScheduleOptions, 'spec' | 'action' | 'policies'>,
): Promise<void> {
  try {
    await client.schedule.create({ scheduleId, spec, action, policies, state: { triggerImmediately: true } });
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec, action, policies }));
  }
}
