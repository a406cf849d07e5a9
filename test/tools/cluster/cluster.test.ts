import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { type Cluster, startCluster, temporalCliPath } from '../../../tools/cluster/cluster';
import { workflowIdForContact } from '../../../src/workflows/definitions';
import { ROUTING_SEARCH_ATTRIBUTES } from '../../../src/workflows/search-attributes';
import { clusterApi, ledger } from '../../support/cluster-api';

const execFileAsync = promisify(execFile);

/**
 * `npm run test:cluster`: vip-router on a real multi-service Temporal server (frontend, history, matching and worker
 * as four processes, PostgreSQL persistence and visibility), with 2 worker and 2 API processes from the production
 * entries. The server is built with Go on first use (about 5 minutes), then cached.
 */
describe('on a multi-service Temporal cluster', { timeout: 20 * 60_000 }, () => {
  let cluster: Cluster;
  let dir: string;
  let cli: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vip-router-cluster-'));
    cli = await temporalCliPath(() => undefined);
    cluster = await startCluster({ dir, log: (line) => console.error(`# ${line}`), env: { VIP_ROUTER_SEED_DEMO: '0', LOG_LEVEL: 'warn' } });
    api = clusterApi(cluster);
  });
  after(async () => {
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  // Every conversation opened and every reply accepted below, for the ledger at the end.
  let api: ReturnType<typeof clusterApi>;
  const call = (index: number, method: string, path: string, body?: unknown) => api.call(index, method, path, body);
  const stateOf = (contactId: string, state: string, timeoutMs?: number) => api.stateOf(contactId, state, timeoutMs);

  it('serves only clients with a certificate of its CA: mTLS on the frontend', async () => {
    const { address, tls } = cluster.temporal.connection;
    assert.ok(typeof tls === 'object' && tls.clientCertPair, 'the cluster hands its clients a certificate');
    const refused = async (options: Parameters<typeof Connection.connect>[0]) => {
      const connection = await Connection.connect({ ...options, connectTimeout: 3_000 }).catch((error: Error) => error);
      if (connection instanceof Error) return connection.message;
      try {
        await connection.workflowService.getSystemInfo({});
      } catch (error) {
        return (error as Error).message;
      } finally {
        await connection.close();
      }
      return undefined;
    };
    assert.ok(await refused({ address, tls: { serverNameOverride: tls.serverNameOverride, serverRootCACertificate: tls.serverRootCACertificate } }), 'a client without a certificate is refused');
    assert.ok(await refused({ address, tls: false }), 'a plaintext client is refused');
    assert.equal(await refused({ address, tls }), undefined, 'the cluster client is served');
  });

  it('has the routing search attributes registered (listed by `temporal operator`)', async () => {
    const { stdout } = await execFileAsync(cli, ['operator', 'search-attribute', 'list', '--output', 'json'], { env: { ...process.env, ...cluster.temporal.cliEnv } });
    const listed = JSON.stringify(JSON.parse(stdout));
    for (const name of Object.keys(ROUTING_SEARCH_ATTRIBUTES)) assert.ok(listed.includes(name), `${name} registered: ${listed}`);
  });

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

  it('shows the runs in Temporal UI, which reaches the frontend over mTLS and decodes through the API', async () => {
    const settings = (await (await fetch(`${cluster.uiUrl}/api/v1/settings`)).json()) as { Codec?: { Endpoint?: string } };
    assert.match(settings.Codec?.Endpoint ?? '', new RegExp(`^${cluster.apis[0]!.url}/codec/ui/`));
    const listed = await fetch(`${cluster.uiUrl}/api/v1/namespaces/default/workflows?query=${encodeURIComponent("WorkflowType = 'routeConversation'")}`);
    assert.equal(listed.status, 200);
    const ids = (((await listed.json()) as { executions?: Array<{ execution?: { workflowId?: string } }> }).executions ?? []).map((e) => e.execution?.workflowId);
    assert.ok(ids.includes(workflowIdForContact('c-vip')), `c-vip's run listed: ${JSON.stringify(ids)}`);
  });

  it('goes on when the history service is killed -9 and restarted mid-flow', async () => {
    assert.equal((await call(0, 'POST', '/v1/conversations', { contact: { id: 'c-history' } })).status, 202);
    await stateOf('c-history', 'asking_email');
    cluster.temporal.process('history').child.kill('SIGKILL');
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
    cluster.temporal.process('matching').child.kill('SIGKILL');
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

  it('2 workers × 2 APIs racing on one queue, one worker killed -9 mid-race: exactly the room given assigned, the rest queued, nobody twice', async () => {
    const samOpen = async () => ((await call(0, 'GET', '/v1/agents')).body.agents as any[]).find((a) => a.id === 'sam')!.openConversations as number;
    const before = await samOpen();
    // Sam, the support team's only agent, is full: every regular contact queues.
    await call(0, 'PUT', '/v1/agents/sam', { name: 'Sam', team: 'support', capacity: before });
    const ids = Array.from({ length: 20 }, (_, i) => `c-race-${i}`);
    const opening = Promise.all(ids.map((id, i) => call(i % 2, 'POST', '/v1/conversations', { contact: { id, email: `race-${i}@example.com` } })));
    // Both workers take the runs as they open; one dies with some of them in hand.
    await new Promise((tick) => setTimeout(tick, 300));
    cluster.workers[0]!.child.kill('SIGKILL');
    const opened = await opening;
    assert.deepEqual([...new Set(opened.map((o) => o.status))], [202]);
    await Promise.all(ids.map((id) => stateOf(id, 'queued', 90_000)));
    // Restarted, as a supervisor would: two workers again serve the dispatch below.
    await cluster.replace(cluster.workers[0]!);
    // Room for 6 more, given through the other API: the dispatcher serves exactly 6, each once.
    await call(1, 'PATCH', '/v1/agents/sam', { capacity: before + 6 });
    // The rows settle first; each run then learns of its assignment by a signal: wait for both.
    const settle = Date.now() + 90_000;
    let open = 0;
    let queued = 0;
    let states: string[] = [];
    while (Date.now() < settle) {
      open = await samOpen();
      queued = ((await call(1, 'GET', '/v1/queue')).body.queue as any[]).filter((q) => String(q.contactId).startsWith('c-race-')).length;
      states = await Promise.all(ids.map(async (id) => (await call(0, 'GET', `/v1/conversations/${id}`)).body.state as string));
      if (open === before + 6 && queued === 14 && states.filter((state) => state === 'assigned').length === 6) break;
      await new Promise((tick) => setTimeout(tick, 500));
    }
    assert.deepEqual(
      { samGained: open - before, queued, assigned: states.filter((state) => state === 'assigned').length },
      { samGained: 6, queued: 14, assigned: 6 },
    );
  });

  it('lost nothing and did nothing twice through all of the above: one run per conversation, rows agreeing with runs', async () => {
    const { opened: contacts, replied: messages } = api;
    const held = await ledger(cluster, contacts, messages);
    console.error(`# ledger: ${JSON.stringify({ ...held, lost: held.lost.length, duplicated: held.duplicated.length, disagreeing: held.disagreeing.length })}`);
    assert.ok(contacts.length >= 24 && messages.length >= 2, `the tests above opened ${contacts.length} conversations and sent ${messages.length} replies`);
    assert.deepEqual(
      { lost: held.lost, duplicated: held.duplicated, disagreeing: held.disagreeing, runs: held.runs },
      { lost: [], duplicated: [], disagreeing: [], runs: contacts.length },
    );
  });
});
