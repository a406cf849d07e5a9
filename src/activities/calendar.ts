import { type BusinessHoursNow, businessHoursAt } from '../domain/business-hours';
import type { BusinessHours, ShiftConfig } from '../domain/routing-config';
import { type ShiftTimes, shiftTimes } from '../workflows/shifts';

/** Time-zone arithmetic runs here, on the worker's tz data, and its answer is recorded in the run's history. */
export function createCalendarActivities() {
  return {
    async readShiftTimes({ shifts, instant }: { shifts: Record<string, ShiftConfig>; instant: number }): Promise<Record<string, ShiftTimes>> {
      return shiftTimes(shifts, instant);
    },
    /** Open or not at `instant`; when closed, the next opening and how to say it in `language`. */
    async readBusinessHours({ hours, instant, language }: { hours: BusinessHours; instant: number; language: string }): Promise<BusinessHoursNow> {
      return businessHoursAt(hours, instant, language);
    },
  };
}
