import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { businessHoursAt, isOpen, nextOpening, openingWords } from '../../src/domain/business-hours';
import { type BusinessHours, ConfigError, parseRoutingConfig, type RoutingConfigInput } from '../../src/domain/routing-config';
import { SHIPPED_MESSAGES } from '../../src/domain/routing-texts';
import { businessHoursOf, tierFor } from '../../src/workflows/rules';
import { textsLanguage, textsFor } from '../../src/workflows/texts';

const madrid = (overrides: Partial<BusinessHours> = {}): BusinessHours => ({
  timezone: 'Europe/Madrid',
  days: ['mon', 'tue', 'wed', 'thu', 'fri'],
  start: '09:00',
  end: '18:00',
  holidays: ['2026-12-25', '2027-01-01'],
  outsideHours: 'wait',
  ...overrides,
});
const at = (iso: string) => Date.parse(iso);
const iso = (instant: number | undefined) => (instant === undefined ? undefined : new Date(instant).toISOString());

describe('business hours: open or closed', () => {
  it('is open from start (included) to end (excluded) on working days, in the team’s time zone', () => {
    const hours = madrid();
    // Thursday 10 December 2026, Madrid is UTC+1 in winter.
    assert.equal(isOpen(hours, at('2026-12-10T07:59:59Z')), false, '08:59:59 local');
    assert.equal(isOpen(hours, at('2026-12-10T08:00:00Z')), true, '09:00 local');
    assert.equal(isOpen(hours, at('2026-12-10T16:59:00Z')), true, '17:59 local');
    assert.equal(isOpen(hours, at('2026-12-10T17:00:00Z')), false, '18:00 local');
    assert.equal(isOpen(hours, at('2026-12-12T10:00:00Z')), false, 'Saturday');
  });

  it('is closed all day on a holiday, by the local date', () => {
    const hours = madrid();
    assert.equal(isOpen(hours, at('2026-12-25T10:00:00Z')), false, 'Christmas, a Friday');
    assert.equal(isOpen(hours, at('2026-12-24T10:00:00Z')), true, 'the day before');
    // 2027-01-01 00:30 in Madrid is still 31 December in UTC: the local date counts.
    assert.equal(isOpen(madrid({ start: '00:00', end: '23:59', days: ['thu', 'fri'] }), at('2026-12-31T23:30:00Z')), false);
  });
});

describe('business hours: the next opening', () => {
  it('is later today, tomorrow, or after the weekend', () => {
    const hours = madrid();
    assert.equal(iso(nextOpening(hours, at('2026-12-10T06:00:00Z'))), '2026-12-10T08:00:00.000Z', '07:00 local: today at 09:00');
    assert.equal(iso(nextOpening(hours, at('2026-12-10T19:00:00Z'))), '2026-12-11T08:00:00.000Z', 'Thursday evening: Friday');
    assert.equal(iso(nextOpening(hours, at('2026-12-11T19:00:00Z'))), '2026-12-14T08:00:00.000Z', 'Friday evening: Monday');
    assert.equal(iso(nextOpening(hours, at('2026-12-11T19:00:00.152Z'))), '2026-12-14T08:00:00.000Z', 'on the minute from any millisecond');
  });

  it('skips holidays, even several in a row', () => {
    assert.equal(iso(nextOpening(madrid(), at('2026-12-24T18:00:00Z'))), '2026-12-28T08:00:00.000Z', 'Christmas Eve evening: not Friday 25th, Monday 28th');
    const newYear = madrid({ holidays: ['2026-12-31', '2027-01-01', '2027-01-04'] });
    assert.equal(iso(nextOpening(newYear, at('2026-12-30T18:00:00Z'))), '2027-01-05T08:00:00.000Z');
  });

  it('keeps 09:00 local across a daylight-saving change, both ways', () => {
    // Spring forward: Sunday 28 March 2027 (UTC+1 → UTC+2); Monday the 29th a holiday.
    const spring = madrid({ holidays: ['2027-03-29'] });
    assert.equal(iso(nextOpening(spring, at('2027-03-27T19:00:00Z'))), '2027-03-30T07:00:00.000Z', 'Tuesday 09:00 summer time');
    // Fall back: Sunday 31 October 2027 (UTC+2 → UTC+1).
    assert.equal(iso(nextOpening(madrid(), at('2027-10-29T17:00:00Z'))), '2027-11-01T08:00:00.000Z', 'Monday 09:00 winter time');
    // A time zone without daylight saving, across the same dates: the offset never moves.
    assert.equal(iso(nextOpening(madrid({ timezone: 'Asia/Tokyo' }), at('2027-03-27T19:00:00Z'))), '2027-03-29T00:00:00.000Z');
  });

  it('follows the configured days: a weekend team opens on Saturday', () => {
    const weekend = madrid({ days: ['sat', 'sun'], start: '10:00', end: '14:00' });
    assert.equal(iso(nextOpening(weekend, at('2026-12-09T10:00:00Z'))), '2026-12-12T09:00:00.000Z');
    assert.equal(iso(nextOpening(weekend, at('2026-12-12T13:30:00Z'))), '2026-12-13T09:00:00.000Z', 'after Saturday’s close: Sunday');
  });
});

