import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ConversationStatus } from '../../src/domain/conversation';
import { Harness } from '../support/harness';

/** The dispatcher end to end: conversations opened through the API, served by real runs, counted in PostgreSQL. */

async function openCounts(h: Harness): Promise<Record<string, number>> {
  const { body } = await h.request<{ agents: Array<{ id: string; openConversations: number }> }>('GET', '/v1/agents');
  return Object.fromEntries(body.agents.map((agent) => [agent.id, agent.openConversations]));
}

interface QueueEntry {
  position: number;
  contactId: string;
  tier: string;
  priority: number;
}

async function queue(h: Harness): Promise<QueueEntry[]> {
  return (await h.request<{ queue: QueueEntry[] }>('GET', '/v1/queue')).body.queue;
}

async function patchAgent(h: Harness, agentId: string, changes: { online?: boolean; capacity?: number }): Promise<void> {
  const { status, body } = await h.request('PATCH', `/v1/agents/${agentId}`, changes);
  assert.equal(status, 200, JSON.stringify(body));
}

/** Opens (and waits for) one conversation of a contact with an email the directory does not know: a regular. */
async function openAssigned(h: Harness, label: string): Promise<string> {
  const id = h.contactId(label);
  assert.equal((await h.open({ id, email: `${id}@example.com` })).status, 202);
  return (await h.waitForState(id, 'assigned')).assignee!.agentId;
}

/** Runs `work` over `items`, `width` at a time. */
async function inBatches<T, R>(items: T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += width) results.push(...(await Promise.all(items.slice(i, i + width).map(work))));
  return results;
}

/** Polls until `check` returns a value; fails with the last one seen. */
async function until<T>(label: string, timeoutMs: number, check: () => Promise<{ done: boolean; value: T }>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { done, value } = await check();
    if (done) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('round robin through the API', () => {
  let h: Harness;
  const agents = ['rr-a', 'rr-b', 'rr-c'];
  before(async () => {
    h = await Harness.start({ routing: { teams: { rr: { strategy: 'round_robin' } }, regular: { chain: [{ kind: 'team', team: 'rr' }] } } });
    for (const id of agents) await h.putAgent(id, { team: 'rr', capacity: 50 });
  });
  after(() => h.close());

  it('gives 30 conversations to 3 agents in turn, 10 each; skips an agent while offline and takes them back in turn', async (t) => {
    const first: string[] = [];
    for (let i = 0; i < 30; i++) first.push(await openAssigned(h, `rr-${i}`));
    assert.deepEqual(first, Array.from({ length: 30 }, (_, i) => agents[i % 3]), 'strict rotation a, b, c, a, …');
    assert.deepEqual(await openCounts(h), { 'rr-a': 10, 'rr-b': 10, 'rr-c': 10 });

    await patchAgent(h, 'rr-b', { online: false });
    const whileAway: string[] = [];
    for (let i = 0; i < 6; i++) whileAway.push(await openAssigned(h, `rr-away-${i}`));
    assert.deepEqual(whileAway, ['rr-a', 'rr-c', 'rr-a', 'rr-c', 'rr-a', 'rr-c']);
    assert.deepEqual(await openCounts(h), { 'rr-a': 13, 'rr-b': 10, 'rr-c': 13 }, 'the offline agent keeps their conversations and gets none');

    await patchAgent(h, 'rr-b', { online: true });
    const back: string[] = [];
    for (let i = 0; i < 9; i++) back.push(await openAssigned(h, `rr-back-${i}`));
    assert.deepEqual(back, ['rr-a', 'rr-b', 'rr-c', 'rr-a', 'rr-b', 'rr-c', 'rr-a', 'rr-b', 'rr-c'], 'back in the rotation in their place');
    const counts = await openCounts(h);
    assert.deepEqual(counts, { 'rr-a': 16, 'rr-b': 13, 'rr-c': 16 });
    t.diagnostic(`open per agent after 30 + 6 (rr-b offline) + 9: ${JSON.stringify(counts)}`);
  });
});

describe('the queue through the API', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start({
      routing: {
        tiers: [{ name: 'vip', customerTypes: ['VIP'], chain: [{ kind: 'team', team: 'solo' }], priority: 10 }],
        regular: { chain: [{ kind: 'team', team: 'solo' }] },
      },
    });
    await h.putAgent('solo-1', { team: 'solo', capacity: 1 });
  });
  after(() => h.close());

  it('lists VIPs first then the longest waiting, and serves them in that order as the one slot frees', async () => {
    const busy = h.contactId('busy');
    await h.open({ id: busy, email: `${busy}@example.com` });
    assert.equal((await h.waitForState(busy, 'assigned')).assignee?.agentId, 'solo-1');

    const queueOne = async (label: string, vip: boolean) => {
      const id = h.contactId(label);
      if (vip) await h.putCustomer(`${id}@example.com`, { customerType: 'VIP' });
      await h.open({ id, email: `${id}@example.com` });
      await h.waitForState(id, 'queued');
      return id;
    };
    const regulars: string[] = [];
    for (let i = 1; i <= 5; i++) regulars.push(await queueOne(`regular-${i}`, false));
    const vips: string[] = [];
    for (let i = 1; i <= 2; i++) vips.push(await queueOne(`vip-${i}`, true));

    const expected = [...vips, ...regulars];
    assert.deepEqual(
      (await queue(h)).map(({ position, contactId, tier, priority }) => ({ position, contactId, tier, priority })),
      expected.map((contactId, i) => ({ position: i + 1, contactId, tier: i < 2 ? 'vip' : 'regular', priority: i < 2 ? 10 : 0 })),
    );

    let holder = busy;
    for (const [i, next] of expected.entries()) {
      assert.equal((await h.request('POST', `/v1/conversations/${holder}/close`)).status, 202);
      await h.waitForState(holder, 'closed');
      const served = await h.waitForState(next, 'assigned');
      assert.equal(served.assignee?.agentId, 'solo-1');
      assert.deepEqual((await queue(h)).map((e) => e.contactId), expected.slice(i + 1), `after serving ${next}`);
      assert.deepEqual(await openCounts(h), { 'solo-1': 1 }, 'capacity 1 is never exceeded');
      holder = next;
    }
  });
});

