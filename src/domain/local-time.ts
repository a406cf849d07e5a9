/*
 * Wall-clock time in an IANA time zone, for the calendars of routing (team shifts, business hours). Pure, but it
 * reads the time-zone data of wherever it runs: workflow code asks a local activity (the worker's data, recorded in
 * the history) rather than call it itself.
 */

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export const MINUTE = 60_000;
export const DAY = 24 * 60 * MINUTE;

export interface LocalTime {
  /** 0 = Sunday. */
  weekday: number;
  minutes: number;
  /** The same wall-clock reading taken as UTC, for offset arithmetic. */
  wallClockMs: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

export function localTime(instant: number, timeZone: string): LocalTime {
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

/** "09:30" → 570. */
export const minutesOf = (clock: string) => Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3, 5));

/** The start of the local day of a wall-clock reading (see LocalTime.wallClockMs). */
export const localMidnight = (wallClockMs: number) => wallClockMs - (wallClockMs % DAY);

/**
 * The instant a wall-clock reading happens in the zone. `offsetHint` (the offset in force at some instant near it)
 * gives a first guess; the offset in force at the guess corrects it, so a daylight-saving change in between counts.
 */
export function instantOfWallClock(wallClockMs: number, timeZone: string, offsetHint: number): number {
  const guess = wallClockMs - offsetHint;
  return wallClockMs - (localTime(guess, timeZone).wallClockMs - guess);
}
