import type { ShiftConfig } from '../domain/routing-config';
import { type ShiftTimes, shiftTimes } from '../workflows/shifts';

/** Time-zone arithmetic runs here, on the worker's tz data, and its answer is recorded in the run's history. */
export function createCalendarActivities() {
  return {
    async readShiftTimes({ shifts, instant }: { shifts: Record<string, ShiftConfig>; instant: number }): Promise<Record<string, ShiftTimes>> {
      return shiftTimes(shifts, instant);
    },
  };
}
