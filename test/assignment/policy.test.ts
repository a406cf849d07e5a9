import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AgentLoad, choose, chooseForTransfer, type Cursors, effectiveCapacity, effectivePriority, estimateWait, pick, serveQueue } from '../../src/assignment/policy';
import type { AssignmentRequest, AssignTarget } from '../../src/domain/conversation';

/** The dispatcher's decisions, without a database: who gets a conversation, and who may take one more. */

const agent = (id: string, fields: Partial<AgentLoad> = {}): AgentLoad => ({
  id,
  name: id,
  team: 'support',
  role: 'agent',
  online: true,
  capacity: 2,
  lastAssignedAt: null,
  open: 0,
  ...fields,
});
const team = (name: string, strategy: 'least_open' | 'round_robin' = 'least_open', onlineOnly = true): AssignTarget => ({
  kind: 'team',
  team: name,
  strategy,
  onlineOnly,
  via: 'team',
});
const named = (agentId: string): AssignTarget => ({ kind: 'agent', agentId, via: 'dedicated_agent' });
const request = (targets: AssignTarget[], fields: Partial<AssignmentRequest> = {}): AssignmentRequest => ({
  conversationId: 'c',
  workflowId: 'w',
  contactId: 'k',
  tier: 'regular',
  priority: 0,
  targets,
  onlineOnly: true,
  capacity: { byTeam: {}, fallback: 5 },
  ...fields,
});
const at = (iso: string) => new Date(iso);

describe('assignment policy', () => {
  it("takes an agent's own capacity, else the team's default, else the fallback", () => {
    const defaults = { byTeam: { vip: 3 }, fallback: 5 };
    assert.equal(effectiveCapacity({ capacity: 1, team: 'vip' }, defaults), 1);
    assert.equal(effectiveCapacity({ capacity: null, team: 'vip' }, defaults), 3);
    assert.equal(effectiveCapacity({ capacity: null, team: 'support' }, defaults), 5);
    assert.equal(effectiveCapacity({ capacity: 0, team: 'vip' }, defaults), 0, 'zero is a capacity, not a missing one');
  });

  it('least open: the fewest open conversations, ties to the agent idle longest, then by id', () => {
    const target = team('support');
    assert.equal(pick([agent('a', { open: 2 }), agent('b', { open: 1 })], target, new Map())?.id, 'b');
    const busyEarlier = agent('a', { open: 1, lastAssignedAt: at('2026-01-01T10:00:00Z') });
    const busyLater = agent('b', { open: 1, lastAssignedAt: at('2026-01-01T11:00:00Z') });
    assert.equal(pick([busyLater, busyEarlier], target, new Map())?.id, 'a', 'idle longer');
    assert.equal(pick([agent('b', { open: 1 }), agent('a', { open: 1 }), busyEarlier], target, new Map())?.id, 'a', 'never assigned is idle longest; then by id');
  });

  it('round robin: the next agent after the cursor by id, wrapping, whatever the loads', () => {
    const target = team('support', 'round_robin');
    const free = [agent('c'), agent('a', { open: 1 }), agent('b')];
    assert.equal(pick(free, target, new Map())?.id, 'a', 'no cursor: the first by id, even with more open');
    assert.equal(pick(free, target, new Map([['support', 'a']]))?.id, 'b');
    assert.equal(pick(free, target, new Map([['support', 'c']]))?.id, 'a', 'wraps');
    assert.equal(pick([agent('a'), agent('c')], target, new Map([['support', 'a']]))?.id, 'c', 'an agent not free (b) is skipped');
  });

  it('prefers the earlier target of the chain whenever it has someone free', () => {
    const pool = [agent('manager', { team: 'managers', open: 0 }), agent('am', { team: 'ams', open: 1 })];
    const choice = choose(request([named('am'), team('managers')]), pool, new Map());
    assert.equal(choice?.agent.id, 'am', 'the account manager, though the manager has fewer open');
    assert.equal(choice?.target.kind, 'agent');
  });

  it('offers nobody offline (unless the target allows it), at capacity, or excluded', () => {
    const pool = [agent('off', { online: false }), agent('full', { open: 2 }), agent('left'), agent('free', { open: 1 })];
    assert.equal(choose(request([team('support')], { excludeAgentIds: ['left'] }), pool, new Map())?.agent.id, 'free');
    assert.equal(choose(request([team('support')], { excludeAgentIds: ['left', 'free'] }), pool, new Map()), undefined);
    assert.equal(choose(request([team('support', 'least_open', false)], { excludeAgentIds: ['left', 'free'] }), pool, new Map())?.agent.id, 'off');
    assert.equal(choose(request([named('off')]), pool, new Map()), undefined, 'a named agent offline');
  });

  it('serves waiting conversations in order, counting each against its agent and moving the cursor', () => {
    const pool = [agent('a', { capacity: 1 }), agent('b', { capacity: 1 })];
    const cursors: Cursors = new Map();
    const waiting = ['vip-1', 'reg-1', 'reg-2'].map((id) => request([team('support', 'round_robin')], { conversationId: id }));
    const served = serveQueue(waiting, pool, cursors, at('2026-01-01T12:00:00Z'));
    assert.deepEqual(
      served.map((s) => [s.request.conversationId, s.agent.id]),
      [
        ['vip-1', 'a'],
        ['reg-1', 'b'],
      ],
      'the first two in line get the two slots; the third waits',
    );
    assert.deepEqual(
      pool.map((a) => [a.id, a.open]),
      [
        ['a', 1],
        ['b', 1],
      ],
    );
    assert.equal(cursors.get('support'), 'b');
  });

  it('transfers by the rules, never back to the current agent; forced, past capacity, and past presence for a named agent', () => {
    const pool = [agent('current', { open: 1 }), agent('full', { open: 2 }), agent('away', { online: false })];
    assert.equal(chooseForTransfer(request([team('support')]), 'current', pool, new Map(), false), undefined);
    assert.equal(chooseForTransfer(request([team('support')]), 'current', pool, new Map(), true)?.agent.id, 'full', 'forced: past capacity, online only');
    assert.equal(chooseForTransfer(request([named('away')]), 'current', pool, new Map(), true)?.agent.id, 'away', 'forced to a named agent: past presence');
    assert.equal(chooseForTransfer(request([named('current')]), 'current', pool, new Map(), true), undefined);
  });
});

