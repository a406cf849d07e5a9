import { proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ShiftConfig } from '../domain/routing-config';
import { CALENDAR_READ } from './activity-options';
import { type ShiftTimes, shiftTimes } from './shifts';

const { readShiftTimes } = proxyLocalActivities<Activities>(CALENDAR_READ);

/**
 * When these teams work, as of `instant`. Read through a local activity, so the answer is in the history: a worker
 * whose time-zone data differs (a tzdata update between deploys) replays the same branch. Runs recorded before this
 * computed it in the workflow, and replay doing so.
 */
export async function shiftTimesAt(recorded: boolean, shifts: Record<string, ShiftConfig>, instant: number): Promise<Record<string, ShiftTimes>> {
  if (Object.keys(shifts).length === 0) return {};
  if (!recorded) return shiftTimes(shifts, instant);
  return readShiftTimes({ shifts, instant });
}
