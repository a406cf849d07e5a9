import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Cluster, startCluster } from '../../src/infra/cluster';

/**
 * `npm run test:cluster`: vip-router on a real multi-service Temporal server (frontend, history, matching and worker
 * as four processes, PostgreSQL persistence and visibility), with 2 worker and 2 API processes from the production
 * entries. The server is built with Go on first use (about 5 minutes), then cached.
 */
describe('on a multi-service Temporal cluster', { timeout: 20 * 60_000 }, () => {
  let cluster: Cluster;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vip-router-cluster-'));
    cluster = await startCluster({ dir, log: (line) => console.error(`# ${line}`), env: { VIP_ROUTER_SEED_DEMO: '0', LOG_LEVEL: 'warn' } });
  });
  after(async () => {
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const call = async (api: number, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${cluster.apis[api]!.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${cluster.adminKey}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  const stateOf = async (contactId: string, state: string, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    let last: any;
    for (let api = 0; Date.now() < deadline; api = (api + 1) % cluster.apis.length) {
      last = await call(api, 'GET', `/v1/conversations/${contactId}`).catch((error: Error) => ({ status: 0, body: error.message }));
      if (last.status === 200 && last.body.state === state) return last.body;
      await new Promise((tick) => setTimeout(tick, 250));
    }
    assert.fail(`${contactId} did not reach ${state}: ${JSON.stringify(last)}`);
  };

  it('routes a VIP to their account manager and a contact without an email through the question, across both APIs', async () => {
    assert.equal((await call(0, 'PUT', '/v1/agents/alex', { name: 'Alex', team: 'account-managers', capacity: 5 })).status, 200);
    assert.equal((await call(1, 'PUT', '/v1/agents/sam', { name: 'Sam', team: 'support', capacity: 5 })).status, 200);
    assert.equal((await call(0, 'PUT', '/v1/directory/customers/ana@example.com', { customerType: 'VIP', accountManager: 'alex' })).status, 200);

    assert.equal((await call(0, 'POST', '/v1/conversations', { contact: { id: 'c-vip', email: 'ana@example.com' } })).status, 202);
    const vip = await stateOf('c-vip', 'assigned');
    assert.equal(vip.assignee.agentId, 'alex');

    assert.equal((await call(1, 'POST', '/v1/conversations', { contact: { id: 'c-ask' } })).status, 202);
    await stateOf('c-ask', 'asking_email');
    assert.equal((await call(0, 'POST', '/v1/contacts/c-ask/messages', { messageId: 'm-1', text: 'bob@example.com' })).status, 202);
    const asked = await stateOf('c-ask', 'assigned');
    assert.equal(asked.assignee.agentId, 'sam');
  });

  it('goes on when the history service is killed -9 and restarted mid-flow', async () => {
    assert.equal((await call(0, 'POST', '/v1/conversations', { contact: { id: 'c-history' } })).status, 202);
    await stateOf('c-history', 'asking_email');
    cluster.temporal.process('history').kill('SIGKILL');
    await cluster.temporal.restart('history');
    // The reply reaches the run once the history service has its shards again (the sender retries a 503).
    let reply = { status: 0, body: undefined as unknown };
    for (const deadline = Date.now() + 60_000; Date.now() < deadline && reply.status !== 202; ) {
      reply = await call(1, 'POST', '/v1/contacts/c-history/messages', { messageId: 'm-h', text: 'carol@example.com' }).catch(() => reply);
      if (reply.status !== 202) await new Promise((tick) => setTimeout(tick, 1_000));
    }
    assert.equal(reply.status, 202, JSON.stringify(reply.body));
    const state = await stateOf('c-history', 'assigned', 90_000);
    assert.equal(state.assignee.agentId, 'sam');
  });

  it('goes on when the matching service is killed -9 and restarted', async () => {
    cluster.temporal.process('matching').kill('SIGKILL');
    await cluster.temporal.restart('matching');
    let opened = { status: 0, body: undefined as unknown };
    for (const deadline = Date.now() + 60_000; Date.now() < deadline && opened.status !== 202; ) {
      opened = await call(0, 'POST', '/v1/conversations', { contact: { id: 'c-matching', email: 'ana@example.com' } }).catch(() => opened);
      if (opened.status !== 202 && opened.status !== 200) await new Promise((tick) => setTimeout(tick, 1_000));
      else break;
    }
    assert.ok([200, 202].includes(opened.status), JSON.stringify(opened.body));
    assert.equal((await stateOf('c-matching', 'assigned', 90_000)).assignee.agentId, 'alex');
  });

  it('2 APIs racing on one queue with one worker killed: exactly the room given assigned, the rest queued, nobody twice', async () => {
    const samOpen = async () => ((await call(0, 'GET', '/v1/agents')).body.agents as any[]).find((a) => a.id === 'sam')!.openConversations as number;
    const before = await samOpen();
    // Sam, the support team's only agent, is full: every regular contact queues.
    await call(0, 'PUT', '/v1/agents/sam', { name: 'Sam', team: 'support', capacity: before });
    cluster.workers[0]!.child.kill('SIGKILL');
    const ids = Array.from({ length: 20 }, (_, i) => `c-race-${i}`);
    const opened = await Promise.all(ids.map((id, i) => call(i % 2, 'POST', '/v1/conversations', { contact: { id, email: `race-${i}@example.com` } })));
    assert.deepEqual([...new Set(opened.map((o) => o.status))], [202]);
    await Promise.all(ids.map((id) => stateOf(id, 'queued', 90_000)));
    // Room for 6 more, given through the other API: the dispatcher serves exactly 6, each once.
    await call(1, 'PATCH', '/v1/agents/sam', { capacity: before + 6 });
    const settle = Date.now() + 60_000;
    let open = 0;
    let queued = 0;
    while (Date.now() < settle) {
      open = await samOpen();
      queued = ((await call(1, 'GET', '/v1/queue')).body.queue as any[]).filter((q) => String(q.contactId).startsWith('c-race-')).length;
      if (open === before + 6 && queued === 14) break;
      await new Promise((tick) => setTimeout(tick, 500));
    }
    const states = await Promise.all(ids.map(async (id) => (await call(0, 'GET', `/v1/conversations/${id}`)).body.state as string));
    assert.deepEqual(
      { samGained: open - before, queued, assigned: states.filter((state) => state === 'assigned').length },
      { samGained: 6, queued: 14, assigned: 6 },
    );
  });
});
