import { DAY, instantOfWallClock, localMidnight, localTime, MINUTE, minutesOf, WEEKDAYS } from '../domain/local-time';
import type { ShiftConfig } from '../domain/routing-config';

/** Whether the team works at `instant`. A shift whose end is before its start runs past midnight. */
export function isOnShift(shift: ShiftConfig, instant: number): boolean {
  const { weekday, minutes } = localTime(instant, shift.timezone);
  const works = (day: number) => shift.days.includes(WEEKDAYS[(day + 7) % 7]!);
  const start = minutesOf(shift.start);
  const end = minutesOf(shift.end);
  if (start < end) return works(weekday) && minutes >= start && minutes < end;
  return (works(weekday) && minutes >= start) || (works(weekday - 1) && minutes < end);
}

/**
 * The next instant after `instant` at which the team goes on or off shift. State only changes at a
 * local start or end time, so those are the only candidates, for the next eight local days.
 */
export function nextShiftChange(shift: ShiftConfig, instant: number): number | undefined {
  const onNow = isOnShift(shift, instant);
  const local = localTime(instant, shift.timezone);
  const offset = local.wallClockMs - instant;
  const midnight = localMidnight(local.wallClockMs);
  const candidates: number[] = [];
  for (let day = 0; day <= 8; day++) {
    for (const clock of [shift.start, shift.end]) {
      const candidate = instantOfWallClock(midnight + day * DAY + minutesOf(clock) * MINUTE, shift.timezone, offset);
      if (candidate > instant) candidates.push(candidate);
    }
  }
  return candidates.sort((a, b) => a - b).find((candidate) => isOnShift(shift, candidate) !== onNow);
}

/** When the shift in force (or, off shift, the next one) ends: a conversation taken outside hours still hands over. */
export function nextShiftEnd(shift: ShiftConfig, instant: number): number | undefined {
  const change = nextShiftChange(shift, instant);
  if (change === undefined || isOnShift(shift, instant)) return change;
  return nextShiftChange(shift, change);
}

/** What routing asks of a team's calendar at an instant. */
export interface ShiftTimes {
  onShift: boolean;
  /** The next instant the team goes on or off shift. */
  nextChange?: number;
  /** When the shift in force (or, off shift, the next one) ends. */
  shiftEnd?: number;
}

export function shiftTimes(shifts: Record<string, ShiftConfig>, instant: number): Record<string, ShiftTimes> {
  return Object.fromEntries(
    Object.entries(shifts).map(([team, shift]) => [
      team,
      { onShift: isOnShift(shift, instant), nextChange: nextShiftChange(shift, instant), shiftEnd: nextShiftEnd(shift, instant) },
    ]),
  );
}