describe('business hours: the opening in the contact’s words', () => {
  const hours = madrid({ holidays: ['2027-03-29'] });
  const say = (now: string, language: string) => {
    const answer = businessHoursAt(hours, at(now), language);
    assert.equal(answer.open, false);
    return answer.open ? '' : answer.opensAtWords;
  };

  it('says today, tomorrow, or the weekday, in English, Spanish and Portuguese', () => {
    assert.deepEqual(['en', 'es', 'pt'].map((l) => say('2026-12-10T06:00:00Z', l)), ['today at 09:00', 'hoy a las 09:00', 'hoje às 09:00']);
    assert.deepEqual(['en', 'es', 'pt'].map((l) => say('2026-12-10T19:00:00Z', l)), ['tomorrow at 09:00', 'mañana a las 09:00', 'amanhã às 09:00']);
    assert.deepEqual(['en', 'es', 'pt'].map((l) => say('2026-12-11T19:00:00Z', l)), ['Monday at 09:00', 'el lunes a las 09:00', 'segunda-feira às 09:00']);
    // Across the spring change and the holiday Monday: Tuesday, at 09:00 local (07:00 UTC).
    assert.deepEqual(['en', 'es', 'pt'].map((l) => say('2027-03-27T19:00:00Z', l)), ['Tuesday at 09:00', 'el martes a las 09:00', 'terça-feira às 09:00']);
  });

  it('adds the date when the opening is a week or more away', () => {
    const longBreak = madrid({ holidays: ['2026-12-21', '2026-12-22', '2026-12-23', '2026-12-24', '2026-12-25', '2026-12-28'] });
    const words = (language: string) => openingWords(nextOpening(longBreak, at('2026-12-18T19:00:00Z'))!, at('2026-12-18T19:00:00Z'), 'Europe/Madrid', language);
    assert.equal(words('en'), 'Tuesday 29 December at 09:00');
    assert.equal(words('es'), 'el martes 29 de diciembre a las 09:00');
    assert.equal(words('pt'), 'terça-feira, 29 de dezembro, às 09:00');
  });

  it('says it in the team’s time zone: 09:00 in Madrid whatever the worker’s zone', () => {
    // Sunday 23:30 UTC is already Monday 00:30 in Madrid: the opening is "today" there.
    assert.equal(say('2026-12-13T23:30:00Z', 'en'), 'today at 09:00');
  });

  it('writes other languages their own full date and time', () => {
    assert.match(say('2026-12-10T19:00:00Z', 'fr'), /vendredi 11 décembre 2026.*09:00/);
  });

  it('answers open with no opening while open', () => {
    assert.deepEqual(businessHoursAt(hours, at('2026-12-10T10:00:00Z'), 'en'), { open: true });
  });
});

