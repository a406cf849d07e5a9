import { proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ShiftConfig } from '../domain/routing-config';
import { type ShiftTimes, shiftTimes } from './shifts';

/** Pure computation on the worker: a local activity, retried at once if the worker stumbles. */
const { readShiftTimes } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10s', retry: { initialInterval: '100ms', maximumAttempts: 10 } });

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