describe('queue aging', () => {
  const MINUTE = 60_000;
  const tenMinutes = { points: 1, every: 10 * MINUTE };

  it('raises the priority by its points for every whole interval waited, from the tier\'s own', () => {
    assert.equal(effectivePriority(0, tenMinutes, 0), 0);
    assert.equal(effectivePriority(0, tenMinutes, 10 * MINUTE - 1), 0, 'a step is earned once the interval is whole');
    assert.equal(effectivePriority(0, tenMinutes, 10 * MINUTE), 1);
    assert.equal(effectivePriority(0, tenMinutes, 95 * MINUTE), 9);
    assert.equal(effectivePriority(10, { points: 3, every: 5 * MINUTE }, 16 * MINUTE), 19);
  });

  it('leaves the priority as it is without aging, with zero points, and for a clock behind the entry', () => {
    assert.equal(effectivePriority(10, undefined, 10 * 3_600_000), 10);
    assert.equal(effectivePriority(10, { points: 0, every: MINUTE }, 10 * 3_600_000), 10, 'a tier may opt out of aging');
    assert.equal(effectivePriority(5, tenMinutes, -MINUTE), 5);
  });

  it('serves a regular contact before a VIP who just arrived once the regular has waited long enough', () => {
    // VIP 10, regular 0, +1 per 10 minutes: after 100 minutes the regular contact ties a new VIP, and wins the tie by arrival.
    const regularAfter = (minutes: number) => effectivePriority(0, tenMinutes, minutes * MINUTE);
    const newVip = effectivePriority(10, tenMinutes, 0);
    assert.ok(regularAfter(99) < newVip);
    assert.equal(regularAfter(100), newVip);
    assert.ok(regularAfter(110) > newVip);
  });
});

describe('queue wait estimate', () => {
  it('is the position over the tier\'s recent rate of assignments, rounded up to 5 minutes', () => {
    // 12 assignments in the last hour: one every 5 minutes.
    assert.deepEqual(estimateWait(1, 12), { value: 5, unit: 'minute' });
    assert.deepEqual(estimateWait(3, 12), { value: 15, unit: 'minute' });
    assert.deepEqual(estimateWait(1, 60), { value: 5, unit: 'minute' }, 'never less than 5 minutes');
    assert.deepEqual(estimateWait(7, 20), { value: 25, unit: 'minute' }, '21 minutes rounds up');
    assert.deepEqual(estimateWait(12, 12), { value: 60, unit: 'minute' });
  });

  it('speaks in half hours beyond an hour', () => {
    assert.deepEqual(estimateWait(13, 12), { value: 1.5, unit: 'hour' }, '65 minutes');
    assert.deepEqual(estimateWait(20, 10), { value: 2, unit: 'hour' });
    assert.deepEqual(estimateWait(50, 6), { value: 8.5, unit: 'hour' }, '500 minutes');
  });

  it('is poor (no number) with fewer than 6 assignments of the tier in the last hour', () => {
    assert.equal(estimateWait(1, 0), undefined);
    assert.equal(estimateWait(1, 5), undefined);
    assert.deepEqual(estimateWait(1, 6), { value: 10, unit: 'minute' });
  });
});
