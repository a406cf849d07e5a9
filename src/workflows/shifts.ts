import type { ShiftConfig } from '../domain/routing-config';

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

interface LocalTime {
  /** 0 = Sunday. */
  weekday: number;
  minutes: number;
  /** The same wall-clock reading taken as UTC, for offset arithmetic. */
  wallClockMs: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function localTime(instant: number, timeZone: string): LocalTime {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  const part = (type: string) => Number(format.formatToParts(instant).find((p) => p.type === type)?.value);
  const wallClockMs = Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second'));
  return { weekday: new Date(wallClockMs).getUTCDay(), minutes: part('hour') * 60 + part('minute'), wallClockMs };
}

const minutesOf = (clock: string) => Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3, 5));

/** Whether the team works at `instant`. A shift whose end is before its start runs past midnight. */
export function isOnShift(shift: ShiftConfig, instant: number): boolean {
  const { weekday, minutes } = localTime(instant, shift.timezone);
  const works = (day: number) => shift.days.includes(DAYS[(day + 7) % 7]!);
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
  const localMidnight = local.wallClockMs - (local.wallClockMs % DAY);
  const candidates: number[] = [];
  for (let day = 0; day <= 8; day++) {
    for (const clock of [shift.start, shift.end]) {
      const wallClock = localMidnight + day * DAY + minutesOf(clock) * MINUTE;
      // Convert back with the offset in force there (it differs across a daylight-saving change).
      const guess = wallClock - offset;
      const candidate = wallClock - (localTime(guess, shift.timezone).wallClockMs - guess);
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
