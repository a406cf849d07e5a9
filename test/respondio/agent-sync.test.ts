import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { agentSyncScheduleId, syncAgentsNow } from '../../src/temporal/agent-sync-schedule';
import type { Agent } from '../../src/db/agents';
import { Harness } from '../support/harness';
import { envWithout, STEERING_VARS, TEST_RUNNER_VARS } from '../support/processes';
import { launch } from '../../src/local/processes';
import { REPO_ROOT } from '../../tools/repo';
import { respondioUser, type RespondioStandIn, startRespondioStandIn } from '../support/respondio-standin';

const TOKEN = 'respondio-test-token-sync';

/** respond.io's users become agents: by a Temporal Schedule every few minutes, and on demand. */
describe('agents synced from respond.io', () => {
  let h: Harness;
  let respondio: RespondioStandIn;

  before(async () => {
    // 130 users: two pages of respond.io's listing at 100 a page.
    const users = Array.from({ length: 130 }, (_, i) =>
      respondioUser(8000 + i, {
        firstName: `User`,
        lastName: `${i}`,
        email: `user${i}@workspace.example.com`,
        role: i === 0 ? 'owner' : i === 1 ? 'manager' : 'agent',
        team: i < 60 ? { id: 1, name: 'Soporte General' } : i < 120 ? { id: 2, name: 'VIP Desk' } : null,
      }),
    );
    respondio = await startRespondioStandIn({ token: TOKEN, users });
    h = await Harness.start({
      respondio: { baseUrl: respondio.baseUrl, token: TOKEN, agentSync: { teamMap: { 'VIP Desk': 'vip' }, defaultTeam: 'support' } },
    });
  });
  after(async () => {
    await h.close();
    await respondio.close();
  });

  const agents = async (): Promise<Agent[]> => (await h.request('GET', '/v1/agents')).body.agents;
  const byUser = async (userId: number) => (await agents()).find((a) => a.respondioUserId === String(userId));

  it('is a Temporal Schedule, created by the worker, that has already imported the workspace', async () => {
    const description = await h.client.schedule.getHandle(agentSyncScheduleId(h.taskQueue)).describe();
    assert.equal(description.action.type, 'startWorkflow');
    assert.equal((description.action as { workflowType: string }).workflowType, 'syncAgents');
    assert.deepEqual(
      description.spec.intervals?.map((i) => i.every),
      [3_600_000],
    );
    assert.equal(description.policies.overlap, 'SKIP');
    // The schedule's first run (triggered when it was made) imports everyone.
    const deadline = Date.now() + 20_000;
    while ((await agents()).length < 130) {
      assert.ok(Date.now() < deadline, `agents after the scheduled sync: ${(await agents()).length}`);
      await new Promise((tick) => setTimeout(tick, 100));
    }
    const listings = respondio.calls.filter((c) => c.path === '/v2/space/user');
    assert.ok(listings.length >= 2, 'paged through the listing');
    assert.deepEqual(listings.slice(0, 2).map((c) => c.query), [{ limit: '100' }, { limit: '100', cursorId: '8099' }]);
  });

  it('maps names, emails, roles and teams, and keeps the respond.io user id to assign with', async () => {
    const owner = await byUser(8000);
    assert.deepEqual(
      { id: owner?.id, name: owner?.name, email: owner?.email, role: owner?.role, team: owner?.team, online: owner?.online, capacity: owner?.capacity },
      { id: 'respondio-8000', name: 'User 0', email: 'user0@workspace.example.com', role: 'manager', team: 'soporte-general', online: true, capacity: null },
    );
    assert.equal((await byUser(8001))?.role, 'manager');
    assert.equal((await byUser(8002))?.role, 'agent');
    assert.equal((await byUser(8070))?.team, 'vip', 'a team named in the team map');
    assert.equal((await byUser(8125))?.team, 'support', 'no team in respond.io: the default team');
  });

  it('on demand: adds new users, updates changed ones, takes removed ones offline, and leaves presence and capacity alone', async () => {
    // The operator's own settings, which a sync must not undo.
    assert.equal((await h.request('PATCH', '/v1/agents/respondio-8003', { capacity: 9, online: false })).status, 200);
    const linked = await h.request('PUT', '/v1/agents/hand-made', { name: 'Made By Hand', team: 'support', email: 'USER-NEW@workspace.example.com', capacity: 2 });
    assert.equal(linked.status, 200);

    respondio.users = respondio.users
      .filter((u) => u.id !== 8010)
      .map((u) => (u.id === 8003 ? { ...u, firstName: 'Renamed', team: { id: 2, name: 'VIP Desk' } } : u))
      .concat([respondioUser(9001, { email: 'user-new@workspace.example.com' }), respondioUser(9002, { email: 'brand-new@workspace.example.com' })]);

    const summary = await syncAgentsNow(h.client, h.taskQueue);
    assert.deepEqual(
      { users: summary.users, added: summary.added, updated: summary.updated, removed: summary.removed },
      { users: 131, added: ['respondio-9002'], updated: ['respondio-8003', 'hand-made'], removed: ['respondio-8010'] },
    );
    const renamed = await byUser(8003);
    assert.deepEqual(
      { name: renamed?.name, team: renamed?.team, capacity: renamed?.capacity, online: renamed?.online },
      { name: 'Renamed 3', team: 'vip', capacity: 9, online: false },
    );
    const handMade = (await agents()).find((a) => a.id === 'hand-made');
    assert.deepEqual({ user: handMade?.respondioUserId, capacity: handMade?.capacity }, { user: '9001', capacity: 2 }, 'linked by email, not duplicated');
    const removed = (await agents()).find((a) => a.id === 'respondio-8010');
    assert.equal(removed?.online, false);
    assert.ok(removed?.removedAt);

    const again = await syncAgentsNow(h.client, h.taskQueue);
    assert.deepEqual({ added: again.added, updated: again.updated, removed: again.removed, unchanged: again.unchanged }, { added: [], updated: [], removed: [], unchanged: 131 });
  });

  it('runs from the command line: npm run sync-agents prints what it did', async () => {
    const proc = launch('sync-agents', process.execPath, ['--import', 'tsx', 'src/cli/sync-agents.ts'], { cwd: REPO_ROOT, env: {
      ...envWithout([...STEERING_VARS, ...TEST_RUNNER_VARS]),
      TEMPORAL_ADDRESS: h.servers.temporalAddress,
      TEMPORAL_TASK_QUEUE: h.taskQueue,
      VIP_ROUTER_CODEC_KEYS: h.codecKeys,
    } });
    const exit = await proc.exited;
    assert.equal(exit.code, 0, proc.output());
    assert.match(proc.output(), /^131 users in respond\.io: 0 added, 0 updated, 0 removed \(offline\), 0 back, 131 unchanged$/m);
  });

  it('refuses to take everyone offline when respond.io lists no users at all', async () => {
    const saved = respondio.users;
    respondio.users = [];
    try {
      await assert.rejects(syncAgentsNow(h.client, h.taskQueue), (error: Error) => /no users/.test(String((error as any).cause?.cause?.message ?? error.message)));
      assert.ok((await agents()).filter((a) => a.respondioUserId && a.online).length > 100, 'nobody was taken offline');
    } finally {
      respondio.users = saved;
    }
  });
});
