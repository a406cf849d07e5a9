import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { type Cluster, startCluster } from '../../../tools/cluster/cluster';
import { workflowIdForContact } from '../../../src/workflows/definitions';
import { clusterApi, clusterClient, ledger } from '../../support/cluster-api';
import { checkoutRelease, PREVIOUS_RELEASE } from '../../support/release';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/**
 * A rolling upgrade on the cluster, with conversations in flight: every vip-router process starts on the previous
 * release (its code taken before the local-steps patch, so the upgrade carries a real workflow change), then each
 * is replaced by this checkout's, one at a time, as a deploy does it — an API, a worker, the other worker, the other
 * API — while conversations are opened, answered and queued throughout. Runs recorded on the old code go on on the
 * new code (`patched()`: they keep the old path), runs started on the new code take the new one, and nothing is lost
 * or done twice.
 */
describe('a rolling upgrade from the previous release, runs in flight', { timeout: 20 * 60_000 }, () => {
  let cluster: Cluster;
  let dir: string;
  let client: Client;
  let closeClient: () => Promise<void>;
  let api: ReturnType<typeof clusterApi>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vip-router-upgrade-'));
    const release = await checkoutRelease(PREVIOUS_RELEASE, await mkdtemp(join(dir, 'release-')), ['LOCAL_STEPS']);
    cluster = await startCluster({ dir: join(dir, 'cluster'), root: release, log: (line) => console.error(`# ${line}`), env: { VIP_ROUTER_SEED_DEMO: '0', LOG_LEVEL: 'warn' } });
    api = clusterApi(cluster);
    ({ client, close: closeClient } = await clusterClient(cluster));
  });
  after(async () => {
    await closeClient?.();
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const open = (via: number, contactId: string, email?: string) =>
    api.retrying(via, 'POST', '/v1/conversations', { contact: { id: contactId, ...(email ? { email } : {}) } }, [202]);
  const reply = (via: number, contactId: string, text: string) => api.retrying(via, 'POST', `/v1/contacts/${contactId}/messages`, { messageId: `m-${contactId}`, text }, [202]);
  const history = async (contactId: string): Promise<HistoryEvent[]> => (await client.workflow.getHandle(workflowIdForContact(contactId)).fetchHistory()).events ?? [];
  /** The CRM request as an activity task (the old path) or inside a local-activity marker (the new one). */
  const crmPath = (events: HistoryEvent[]) => {
    const scheduled = events.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'fetchCustomerData');
    const local = events.some((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity');
    return scheduled && !local ? 'activity' : local && !scheduled ? 'local' : `mixed (${scheduled}, ${local})`;
  };
  const taskFailures = (events: HistoryEvent[]) => events.filter((e) => e.workflowTaskFailedEventAttributes).length;

  it('upgrades every process with conversations waiting, queued and arriving, and each run ends where its inputs lead', async () => {
    assert.ok([...cluster.apis, ...cluster.workers].every((p) => p.root.includes('release-')), 'the cluster starts on the release');
    await api.retrying(0, 'PUT', '/v1/agents/alex', { name: 'Alex', team: 'account-managers', capacity: 50 }, [200, 201]);
    await api.retrying(0, 'PUT', '/v1/agents/sam', { name: 'Sam', team: 'support', capacity: 2 }, [200, 201]);
    for (const email of ['vip-1@example.com', 'vip-2@example.com', 'vip-3@example.com', 'vip-4@example.com']) {
      await api.retrying(0, 'PUT', `/v1/directory/customers/${email}`, { customerType: 'VIP', accountManager: 'alex' }, [200]);
    }

    // On the release: two conversations wait for an email, Sam takes two regular ones and three more queue.
    await open(0, 'old-ask-1');
    await open(1, 'old-ask-2');
    for (const i of [1, 2, 3, 4, 5]) await open(i % 2, `old-regular-${i}`, `regular-${i}@example.com`);
    await Promise.all(['old-ask-1', 'old-ask-2'].map((id) => api.stateOf(id, 'asking_email')));
    const settled = await Promise.all([1, 2, 3, 4, 5].map((i) => api.settled(`old-regular-${i}`, ['assigned', 'queued'])));
    assert.deepEqual(settled.map((state) => state.state).sort(), ['assigned', 'assigned', 'queued', 'queued', 'queued']);
    const oldRuns = ['old-ask-1', 'old-ask-2', ...[1, 2, 3, 4, 5].map((i) => `old-regular-${i}`)];

    // Step 1: one API on the new code; the workers are still the release's.
    await cluster.replace(cluster.apis[0]!);
    await open(0, 'mid-ask-1');
    await api.stateOf('mid-ask-1', 'asking_email');

    // Step 2: one worker new, one old: the fleet is mixed while conversations arrive and answers come in.
    await cluster.replace(cluster.workers[0]!);
    await reply(0, 'old-ask-1', 'vip-1@example.com');
    await open(1, 'mixed-vip-1', 'vip-2@example.com');
    await open(0, 'mixed-ask-1');

    // Steps 3 and 4: the other worker, then the other API.
    await cluster.replace(cluster.workers[1]!);
    await cluster.replace(cluster.apis[1]!);
    assert.ok(
      [...cluster.apis, ...cluster.workers].every((p) => !p.root.includes('release-')),
      'every process runs this checkout',
    );

    // On the new code only: new arrivals, the answers still owed, and room for the queue.
    await open(1, 'new-vip-1', 'vip-3@example.com');
    await reply(1, 'old-ask-2', 'vip-4@example.com');
    await reply(0, 'mid-ask-1', 'someone@example.com');
    await api.stateOf('mixed-ask-1', 'asking_email', 90_000);
    await reply(1, 'mixed-ask-1', 'other@example.com');
    await api.retrying(1, 'PATCH', '/v1/agents/sam', { capacity: 7 }, [200]);

    for (const id of ['old-ask-1', 'old-ask-2', 'mixed-vip-1', 'new-vip-1']) assert.equal((await api.stateOf(id, 'assigned', 90_000)).assignee.agentId, 'alex', id);
    for (const id of ['old-regular-1', 'old-regular-2', 'old-regular-3', 'old-regular-4', 'old-regular-5', 'mid-ask-1', 'mixed-ask-1']) {
      assert.equal((await api.stateOf(id, 'assigned', 90_000)).assignee.agentId, 'sam', id);
    }

    // Runs recorded on the release kept its path after replaying on the new code, with no task failing there;
    // runs started on the new code took the new path.
    const paths: Record<string, string> = {};
    const failures: Record<string, number> = {};
    const { opened: contacts, replied: messages } = api;
    for (const id of contacts) {
      const events = await history(id);
      paths[id] = crmPath(events);
      failures[id] = taskFailures(events);
    }
    console.error(`# CRM request path per run: ${JSON.stringify(paths)}; workflow task failures: ${JSON.stringify(failures)}`);
    for (const id of [...oldRuns, 'mid-ask-1']) {
      assert.equal(paths[id], 'activity', `${id} was recorded on the release and keeps its path`);
      assert.equal(failures[id], 0, `${id} replayed on the new code without a failure`);
    }
    assert.equal(paths['new-vip-1'], 'local', 'a run started on the new code takes the new path');
    assert.equal(failures['new-vip-1'], 0);

    const held = await ledger(cluster, contacts, messages);
    assert.deepEqual(
      { lost: held.lost, duplicated: held.duplicated, disagreeing: held.disagreeing, runs: held.runs, assigned: held.assigned },
      { lost: [], duplicated: [], disagreeing: [], runs: contacts.length, assigned: contacts.length },
    );
  });
});
