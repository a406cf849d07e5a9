import { DAY, instantOfWallClock, localMidnight, localTime, MINUTE, minutesOf, WEEKDAYS } from './local-time';
import type { BusinessHours } from './routing-config-schema';

/*
 * The business-hours calendar: open or not at an instant, the next opening, and that opening in the contact's words.
 * Pure, but reads the time-zone data of where it runs: the worker answers the workflow through a local activity.
 */

/** How far ahead an opening is looked for: a year of holidays cannot hide every working day. */
const LOOK_AHEAD_DAYS = 400;

const dateOf = (wallClockMs: number) => new Date(wallClockMs).toISOString().slice(0, 10);

function isWorkingDay(hours: BusinessHours, wallClockMs: number): boolean {
  return hours.days.includes(WEEKDAYS[new Date(wallClockMs).getUTCDay()]!) && !hours.holidays.includes(dateOf(wallClockMs));
}

export function isOpen(hours: BusinessHours, instant: number): boolean {
  const { minutes, wallClockMs } = localTime(instant, hours.timezone);
  return isWorkingDay(hours, wallClockMs) && minutes >= minutesOf(hours.start) && minutes < minutesOf(hours.end);
}

/** The first opening (start of a working day that is not a holiday) after `instant`; undefined if none within a year. */
export function nextOpening(hours: BusinessHours, instant: number): number | undefined {
  // Wall clocks read whole seconds: the offset is taken at a whole second, so openings fall on the minute.
  const second = instant - (instant % 1000);
  const local = localTime(second, hours.timezone);
  const offset = local.wallClockMs - second;
  const midnight = localMidnight(local.wallClockMs);
  for (let day = 0; day <= LOOK_AHEAD_DAYS; day++) {
    const dayStart = midnight + day * DAY;
    if (!isWorkingDay(hours, dayStart)) continue;
    const opening = instantOfWallClock(dayStart + minutesOf(hours.start) * MINUTE, hours.timezone, offset);
    if (opening > instant) return opening;
  }
  return undefined;
}

type Phrases = {
  today: (time: string) => string;
  tomorrow: (time: string) => string;
  /** Within the coming week. */
  weekday: (day: string, time: string) => string;
  /** A week or more away. */
  date: (day: string, date: string, time: string) => string;
};

/** How each shipped language says when the team opens; other languages get their own full date and time. */
const PHRASES: Record<string, Phrases> = {
  en: {
    today: (time) => `today at ${time}`,
    tomorrow: (time) => `tomorrow at ${time}`,
    weekday: (day, time) => `${day} at ${time}`,
    date: (day, date, time) => `${day} ${date} at ${time}`,
  },
  es: {
    today: (time) => `hoy a las ${time}`,
    tomorrow: (time) => `mañana a las ${time}`,
    weekday: (day, time) => `el ${day} a las ${time}`,
    date: (day, date, time) => `el ${day} ${date} a las ${time}`,
  },
  pt: {
    today: (time) => `hoje às ${time}`,
    tomorrow: (time) => `amanhã às ${time}`,
    weekday: (day, time) => `${day} às ${time}`,
    date: (day, date, time) => `${day}, ${date}, às ${time}`,
  },
};

/** "9 January" in English, "9 de enero" in Spanish, "9 de janeiro" in Portuguese. */
const DATE_FORMATS: Record<string, Intl.DateTimeFormatOptions & { locale: string }> = {
  en: { locale: 'en-GB', day: 'numeric', month: 'long' },
  es: { locale: 'es', day: 'numeric', month: 'long' },
  pt: { locale: 'pt', day: 'numeric', month: 'long' },
};

/**
 * When `opening` is, seen from `instant`, in the contact's language and the team's time zone: "mañana a las 09:00",
 * "Monday at 09:00", "segunda-feira às 09:00"; the date too when it is a week or more away.
 */
export function openingWords(opening: number, instant: number, timeZone: string, language: string): string {
  const phrases = PHRASES[language];
  if (!phrases) return new Intl.DateTimeFormat(language, { dateStyle: 'full', timeStyle: 'short', timeZone, hourCycle: 'h23' }).format(opening);
  const from = localTime(instant, timeZone);
  const to = localTime(opening, timeZone);
  const days = Math.round((localMidnight(to.wallClockMs) - localMidnight(from.wallClockMs)) / DAY);
  const time = new Date(to.wallClockMs).toISOString().slice(11, 16);
  if (days <= 0) return phrases.today(time);
  if (days === 1) return phrases.tomorrow(time);
  const { locale, ...dateFormat } = DATE_FORMATS[language]!;
  const day = new Intl.DateTimeFormat(locale, { weekday: 'long', timeZone: 'UTC' }).format(to.wallClockMs);
  if (days < 7) return phrases.weekday(day, time);
  return phrases.date(day, new Intl.DateTimeFormat(locale, { ...dateFormat, timeZone: 'UTC' }).format(to.wallClockMs), time);
}

/** What routing asks of the business hours at an instant: closed, until when, and how to say it. */
export type BusinessHoursNow = { open: true } | { open: false; opensAt: number; opensAtWords: string };

export function businessHoursAt(hours: BusinessHours, instant: number, language: string): BusinessHoursNow {
  const opensAt = isOpen(hours, instant) ? undefined : nextOpening(hours, instant);
  // Closed with no opening within a year (every day a holiday): treated as open rather than waiting for ever.
  if (opensAt === undefined) return { open: true };
  return { open: false, opensAt, opensAtWords: openingWords(opensAt, instant, hours.timezone, language) };
}
