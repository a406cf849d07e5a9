import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { putAgent } from '../../src/db/agents';
import { effectivePriority } from '../../src/assignment/policy';
import { listQueue } from '../../src/assignment/queue';
import { dispatch, enqueueRequest, findOpenAssignment, releaseAssignment, transfer } from '../../src/assignment/store';
import { createPool, type Db, migrateDatabase } from '../../src/db/pool';
import type { AssignmentRequest, AssignTarget } from '../../src/domain/conversation';
import { acquireTestServers, createScratchDatabase } from '../support/servers';

/** The dispatcher on a real PostgreSQL: order, fairness, capacity and one assignee per conversation under races. */
describe('dispatcher', () => {
  let db: Db;
  let release: () => Promise<void>;
  before(async () => {
    const acquired = await acquireTestServers();
    release = acquired.release;
    db = createPool(await createScratchDatabase(acquired.servers.databaseUrl), 40);
    await migrateDatabase(db);
  });
  after(async () => {
    await db.end();
    await release();
  });

  const team = (name: string, strategy: 'least_open' | 'round_robin' = 'least_open'): AssignTarget[] => [
    { kind: 'team', team: name, strategy, onlineOnly: true, via: 'team' },
  ];
  const request = (conversationId: string, targets: AssignTarget[], priority = 0): AssignmentRequest => ({
    conversationId,
    workflowId: `wf-${conversationId}`,
    contactId: `contact-${conversationId}`,
    tier: priority > 0 ? 'vip' : 'regular',
    priority,
    targets,
    onlineOnly: true,
    capacity: { byTeam: { defaults: 2 }, fallback: 5 },
  });
  /** What the requestAssignment activity does: join the queue, run the dispatcher, read the outcome. */
  const ask = async (r: AssignmentRequest) => {
    await enqueueRequest(db, r);
    await dispatch(db);
    return findOpenAssignment(db, r.conversationId);
  };
  const openCounts = async (prefix: string) => {
    const { rows } = await db.query(
      `SELECT agent_id, count(*)::int AS n FROM assignments WHERE released_at IS NULL AND agent_id LIKE $1 GROUP BY agent_id ORDER BY agent_id`,
      [`${prefix}%`],
    );
    return Object.fromEntries(rows.map((r) => [r.agent_id, r.n]));
  };
  const agents = async (team: string, ids: string[], capacity: number | null = 100, online = true) => {
    for (const id of ids) await putAgent(db, { id, name: id, team, role: 'agent', online, capacity });
  };

  it('never exceeds capacity when 40 conversations race for 3 agents of capacity 4', async () => {
    await agents('race', ['race-a', 'race-b', 'race-c'], 4);
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => ask(request(`race-${i}`, team('race')))));
    assert.equal(results.filter(Boolean).length, 12);
    assert.deepEqual(await openCounts('race-'), { 'race-a': 4, 'race-b': 4, 'race-c': 4 });
    assert.equal((await listQueue(db)).filter((e) => e.conversationId.startsWith('race-')).length, 28);
    // Close the served conversations: the next 12 waiting ones take the slots, the counts stay exact.
    const served = results.flatMap((r, i) => (r ? [`race-${i}`] : []));
    for (const id of served) await releaseAssignment(db, id);
    assert.equal((await dispatch(db)).length, 12);
    assert.deepEqual(await openCounts('race-'), { 'race-a': 4, 'race-b': 4, 'race-c': 4 });
    assert.equal((await listQueue(db)).filter((e) => e.conversationId.startsWith('race-')).length, 16);
    for (let i = 0; i < 40; i++) await releaseAssignment(db, `race-${i}`);
  });

  it('assigns a conversation once however many times it is requested at once (activity retries)', async () => {
    await agents('retry', ['retry-a', 'retry-b']);
    const results = await Promise.all(Array.from({ length: 8 }, () => ask(request('same-conversation', team('retry')))));
    assert.equal(new Set(results.map((r) => r?.agentId)).size, 1);
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM assignments WHERE conversation_id = 'same-conversation'`);
    assert.equal(rows[0].n, 1);
    await enqueueRequest(db, request('same-conversation', team('retry')));
    assert.equal((await listQueue(db)).some((e) => e.conversationId === 'same-conversation'), false, 'an assigned conversation cannot re-enter the queue');
  });

  it('walks the chain: dedicated agent offline → team → manager', async () => {
    await putAgent(db, { id: 'chain-am', name: 'AM', team: 'am', role: 'agent', online: false, capacity: 5 });
    await putAgent(db, { id: 'chain-vip', name: 'V', team: 'chain-vip', role: 'agent', online: true, capacity: 1 });
    await putAgent(db, { id: 'chain-mgr', name: 'M', team: 'chain-mgr', role: 'manager', online: true, capacity: 5 });
    const chain: AssignTarget[] = [
      { kind: 'agent', agentId: 'chain-am', via: 'account_manager' },
      { kind: 'team', team: 'chain-vip', strategy: 'least_open', onlineOnly: true, via: 'team' },
      { kind: 'role', role: 'manager', strategy: 'least_open', via: 'manager' },
    ];
    const first = await ask(request('chain-1', chain));
    const second = await ask(request('chain-2', chain));
    assert.deepEqual([first?.agentId, first?.via], ['chain-vip', 'team']);
    assert.deepEqual([second?.agentId, second?.via], ['chain-mgr', 'manager'], 'the VIP team is full: a manager takes it');
  });

  it('serves the queue VIPs first, then the longest waiting, as capacity frees one slot at a time', async () => {
    await agents('order', ['order-a'], 1);
    assert.ok(await ask(request('order-busy', team('order'))));
    for (let i = 1; i <= 5; i++) assert.equal(await ask(request(`order-regular-${i}`, team('order'))), null);
    for (let i = 1; i <= 2; i++) assert.equal(await ask(request(`order-vip-${i}`, team('order'), 10)), null);
    const served: string[] = [];
    let holder = 'order-busy';
    for (let i = 0; i < 7; i++) {
      await releaseAssignment(db, holder);
      const [made] = await dispatch(db);
      holder = made!.conversationId;
      served.push(holder);
    }
    assert.deepEqual(served, ['order-vip-1', 'order-vip-2', 'order-regular-1', 'order-regular-2', 'order-regular-3', 'order-regular-4', 'order-regular-5']);
  });

  it('ages waiting conversations: effective priority as the policy defines it, computed in PostgreSQL at dispatch time', async () => {
    const aging = { points: 1, every: 10 * 60_000 };
    const cases = [
      { id: 'aging-none', priority: 10, aging: undefined, waitedMinutes: 125 },
      { id: 'aging-regular', priority: 0, aging, waitedMinutes: 125 },
      { id: 'aging-vip', priority: 10, aging: { points: 3, every: 60_000 }, waitedMinutes: 7.5 },
      { id: 'aging-opted-out', priority: 5, aging: { points: 0, every: 60_000 }, waitedMinutes: 90 },
      { id: 'aging-new', priority: 0, aging, waitedMinutes: 0 },
    ];
    for (const c of cases) {
      await enqueueRequest(db, { ...request(c.id, team('aging-nobody'), c.priority), ...(c.aging ? { aging: c.aging } : {}) });
      await db.query(`UPDATE queue_entries SET enqueued_at = now() - make_interval(secs => $2) WHERE conversation_id = $1`, [c.id, c.waitedMinutes * 60]);
    }
    const queued = new Map((await listQueue(db)).map((e) => [e.conversationId, e.effectivePriority]));
    for (const c of cases) assert.equal(queued.get(c.id), effectivePriority(c.priority, c.aging, c.waitedMinutes * 60_000), c.id);
    assert.deepEqual([...queued.keys()].filter((id) => id.startsWith('aging-')), ['aging-vip', 'aging-regular', 'aging-none', 'aging-opted-out', 'aging-new']);
    for (const c of cases) await releaseAssignment(db, c.id);
  });

  it('serves a regular contact who waited long enough before a VIP who just arrived; equal effective priorities by arrival', async () => {
    await agents('overtake', ['overtake-a'], 1);
    assert.ok(await ask(request('overtake-busy', team('overtake'))));
    const aging = { points: 1, every: 10 * 60_000 };
    const waiting = async (id: string, priority: number, waitedMinutes: number) => {
      assert.equal(await ask({ ...request(id, team('overtake'), priority), aging }), null);
      await db.query(`UPDATE queue_entries SET enqueued_at = now() - make_interval(secs => $2) WHERE conversation_id = $1`, [id, waitedMinutes * 60]);
    };
    await waiting('overtake-regular-long', 0, 105); // 0 + 10
    await waiting('overtake-vip-new', 10, 0.5); // 10 + 0, arrived later
    await waiting('overtake-regular-short', 0, 30); // 0 + 3
    await waiting('overtake-vip-older', 10, 15); // 10 + 1
    const served: string[] = [];
    let holder = 'overtake-busy';
    for (let i = 0; i < 4; i++) {
      await releaseAssignment(db, holder);
      const [made] = await dispatch(db);
      holder = made!.conversationId;
      served.push(holder);
    }
    assert.deepEqual(served, ['overtake-vip-older', 'overtake-regular-long', 'overtake-vip-new', 'overtake-regular-short']);
    await releaseAssignment(db, holder);
  });

  it('round robin: 30 conversations over 3 agents give 10 each, and stays fair when one goes offline and back', async () => {
    await agents('rr', ['rr-a', 'rr-b', 'rr-c']);
    for (let i = 0; i < 30; i++) assert.ok(await ask(request(`rr-${i}`, team('rr', 'round_robin'))));
    assert.deepEqual(await openCounts('rr-'), { 'rr-a': 10, 'rr-b': 10, 'rr-c': 10 });

    await db.query(`UPDATE agents SET online = false WHERE id = 'rr-b'`);
    for (let i = 30; i < 36; i++) await ask(request(`rr-${i}`, team('rr', 'round_robin')));
    assert.deepEqual(await openCounts('rr-'), { 'rr-a': 13, 'rr-b': 10, 'rr-c': 13 }, 'the offline agent is skipped');
    await db.query(`UPDATE agents SET online = true WHERE id = 'rr-b'`);
    for (let i = 36; i < 45; i++) await ask(request(`rr-${i}`, team('rr', 'round_robin')));
    assert.deepEqual(await openCounts('rr-'), { 'rr-a': 16, 'rr-b': 13, 'rr-c': 16 }, 'back in the rotation, in turn');
  });

  it('least open: unequal loads converge, ties go to the longest idle', async () => {
    await agents('lo', ['lo-a', 'lo-b', 'lo-c']);
    for (let i = 0; i < 4; i++) await ask(request(`lo-pre-a-${i}`, [{ kind: 'agent', agentId: 'lo-a', via: 'dedicated_agent' }]));
    await ask(request('lo-pre-b', [{ kind: 'agent', agentId: 'lo-b', via: 'dedicated_agent' }]));
    assert.deepEqual(await openCounts('lo-'), { 'lo-a': 4, 'lo-b': 1 });
    const picks: string[] = [];
    for (let i = 0; i < 7; i++) picks.push((await ask(request(`lo-${i}`, team('lo'))))!.agentId);
    assert.deepEqual(await openCounts('lo-'), { 'lo-a': 4, 'lo-b': 4, 'lo-c': 4 });
    // c has none, so c first; then b and c both hold 1 and b has waited longer since its last one.
    assert.deepEqual(picks.slice(0, 2), ['lo-c', 'lo-b']);
  });

  it('uses the team default capacity for agents without their own', async () => {
    await agents('defaults', ['defaults-a'], null);
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await ask(request(`defaults-${i}`, team('defaults'))));
    assert.equal(results.filter(Boolean).length, 2, 'team default 2, not the fallback 5');
  });

  it('transfers within capacity unless forced, and the freed slot serves the queue', async () => {
    await agents('tx-from', ['tx-from-a'], 1);
    await agents('tx-to', ['tx-to-a'], 1);
    assert.ok(await ask(request('tx-1', team('tx-from'))));
    assert.ok(await ask(request('tx-2', team('tx-to'))));
    assert.equal(await ask(request('tx-waiting', team('tx-from'))), null);
    const conversation = request('tx-1', []);
    const refused = await transfer(db, conversation, { target: { kind: 'agent', agentId: 'tx-to-a', via: 'transfer' } });
    assert.deepEqual(refused, { transferred: false, reason: 'nobody available in agent tx-to-a (offline, unknown or at capacity)' });
    const forced = await transfer(db, conversation, { force: true, target: { kind: 'agent', agentId: 'tx-to-a', via: 'transfer' } });
    assert.equal(forced.transferred, true);
    assert.deepEqual(await openCounts('tx-'), { 'tx-to-a': 2 });
    await dispatch(db);
    assert.equal((await findOpenAssignment(db, 'tx-waiting'))?.agentId, 'tx-from-a');
    assert.deepEqual(await openCounts('tx-'), { 'tx-from-a': 1, 'tx-to-a': 2 });
  });

  it('refuses a second open assignment for one conversation at the schema level', async () => {
    await agents('schema', ['schema-a']);
    await ask(request('schema-1', team('schema')));
    await assert.rejects(
      db.query(`INSERT INTO assignments (conversation_id, workflow_id, contact_id, agent_id, strategy, via) VALUES ('schema-1', 'w', 'c', 'schema-a', 'direct', 'team')`),
      /assignments_one_open_per_conversation/,
    );
  });

  it('holds entries until their opening, then serves them in queue order whichever run reaches the opening first', async () => {
    await agents('held', ['held-solo'], 1);
    const opening = Date.now() + 3_600_000;
    const heldUntilOpening = (id: string, priority = 0) => ({ ...request(id, team('held'), priority), notBefore: new Date(opening).toISOString() });
    // Overnight: the first to write, then the second; the agent is online, but the team is closed.
    await enqueueRequest(db, heldUntilOpening('held-first'));
    await enqueueRequest(db, heldUntilOpening('held-second'));
    assert.deepEqual(await dispatch(db), [], 'not before the opening, by the database clock');
    assert.deepEqual(await dispatch(db, 'wf-held-second', opening - 1), [], 'nor by the clock of a run');
    // At the opening the second's timer fires first: its request (no longer held) serves the queue in order.
    await enqueueRequest(db, request('held-second', team('held')));
    const made = await dispatch(db, 'wf-held-second', opening);
    assert.deepEqual(made.map((d) => d.conversationId), ['held-first']);
    assert.equal(await findOpenAssignment(db, 'held-second'), null);
    await releaseAssignment(db, 'held-first');
    assert.deepEqual((await dispatch(db)).map((d) => d.conversationId), ['held-second']);
  });
});
