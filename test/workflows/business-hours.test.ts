import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ms from 'ms';
import type { RoutingConfigInput } from '../../src/domain/routing-config';
import { SHIPPED_MESSAGES } from '../../src/domain/routing-texts';
import type { ConversationStatus } from '../../src/domain/conversation';
import { OUTSIDE_HOURS } from '../../src/workflows/business-hours';
import { stateQuery } from '../../src/workflows/definitions';
import { fillTemplate } from '../../src/workflows/template';
import { decided, TimeSkippingWorld, timeSkippingWorldPerTest, waitForPendingTimer } from '../support/time-skipping';

const MINUTE = ms('1m');
const ALL_DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/** "Sat 20:00" in the zone, read with Intl alone (not the calendar under test). */
const wallClock = (instant: number, timeZone: string) =>
  new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(instant).replace(',', '');
const localDate = (instant: number, timeZone: string) => new Intl.DateTimeFormat('en-CA', { timeZone }).format(instant);
const utcOffset = (instant: number, timeZone: string) =>
  new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' }).formatToParts(instant).find((p) => p.type === 'timeZoneName')!.value;

/** The first instant from `from` (on the quarter hour) whose wall clock reads `reading`, going forward or back. */
function seek(from: number, timeZone: string, reading: string, step = 15 * MINUTE): number {
  let at = from - (from % (15 * MINUTE));
  for (let i = 0; i < 20_000; i++, at += step) if (wallClock(at, timeZone) === reading) return at;
  throw new Error(`no ${reading} in ${timeZone} near ${new Date(from).toISOString()}`);
}

/** The next daylight-saving change in the zone after `from`: the first hour whose offset differs. */
function nextOffsetChange(from: number, timeZone: string): number {
  const offset = utcOffset(from, timeZone);
  for (let at = from; at < from + ms('400d'); at += ms('1h')) if (utcOffset(at, timeZone) !== offset) return at;
  throw new Error(`${timeZone} keeps one offset`);
}

const held = (s: ConversationStatus) => s.state === 'queued' && s.opensAt !== undefined;

/**
 * Business hours on the time-skipping test server: the notice, the hold until the opening across a daylight-saving
 * change and a holiday, `route`, a tier open around the clock, and the queue order at the opening, with the real
 * dispatcher and PostgreSQL underneath.
 */
