import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tsToMs } from '@temporalio/common/lib/time';
import ms from 'ms';
import type { RoutingConfigInput } from '../../src/domain/routing-config';
import { stateQuery } from '../../src/workflows/definitions';
import { decided, type RoutingHandle, TimeSkippingWorld, timeSkippingWorldPerTest, waitForPendingTimer } from '../support/time-skipping';

const ALL_DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const MINUTE = ms('1m');

/** HH:MM in UTC of an instant. */
const clock = (instant: number) => new Date(instant).toISOString().slice(11, 16);
const floorToMinute = (instant: number) => instant - (instant % MINUTE);

/** When the run started, by the server's clock: its first history event. */
async function startedAt(handle: RoutingHandle): Promise<number> {
  const { events } = await handle.fetchHistory();
  return tsToMs(events![0]!.eventTime);
}

async function timersFired(handle: RoutingHandle): Promise<number> {
  const { events } = await handle.fetchHistory();
  return (events ?? []).filter((e) => e.timerFiredEventAttributes).length;
}


/**
 * Per-step waits of the VIP chain and shift hand-overs, on the time-skipping test server: durable timers
 * measured in minutes and hours, the real dispatcher and PostgreSQL underneath.
 */
describe('assignment timers', () => {
  let w: TimeSkippingWorld;
  timeSkippingWorldPerTest((world) => (w = world));

  describe('VIP chain: account manager (10 min) → VIP team (5 min) → a manager', () => {
    const routing: RoutingConfigInput = {
      tiers: [
        {
          name: 'vip',
          customerTypes: ['VIP'],
          priority: 10,
          chain: [
            { kind: 'account_manager', wait: '10m' },
            { kind: 'team', team: 'vip', wait: '5m' },
            { kind: 'manager' },
          ],
        },
      ],
    };
    const steps = ['account manager am-1', 'team vip', 'any manager', 'queue'];

    /** A VIP contact whose CRM record names am-1; returns once the run waits on its first timer. */
    async function openVip(label: string) {
      const id = w.contactId(label);
      const email = `${id}@example.com`;
      w.crm.script(email, { status: 200, body: { customerType: 'VIP', accountManager: 'am-1' } });
      const handle = await w.open({ id, email }, routing);
      const timerStartedAt = await waitForPendingTimer(handle);
      return { id, handle, start: await startedAt(handle), timerStartedAt };
    }

    it('waits 10 min on the offline account manager, then assigns the VIP team', async () => {
      await w.putAgent('am-1', { team: 'account-managers', online: false });
      await w.putAgent('vip-vera', { team: 'vip' });
      await w.putAgent('mgr-maria', { team: 'managers', role: 'manager' });
      const { id, handle, start, timerStartedAt } = await openVip('am-offline');

      const waiting = await handle.query(stateQuery);
      assert.equal(waiting.state, 'assigning');
      assert.equal(waiting.chain?.step, 0);
      assert.deepEqual(waiting.chain?.steps, steps);
      const until = Date.parse(waiting.chain!.until);
      assert.ok(until >= start + ms('10m') && until <= timerStartedAt + ms('10m'), `until ${waiting.chain!.until} is start + 10 min`);
      assert.deepEqual(await w.assignments(id), [], 'the VIP team, though free, is not offered the conversation yet');

      await w.env.sleep('9m');
      const later = await handle.query(stateQuery);
      assert.deepEqual([later.state, later.chain?.step], ['assigning', 0], 'still on the account manager after 9 min');
      assert.deepEqual(await w.assignments(id), []);
      await w.env.sleep('1m');

      const status = await w.waitFor(handle, decided);
      assert.equal(status.state, 'assigned');
      assert.equal(status.tier, 'vip');
      assert.deepEqual(status.assignee, { agentId: 'vip-vera', name: 'vip-vera', team: 'vip' });
      assert.equal(status.chain, undefined, 'no chain position once assigned');
      assert.deepEqual(status.path, ['trigger', 'check_email', 'fetch_crm', 'tier:vip', 'assigned']);
      assert.deepEqual(await w.assignments(id), [{ agentId: 'vip-vera', via: 'team', released: false }]);
      assert.ok((await w.env.currentTimeMs()) >= until, 'assigned only once the account-manager step ended');
      await w.recordHistory(id, 'vip-chain-am-offline-then-team');
    });

    it('with the VIP team full and the account manager offline, assigns a manager after both waits (15 min)', async () => {
      await w.putAgent('am-1', { team: 'account-managers', online: false });
      await w.putAgent('vip-vera', { team: 'vip', capacity: 1 });
      await w.putAgent('mgr-maria', { team: 'managers', role: 'manager' });
      // Fills the VIP team's only slot: a VIP with no account manager goes straight to the team.
      const fillerId = w.contactId('vip-filler');
      w.crm.script(`${fillerId}@example.com`, { status: 200, body: { customerType: 'VIP' } });
      const filler = await w.open({ id: fillerId, email: `${fillerId}@example.com` }, routing);
      assert.equal((await w.waitFor(filler, decided)).assignee?.agentId, 'vip-vera');

      const { id, handle, start } = await openVip('vip-full');
      const first = await handle.query(stateQuery);
      assert.deepEqual([first.state, first.chain?.step], ['assigning', 0]);
      const firstUntil = Date.parse(first.chain!.until);
      await w.env.sleep('10m');

      const onTeam = await w.waitFor(handle, (s) => s.chain?.step === 1);
      assert.equal(onTeam.state, 'assigning');
      const teamTimerStartedAt = await waitForPendingTimer(handle);
      const until = Date.parse(onTeam.chain!.until);
      assert.ok(until >= firstUntil + ms('5m') && until <= teamTimerStartedAt + ms('5m'), `team step until ${onTeam.chain!.until} is 5 min later`);
      assert.deepEqual(await w.assignments(id), [], 'the full VIP team takes nothing');
      await w.env.sleep('5m');

      const status = await w.waitFor(handle, decided);
      assert.equal(status.state, 'assigned');
      assert.deepEqual(status.assignee, { agentId: 'mgr-maria', name: 'mgr-maria', team: 'managers' });
      assert.deepEqual(status.path, ['trigger', 'check_email', 'fetch_crm', 'tier:vip', 'assigned']);
      assert.deepEqual(await w.assignments(id), [{ agentId: 'mgr-maria', via: 'manager', released: false }]);
      assert.deepEqual(await w.assignments(fillerId), [{ agentId: 'vip-vera', via: 'team', released: false }], 'vip-vera stays at capacity 1');
      assert.ok((await w.env.currentTimeMs()) - start >= ms('15m'), 'after both waits');
      await w.recordHistory(id, 'vip-chain-team-full-then-manager');
    });

    it('assigns the account manager at once when they come online (PATCH /v1/agents) during the 10 min wait', async () => {
      await w.putAgent('am-1', { team: 'account-managers', online: false });
      await w.putAgent('vip-vera', { team: 'vip' });
      const { id, handle, start } = await openVip('am-comes-online');
      const until = Date.parse((await handle.query(stateQuery)).chain!.until);
      await w.env.sleep('3m');
      assert.deepEqual(await w.assignments(id), []);

      const patched = await w.callApi('PATCH', '/v1/agents/am-1', { online: true });
      assert.equal(patched.status, 200);

      const status = await w.waitFor(handle, decided);
      const assignedAt = await w.env.currentTimeMs();
      assert.equal(status.state, 'assigned');
      assert.deepEqual(status.assignee, { agentId: 'am-1', name: 'am-1', team: 'account-managers' });
      assert.deepEqual(status.path, ['trigger', 'check_email', 'fetch_crm', 'tier:vip', 'assigned']);
      assert.deepEqual(await w.assignments(id), [{ agentId: 'am-1', via: 'account_manager', released: false }]);
      assert.ok(assignedAt < until, 'the workflow clock never reached the end of the account-manager step');
      assert.ok(assignedAt - start < ms('4m'), `assigned ${assignedAt - start} ms after start, right after the 3 min mark`);
      assert.equal(await timersFired(handle), 0, 'woken by the presence signal, not by its timer');
      await w.recordHistory(id, 'vip-chain-am-comes-online');
    });
  });

  describe('shifts (durable timers, no cron)', () => {
    /** day works [dayStart, dayEnd) every day in UTC and hands over to night, which works the rest. */
    function shiftRouting(dayStart: number, dayEnd: number): RoutingConfigInput {
      const [start, end] = [clock(dayStart), clock(dayEnd)];
      return {
        regular: {
          chain: [
            { kind: 'team', team: 'day' },
            { kind: 'team', team: 'night' },
          ],
        },
        teams: {
          day: { shift: { timezone: 'UTC', days: [...ALL_DAYS], start, end }, nextShiftTeam: 'night' },
          night: { shift: { timezone: 'UTC', days: [...ALL_DAYS], start: end, end: start } },
        },
      };
    }

    async function openRegular(label: string, routing: RoutingConfigInput) {
      const id = w.contactId(label);
      const email = `${id}@example.com`;
      w.crm.script(email, { status: 200, body: { customerType: 'Regular' } });
      return { id, handle: await w.open({ id, email }, routing) };
    }

    it('moves a day-shift conversation to a night agent when the day shift ends', async () => {
      const now = await w.env.currentTimeMs();
      const dayEnd = floorToMinute(now) + ms('2h');
      await w.putAgent('day-dana', { team: 'day' });
      await w.putAgent('night-nick', { team: 'night' });
      const { id, handle } = await openRegular('shift-handover', shiftRouting(floorToMinute(now) - ms('1h'), dayEnd));

      const onDay = await w.waitFor(handle, decided);
      assert.deepEqual([onDay.state, onDay.assignee?.agentId], ['assigned', 'day-dana']);
      assert.deepEqual(await w.assignments(id), [{ agentId: 'day-dana', via: 'team', released: false }]);
      await waitForPendingTimer(handle);

      await w.env.sleep(dayEnd - (await w.env.currentTimeMs()) - MINUTE);
      assert.equal((await handle.query(stateQuery)).assignee?.agentId, 'day-dana', 'still with day a minute before the shift ends');
      assert.deepEqual(await w.assignments(id), [{ agentId: 'day-dana', via: 'team', released: false }]);
      await w.env.sleep('2m');

      const status = await w.waitFor(handle, (s) => s.assignee?.agentId !== 'day-dana');
      assert.equal(status.state, 'assigned');
      assert.deepEqual(status.assignee, { agentId: 'night-nick', name: 'night-nick', team: 'night' });
      assert.deepEqual(status.path, ['trigger', 'check_email', 'fetch_crm', 'tier:regular', 'assigned', 'shift_ended']);
      assert.deepEqual(status.decisions.at(-1), { step: 'shift_ended', detail: 'day → night-nick' });
      assert.deepEqual(await w.assignments(id), [
        { agentId: 'day-dana', via: 'team', released: true },
        { agentId: 'night-nick', via: 'next_shift', released: false },
      ]);
      await w.recordHistory(id, 'shift-ended-handover');
    });

    it('holds a conversation between shifts and hands it to the next team when its shift starts', async () => {
      const now = floorToMinute(await w.env.currentTimeMs());
      const [dayEnd, nightStart] = [now + ms('2h'), now + ms('3h')];
      const routing = shiftRouting(now - ms('1h'), dayEnd);
      // An hour's gap: night starts an hour after day ends.
      routing.teams!['night']!.shift = { timezone: 'UTC', days: [...ALL_DAYS], start: clock(nightStart), end: clock(now - ms('2h')) };
      await w.putAgent('day-dana', { team: 'day' });
      await w.putAgent('night-nick', { team: 'night' });
      const { id, handle } = await openRegular('shift-gap', routing);
      assert.equal((await w.waitFor(handle, decided)).assignee?.agentId, 'day-dana');
      await waitForPendingTimer(handle);

      await w.env.sleep(dayEnd - (await w.env.currentTimeMs()) + MINUTE);
      const between = await w.waitFor(handle, (s) => s.state === 'queued');
      assert.equal(between.assignee, undefined, 'not handed to night before its shift');
      assert.deepEqual(await w.assignments(id), [{ agentId: 'day-dana', via: 'team', released: true }]);

      await w.env.sleep(nightStart - (await w.env.currentTimeMs()) + MINUTE);
      const status = await w.waitFor(handle, decided);
      assert.deepEqual([status.state, status.assignee?.agentId], ['assigned', 'night-nick']);
      assert.deepEqual(await w.assignments(id), [
        { agentId: 'day-dana', via: 'team', released: true },
        { agentId: 'night-nick', via: 'next_shift', released: false },
      ]);
    });

    it('assigns nothing to the day team before its shift starts, even when a day agent comes online, then assigns at the start', async () => {
      const now = await w.env.currentTimeMs();
      const dayStart = floorToMinute(now) + ms('1h');
      await w.putAgent('day-dana', { team: 'day', online: false });
      await w.putAgent('night-nick', { team: 'night', online: false });
      const { id, handle } = await openRegular('off-hours', shiftRouting(dayStart, dayStart + ms('8h')));
      await waitForPendingTimer(handle);

      const queued = await handle.query(stateQuery);
      assert.equal(queued.state, 'queued');
      assert.deepEqual(queued.chain?.steps, ['team day', 'team night', 'queue']);
      assert.equal(queued.chain?.step, 2);
      const start = await startedAt(handle);
      const queueUntil = Date.parse(queued.chain!.until);
      assert.ok(queueUntil >= start + ms('72h') && queueUntil < start + ms('72h') + MINUTE, `queued until ${queued.chain!.until}: the 72 h maximum wait`);
      assert.ok(await w.isQueued(id));

      // Presence goes through the API's dispatcher: an online day agent off shift still gets nothing.
      await w.env.sleep('30m');
      const patched = await w.callApi('PATCH', '/v1/agents/day-dana', { online: true });
      assert.equal(patched.status, 200);
      await w.env.sleep(dayStart - (await w.env.currentTimeMs()) - MINUTE);
      const before = await handle.query(stateQuery);
      assert.equal(before.state, 'queued', 'still queued a minute before the day shift');
      assert.equal(before.assignee, undefined);
      assert.deepEqual(await w.assignments(id), []);
      await w.env.sleep('2m');

      const status = await w.waitFor(handle, decided);
      assert.equal(status.state, 'assigned');
      assert.deepEqual(status.assignee, { agentId: 'day-dana', name: 'day-dana', team: 'day' });
      assert.deepEqual(status.path, ['trigger', 'check_email', 'fetch_crm', 'tier:regular', 'queued', 'assigned']);
      assert.deepEqual(await w.assignments(id), [{ agentId: 'day-dana', via: 'team', released: false }]);
      assert.equal(await w.isQueued(id), false);
      assert.ok((await w.env.currentTimeMs()) >= dayStart);
      await w.recordHistory(id, 'shift-off-hours-then-start');
    });
  });
});
