import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { WaitingEntry } from '../../src/assignment/queue';
import { waitUntil } from '../../src/local/processes';
import { Harness } from '../support/harness';

/**
 * routing.yaml's queue.aging end to end: real runs on a real Temporal server, opened and closed through the API, served
 * by the dispatcher in PostgreSQL. Aging by the second, so the test runs in real time.
 */
describe('queue aging', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start({
      routing: {
        tiers: [
          { name: 'vip', customerTypes: ['VIP'], priority: 10, chain: [{ kind: 'team', team: 'desk' }] },
          // Ages not at all, whatever the queue says: waits behind every VIP.
          { name: 'basic', customerTypes: ['Basic'], priority: 0, chain: [{ kind: 'team', team: 'desk' }], aging: { points: 0, every: '1s' } },
        ],
        regular: { chain: [{ kind: 'team', team: 'desk' }] },
        queue: { aging: { points: 5, every: '1s' } },
      },
    });
    await h.putAgent('desk-dee', { team: 'desk', capacity: 1 });
  });
  after(() => h.close());

  const queue = async () => (await h.request<{ queue: WaitingEntry[] }>('GET', '/v1/queue')).body.queue;
  /** Who holds the desk's one place now. */
  const holder = async () =>
    (await h.db.query<{ contact_id: string }>(`SELECT contact_id FROM assignments WHERE agent_id = 'desk-dee' AND released_at IS NULL`)).rows[0]?.contact_id;
  const servedInOrder = async () => (await h.db.query<{ contact_id: string }>(`SELECT contact_id FROM assignments WHERE agent_id = 'desk-dee' ORDER BY id`)).rows.map((r) => r.contact_id);

  async function openAs(label: string, customerType?: string): Promise<string> {
    const id = h.contactId(label);
    const email = `${id}@example.com`;
    if (customerType) await h.putCustomer(email, { customerType });
    assert.equal((await h.open({ id, email })).status, 202);
    return id;
  }

  it('serves a regular contact before VIPs who keep arriving, once it has waited long enough; a tier that does not age waits on', async () => {
    const first = await openAs('first');
    await h.waitForState(first, 'assigned');
    const regular = await openAs('regular');
    const basic = await openAs('basic', 'Basic');
    await h.waitForState(regular, 'queued');
    await h.waitForState(basic, 'queued');

    // Two VIPs arrive for every one the desk serves: without aging the regular contact would wait as long as they come.
    const vips: string[] = [];
    let regularServedAt: number | undefined;
    let seenRisen: WaitingEntry | undefined;
    for (let tick = 0; tick < 20 && regularServedAt === undefined; tick++) {
      for (const n of [0, 1]) vips.push(await openAs(`vip-${tick}-${n}`, 'VIP'));
      for (const vip of vips.slice(-2)) await h.waitFor(vip, (s) => s.state === 'queued' || s.state === 'assigned');
      seenRisen ??= (await queue()).find((entry) => entry.contactId === regular && entry.effectivePriority > entry.priority);
      const current = await holder();
      assert.ok(current, 'the desk is busy all along');
      assert.equal((await h.request('POST', `/v1/conversations/${current}/close`)).status, 202);
      // The place it frees goes to whoever is first in the queue at that moment.
      const next = await waitUntil('the next one served', async () => {
        const now = await holder();
        return now !== undefined && now !== current && now;
      }, { timeoutMs: 20_000, intervalMs: 50 });
      if (next === regular) regularServedAt = vips.length;
    }
    assert.ok(regularServedAt !== undefined, `the regular contact was served while VIPs kept arriving (order: ${(await servedInOrder()).join(', ')})`);
    const served = await servedInOrder();
    const vipsWaiting = vips.filter((vip) => !served.includes(vip));
    assert.ok(vipsWaiting.length >= 2, `VIPs who came while it waited are served after it: ${vipsWaiting.length} still wait`);
    assert.ok(seenRisen, 'GET /v1/queue showed its priority risen with the wait');
    assert.equal(seenRisen.priority, 0);
    assert.equal(seenRisen.effectivePriority % 5, 0, '5 points a second');

    const waiting = await queue();
    const basicEntry = waiting.find((entry) => entry.contactId === basic)!;
    assert.equal(basicEntry.effectivePriority, 0, 'basic does not age');
    assert.equal(basicEntry.position, waiting.length, 'and is served last, behind every VIP');
    assert.deepEqual(
      waiting.map((entry) => entry.position),
      waiting.map((_, i) => i + 1),
    );
    for (let i = 1; i < waiting.length; i++) assert.ok(waiting[i - 1]!.effectivePriority >= waiting[i]!.effectivePriority, 'listed by effective priority');
  });
});