describe('business hours', () => {
  let w: TimeSkippingWorld;
  timeSkippingWorldPerTest((world) => (w = world));

  async function skipTo(instant: number): Promise<void> {
    const now = await w.env.currentTimeMs();
    assert.ok(instant > now, `${new Date(instant).toISOString()} is ahead of the clock`);
    await w.env.sleep(instant - now);
  }

  /** Noon UTC, a day when the hours below are closed all day; they open tomorrow at 09:00 UTC. */
  async function closedToday(outsideHours: 'wait' | 'route') {
    const before = await w.env.currentTimeMs();
    const noon = before - (before % ms('1d')) + ms('12h');
    await skipTo(noon > before + MINUTE ? noon : noon + ms('1d'));
    const now = new Date(await w.env.currentTimeMs());
    const today = ALL_DAYS[now.getUTCDay()]!;
    const hours = { timezone: 'UTC', days: ALL_DAYS.filter((day) => day !== today), start: '09:00', end: '18:00', outsideHours };
    return { hours, opening: Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1, 9) };
  }

  function regularContact(label: string, language?: string) {
    const id = w.contactId(label);
    const email = `${id}@example.com`;
    w.crm.script(email, { status: 200, body: { customerType: 'Regular' } });
    return { id, email, ...(language ? { language } : {}) };
  }

  it('out of hours on the eve of a daylight-saving change and a holiday: tells the contact once when it opens, holds it queued, routes it at the opening', async () => {
    const zone = 'Europe/Madrid';
    let change = nextOffsetChange(await w.env.currentTimeMs(), zone);
    let saturdayEvening = seek(change - ms('2d'), zone, 'Sat 20:00');
    if (saturdayEvening < (await w.env.currentTimeMs()) + MINUTE) {
      change = nextOffsetChange(change + ms('1d'), zone);
      saturdayEvening = seek(change - ms('2d'), zone, 'Sat 20:00');
    }
    // The change is on Sunday night; Monday is a holiday; the team opens on Tuesday at 09:00, on the new offset.
    const holiday = localDate(change + ms('1d'), zone);
    const opening = seek(change, zone, 'Tue 09:00');
    assert.notEqual(utcOffset(saturdayEvening, zone), utcOffset(opening, zone), 'the offset changes in between');
    await skipTo(saturdayEvening);
    await w.putAgent('sup-sam', { team: 'support' });
    const routing: RoutingConfigInput = {
      businessHours: { timezone: zone, days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '18:00', holidays: [holiday], outsideHours: 'wait' },
    };
    const contact = regularContact('dst-holiday', 'es');
    const handle = await w.open(contact, routing);

    const waiting = await w.waitFor(handle, held);
    await waitForPendingTimer(handle);
    assert.equal(waiting.reason, OUTSIDE_HOURS);
    assert.equal(waiting.opensAt, new Date(opening).toISOString(), 'Tuesday 09:00 Madrid time, after the change');
    assert.equal(waiting.tier, 'regular', 'the CRM was asked first: the tier is known');
    assert.deepEqual(waiting.path, ['trigger', 'check_email', 'fetch_crm', 'tier:regular', 'outside_hours']);
    assert.deepEqual(waiting.decisions.at(-1), { step: 'outside_hours', detail: `wait: the team opens el martes a las 09:00 (${new Date(opening).toISOString()})` });
    const notice = fillTemplate(SHIPPED_MESSAGES.es.outOfHours, { opensAt: 'el martes a las 09:00' });
    const told = async () => (await w.transcript(contact.id)).filter((m) => m.kind === 'out_of_hours').map((m) => [m.direction, m.text]);
    assert.deepEqual(await told(), [['outbound', notice]]);
    assert.deepEqual(await w.assignments(contact.id), [], 'sup-sam is online, but the team is closed');
    assert.ok(await w.isQueued(contact.id), 'it holds its place in the queue');
    const api = await w.callApi('GET', `/v1/conversations/${contact.id}`);
    assert.equal(api.status, 200);
    assert.deepEqual([api.body.state, api.body.reason, api.body.opensAt], ['queued', OUTSIDE_HOURS, waiting.opensAt]);

    await skipTo(opening - MINUTE);
    const before = await handle.query(stateQuery);
    assert.equal(before.state, 'queued', 'still held a minute before the opening');
    assert.deepEqual(await w.assignments(contact.id), []);
    await w.env.sleep('2m');

    const status = await w.waitFor(handle, decided);
    assert.equal(status.state, 'assigned');
    assert.deepEqual(status.assignee, { agentId: 'sup-sam', name: 'sup-sam', team: 'support' });
    assert.deepEqual(status.path, ['trigger', 'check_email', 'fetch_crm', 'tier:regular', 'outside_hours', 'assigned']);
    assert.equal(status.reason, undefined);
    assert.equal(status.opensAt, undefined);
    assert.deepEqual(await w.assignments(contact.id), [{ agentId: 'sup-sam', via: 'team', released: false }]);
    assert.ok((await w.env.currentTimeMs()) >= opening);
    assert.deepEqual(await told(), [['outbound', notice]], 'told once');
    await w.recordHistory(contact.id, 'business-hours-held-until-opening');
  });

  it('with outsideHours route: tells the contact when the team opens and assigns whoever is online at once', async () => {
    const { hours } = await closedToday('route');
    await w.putAgent('sup-sam', { team: 'support' });
    const contact = regularContact('route');
    const handle = await w.open(contact, { businessHours: hours });

    const status = await w.waitFor(handle, decided);
    assert.deepEqual([status.state, status.assignee?.agentId, status.opensAt], ['assigned', 'sup-sam', undefined]);
    assert.deepEqual(status.path, ['trigger', 'check_email', 'fetch_crm', 'tier:regular', 'outside_hours', 'assigned']);
    const notices = (await w.transcript(contact.id)).filter((m) => m.kind === 'out_of_hours');
    assert.deepEqual(notices.map((m) => m.text), [fillTemplate(SHIPPED_MESSAGES.en.outOfHours, { opensAt: 'tomorrow at 09:00' })]);
  });

  it('leaves conversations inside the hours, and a tier open around the clock, routed as before', async () => {
    const { hours } = await closedToday('wait');
    await w.putAgent('sup-sam', { team: 'support' });
    await w.putAgent('vip-vera', { team: 'vip' });
    // Noon UTC: inside 09:00-18:00 on every day.
    const inHours = regularContact('in-hours');
    const inHoursRun = await w.open(inHours, { businessHours: { ...hours, days: [...ALL_DAYS] } });

    const vip = w.contactId('vip-always');
    w.crm.script(`${vip}@example.com`, { status: 200, body: { customerType: 'VIP' } });
    const vipRun = await w.open({ id: vip, email: `${vip}@example.com` }, {
      businessHours: hours,
      tiers: [{ name: 'vip', customerTypes: ['VIP'], priority: 10, chain: [{ kind: 'team', team: 'vip' }], businessHours: 'always' }],
    });

    for (const [contactId, run, agentId, tier] of [
      [inHours.id, inHoursRun, 'sup-sam', 'regular'],
      [vip, vipRun, 'vip-vera', 'vip'],
    ] as const) {
      const status = await w.waitFor(run, decided);
      assert.deepEqual([status.state, status.assignee?.agentId], ['assigned', agentId]);
      assert.deepEqual(status.path, ['trigger', 'check_email', 'fetch_crm', `tier:${tier}`, 'assigned']);
      assert.equal(status.opensAt, undefined);
      assert.deepEqual((await w.transcript(contactId)).filter((m) => m.kind === 'out_of_hours'), []);
    }
  });

  it('serves the conversations that waited overnight at the opening by priority, then in the order they came', async () => {
    const { hours, opening } = await closedToday('wait');
    await w.putAgent('sup-solo', { team: 'support', capacity: 1 });
    const routing: RoutingConfigInput = {
      businessHours: hours,
      tiers: [{ name: 'vip', customerTypes: ['VIP'], priority: 10, chain: [{ kind: 'team', team: 'support' }] }],
    };
    const first = regularContact('first');
    const firstRun = await w.open(first, routing);
    await w.waitFor(firstRun, held);
    const second = regularContact('second');
    const secondRun = await w.open(second, routing);
    await w.waitFor(secondRun, held);
    const vip = w.contactId('vip-last');
    w.crm.script(`${vip}@example.com`, { status: 200, body: { customerType: 'VIP' } });
    const vipRun = await w.open({ id: vip, email: `${vip}@example.com` }, routing);
    await w.waitFor(vipRun, held);
    for (const run of [firstRun, secondRun, vipRun]) await waitForPendingTimer(run);

    await skipTo(opening + MINUTE);
    assert.equal((await w.waitFor(vipRun, decided)).assignee?.agentId, 'sup-solo', 'the VIP first: priority');
    for (const run of [firstRun, secondRun]) await w.waitFor(run, (s) => s.state === 'queued' && s.opensAt === undefined);
    assert.deepEqual(await w.assignments(first.id), []);
    assert.deepEqual(await w.assignments(second.id), []);

    assert.equal((await w.callApi('POST', `/v1/conversations/${vip}/close`)).status, 202);
    const firstServed = await w.waitFor(firstRun, decided);
    assert.equal(firstServed.assignee?.agentId, 'sup-solo', 'then the first to write');
    assert.deepEqual(await w.assignments(first.id), [{ agentId: 'sup-solo', via: 'team', released: false }]);
    assert.equal((await secondRun.query(stateQuery)).state, 'queued');
    assert.deepEqual(await w.assignments(second.id), []);
  });
});