describe('200 conversations at once', () => {
  const agents = Array.from({ length: 10 }, (_, i) => `load-${String(i).padStart(2, '0')}`);
  let h: Harness;
  before(async () => {
    h = await Harness.start({ routing: { regular: { chain: [{ kind: 'team', team: 'load' }] } } });
    for (const id of agents) await h.putAgent(id, { team: 'load', capacity: 5 });
  });
  after(() => h.close());

  const maxOpen = async () => {
    const { rows } = await h.db.query(
      `SELECT coalesce(max(n), 0)::int AS max FROM (SELECT count(*) AS n FROM assignments WHERE released_at IS NULL GROUP BY agent_id) c`,
    );
    return rows[0].max as number;
  };
  const conversationsAssignedTwice = async () => {
    const { rows } = await h.db.query(`SELECT conversation_id FROM assignments GROUP BY conversation_id HAVING count(*) > 1`);
    return rows.map((r) => r.conversation_id as string);
  };
  const states = (ids: string[]) => inBatches(ids, 50, (id) => h.conversation(id));
  const tally = (all: ConversationStatus[]) => {
    const byState: Record<string, number> = {};
    for (const s of all) byState[s.state] = (byState[s.state] ?? 0) + 1;
    return byState;
  };

  it('assigns exactly 50 to 10 agents of capacity 5, queues 150, then serves all 200 when capacity grows, never over capacity', { timeout: 180_000 }, async (t) => {
    const ids = Array.from({ length: 200 }, (_, i) => h.contactId(`load-${i}`));

    // Sampled while the 200 runs race for the 50 slots: no agent is ever seen above capacity.
    let sampling = true;
    let highest = 0;
    let samples = 0;
    const sampler = (async () => {
      while (sampling) {
        highest = Math.max(highest, await maxOpen());
        samples++;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    const started = Date.now();
    const opened = await inBatches(ids, 50, (id) => h.open({ id, email: `${id}@example.com` }));
    const openedMs = Date.now() - started;
    assert.deepEqual(new Set(opened.map((o) => o.status)), new Set([202]));

    // The database first (cheap to poll), then each run's own state (a query per run).
    await until('50 open assignments and 150 queue entries', 120_000, async () => {
      const { rows } = await h.db.query(
        `SELECT (SELECT count(*) FROM assignments WHERE released_at IS NULL)::int AS open, (SELECT count(*) FROM queue_entries)::int AS queued`,
      );
      return { done: rows[0].open === 50 && rows[0].queued === 150, value: rows[0] };
    });
    const committedMs = Date.now() - started;
    const settled = await until('50 assigned and 150 queued runs', 120_000, async () => {
      const byState = tally(await states(ids));
      return { done: byState['assigned'] === 50 && byState['queued'] === 150, value: byState };
    });
    const settledMs = Date.now() - started;
    sampling = false;
    await sampler;

    assert.deepEqual(settled, { assigned: 50, queued: 150 });
    assert.equal(highest, 5, `highest open count seen in ${samples} samples`);
    assert.deepEqual(await openCounts(h), Object.fromEntries(agents.map((id) => [id, 5])));
    assert.deepEqual(await conversationsAssignedTwice(), []);
    const waiting = await queue(h);
    assert.equal(waiting.length, 150);
    assert.deepEqual(waiting.map((e) => e.position), Array.from({ length: 150 }, (_, i) => i + 1));
    // The runs that say "assigned" are exactly the conversations with a row, each with the agent of its row.
    const { rows } = await h.db.query(`SELECT contact_id, agent_id FROM assignments WHERE released_at IS NULL`);
    const rowAgent = new Map(rows.map((r) => [r.contact_id as string, r.agent_id as string]));
    const runAgent = new Map((await states(ids)).filter((s) => s.state === 'assigned').map((s) => [s.contactId, s.assignee!.agentId]));
    assert.deepEqual(runAgent, rowAgent);

    const grown = Date.now();
    await Promise.all(agents.map((id) => patchAgent(h, id, { capacity: 20 })));
    const drained = await until('all 200 runs assigned', 120_000, async () => {
      const byState = tally(await states(ids));
      return { done: byState['assigned'] === 200, value: byState };
    });
    const drainedMs = Date.now() - grown;

    assert.deepEqual(drained, { assigned: 200 });
    assert.deepEqual(await openCounts(h), Object.fromEntries(agents.map((id) => [id, 20])), 'every slot used, none past 20');
    assert.equal(await maxOpen(), 20);
    assert.equal(await h.openAssignments(), 200);
    assert.deepEqual(await conversationsAssignedTwice(), []);
    const { rows: all } = await h.db.query(`SELECT count(*)::int AS n FROM assignments`);
    assert.equal(all[0].n, 200, 'one assignment row per conversation, none made and released on the way');
    assert.deepEqual(await queue(h), []);

    t.diagnostic(
      `200 opened in ${openedMs} ms; 50 assigned + 150 queued in the database after ${committedMs} ms, in the runs' states after ${settledMs} ms; ` +
        `capacity 5 → 20: all 200 assigned ${drainedMs} ms later; highest open ${highest} over ${samples} samples`,
    );
  });
});
