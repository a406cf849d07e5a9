import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Harness } from '../support/harness';

interface QueueItem {
  position: number;
  contactId: string;
  enqueuedAt: string;
  waitingMs: number;
}

/** Agents and the queue as the API's callers see them: what PUT fills in, what GET /v1/queue reports. */
describe('agents and the queue through the API', () => {
  let h: Harness;
  before(async () => {
    // The team's default capacity (2) differs from the global one (5), so an agent without a capacity shows which applies.
    h = await Harness.start({ routing: { regular: { chain: [{ kind: 'team', team: 'pair' }] }, teams: { pair: { defaultCapacity: 2 } } } });
  });
  after(() => h.close());

  async function opened(label: string): Promise<string> {
    const id = h.contactId(label);
    assert.equal((await h.open({ id, email: `${id}@example.com` })).status, 202);
    return id;
  }
  async function close(ids: string[]): Promise<void> {
    for (const id of ids) assert.equal((await h.request('POST', `/v1/conversations/${id}/close`)).status, 202);
    for (const id of ids) await h.waitForState(id, 'closed');
  }
  async function queueEntry(contactId: string): Promise<{ item: QueueItem; sentAt: number; answeredAt: number }> {
    const sentAt = Date.now();
    const { status, body } = await h.request<{ queue: QueueItem[] }>('GET', '/v1/queue');
    const answeredAt = Date.now();
    assert.equal(status, 200);
    const item = body.queue.find((entry) => entry.contactId === contactId);
    assert.ok(item, `${contactId} is in the queue: ${JSON.stringify(body.queue)}`);
    return { item, sentAt, answeredAt };
  }

  it('PUT with only name and team makes an online agent of role agent whose capacity is the team default', async () => {
    const put = await h.request('PUT', '/v1/agents/pair-pat', { name: 'Pat', team: 'pair' });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.deepEqual([put.body.role, put.body.online, put.body.capacity], ['agent', true, null]);
    const listed = (await h.request('GET', '/v1/agents')).body.agents.find((a: { id: string }) => a.id === 'pair-pat');
    assert.deepEqual([listed.role, listed.online, listed.capacity], ['agent', true, null]);

    // No capacity of their own: the team's 2, not the global 5.
    const ids = [await opened('default-cap-1'), await opened('default-cap-2')];
    for (const id of ids) assert.equal((await h.waitForState(id, 'assigned')).assignee?.agentId, 'pair-pat');
    const third = await opened('default-cap-3');
    await h.waitForState(third, 'queued');
    assert.equal(await h.openAssignments('pair-pat'), 2);
    await close([third, ...ids]);
  });

  it('PUT replaces: role, presence and capacity left out go back to their defaults', async () => {
    const first = await h.request('PUT', '/v1/agents/pair-max', { name: 'Max', team: 'managers', role: 'manager', online: false, capacity: 4 });
    assert.deepEqual([first.body.role, first.body.online, first.body.capacity], ['manager', false, 4]);
    const replaced = await h.request('PUT', '/v1/agents/pair-max', { name: 'Max', team: 'managers' });
    assert.equal(replaced.status, 200);
    assert.deepEqual([replaced.body.role, replaced.body.online, replaced.body.capacity], ['agent', true, null]);
  });

  it('GET /v1/queue reports each waiting conversation with waitingMs, growing while it waits', async () => {
    assert.equal((await h.request('PATCH', '/v1/agents/pair-pat', { online: false })).status, 200);
    const before = Date.now();
    const id = await opened('waiting');
    await h.waitForState(id, 'queued');

    const first = await queueEntry(id);
    assert.ok(first.item.waitingMs >= 0 && first.item.waitingMs <= first.answeredAt - before + 5, `waitingMs ${first.item.waitingMs} counts from the enqueue`);
    const deadline = Date.now() + 10_000;
    let later = await queueEntry(id);
    while (later.item.waitingMs < first.item.waitingMs + 250) {
      assert.ok(Date.now() < deadline, `waitingMs stayed at ${later.item.waitingMs}`);
      await new Promise((tick) => setTimeout(tick, 50));
      later = await queueEntry(id);
    }
    assert.equal(later.item.enqueuedAt, first.item.enqueuedAt, 'still the same wait');
    // Grown by the time between the two answers, measured from outside: the wait is live, not a stored figure.
    const grown = later.item.waitingMs - first.item.waitingMs;
    assert.ok(grown >= later.sentAt - first.answeredAt - 5 && grown <= later.answeredAt - first.sentAt + 5, `grew ${grown} ms`);

    assert.equal((await h.request('PATCH', '/v1/agents/pair-pat', { online: true })).status, 200);
    assert.equal((await h.waitForState(id, 'assigned')).assignee?.agentId, 'pair-pat');
    assert.deepEqual((await h.request('GET', '/v1/queue')).body.queue, []);
    await close([id]);
  });
});