describe('business hours in routing.yaml', () => {
  const block = { timezone: 'Europe/Madrid', start: '09:00', end: '18:00' };

  it('is off unless set, with defaults for days, holidays and outsideHours', () => {
    assert.equal(parseRoutingConfig({}).businessHours, undefined);
    assert.deepEqual(parseRoutingConfig({ businessHours: block }).businessHours, {
      ...block,
      days: ['mon', 'tue', 'wed', 'thu', 'fri'],
      holidays: [],
      outsideHours: 'wait',
    });
  });

  it('names the place of each mistake: a bad time zone, an end before the start, a bad date, a bad mode', () => {
    const refused = (config: RoutingConfigInput, place: RegExp) =>
      assert.throws(() => parseRoutingConfig(config), (e: Error) => e instanceof ConfigError && place.test(e.message), String(place));
    refused({ businessHours: { ...block, timezone: 'Europe/Atlantis' } }, /businessHours\.timezone: not an IANA time zone/);
    refused({ businessHours: { ...block, start: '18:00', end: '09:00' } }, /businessHours\.end: end must be after start/);
    refused({ businessHours: { ...block, end: '09:00' } }, /businessHours\.end: end must be after start/);
    refused({ businessHours: { ...block, start: '9:00' } }, /businessHours\.start: use HH:MM/);
    refused({ businessHours: { ...block, holidays: ['2026-12-25', '2027-02-30'] } }, /businessHours\.holidays\.1: not a date: use YYYY-MM-DD/);
    refused({ businessHours: { ...block, holidays: ['25/12/2026'] } }, /businessHours\.holidays\.0: not a date/);
    refused({ businessHours: { ...block, days: ['monday'] as never } }, /businessHours\.days\.0/);
    refused({ businessHours: { ...block, outsideHours: 'close' as never } }, /businessHours\.outsideHours/);
    refused({ tiers: [{ name: 'vip', customerTypes: ['VIP'], chain: [{ kind: 'manager' }], businessHours: 'never' as never }] }, /tiers\.0\.businessHours: either "always"/);
    refused({ regular: { businessHours: { ...block, timezone: 'Nowhere' } } }, /regular\.businessHours\.timezone/);
  });

  it('lets a tier be open around the clock or keep hours of its own', () => {
    const config = parseRoutingConfig({
      businessHours: block,
      tiers: [
        { name: 'vip', customerTypes: ['VIP'], chain: [{ kind: 'manager' }], businessHours: 'always' },
        { name: 'gold', customerTypes: ['Gold'], chain: [{ kind: 'manager' }], businessHours: { ...block, end: '22:00', days: ['sat'] } },
      ],
    });
    assert.equal(businessHoursOf(tierFor('VIP', config), config), undefined, 'VIPs: always open');
    assert.deepEqual([businessHoursOf(tierFor('Gold', config), config)?.end, businessHoursOf(tierFor('Gold', config), config)?.days], ['22:00', ['sat']]);
    assert.equal(businessHoursOf(tierFor('Regular', config), config), config.businessHours, 'regular: the global hours');
  });

  it('ships the out-of-hours notice in es, en and pt, overridable like the other texts', () => {
    const config = parseRoutingConfig({ askEmail: { messages: { es: { outOfHours: 'Cerrado. Abrimos {{opensAt}}.' } } } });
    assert.equal(textsFor(config.askEmail, 'es').outOfHours, 'Cerrado. Abrimos {{opensAt}}.');
    assert.equal(textsFor(config.askEmail, 'pt').outOfHours, SHIPPED_MESSAGES.pt.outOfHours);
    for (const language of ['en', 'es', 'pt'] as const) assert.match(SHIPPED_MESSAGES[language].outOfHours, /\{\{opensAt\}\}/);
    assert.equal(textsLanguage(config.askEmail, 'pt'), 'pt');
    assert.equal(textsLanguage(config.askEmail, 'de'), 'en', 'no German texts: the fallback, for the words too');
  });
});
