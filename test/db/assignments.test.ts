import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { putAgent } from '../../src/db/agents';
import { assignFirstAvailable, releaseAssignment } from '../../src/db/assignments';
import { createPool, type Db, migrateDatabase } from '../../src/db/pool';
import type { AssignTarget } from '../../src/workflows/types';
import { acquireTestServers, createScratchDatabase } from '../support/servers';

/** The assignment transaction on a real PostgreSQL: capacity and one-assignee-per-conversation under races. */
describe('assignment transaction', () => {
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

  const team = (name: string): AssignTarget[] => [{ kind: 'team', team: name, strategy: 'least_open', via: 'team' }];
  const request = (conversationId: string, targets: AssignTarget[]) => ({
    conversationId,
    workflowId: `wf-${conversationId}`,
    contactId: `contact-${conversationId}`,
    targets,
    onlineOnly: true,
  });

  it('never exceeds capacity when 40 conversations race for 3 agents of capacity 4', async () => {
    for (const id of ['race-a', 'race-b', 'race-c']) await putAgent(db, { id, name: id, team: 'race', role: 'agent', online: true, capacity: 4 });
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => assignFirstAvailable(db, request(`race-${i}`, team('race')))));
    assert.equal(results.filter(Boolean).length, 12);
    const { rows } = await db.query(
      `SELECT agent_id, count(*)::int AS n FROM assignments WHERE released_at IS NULL AND agent_id LIKE 'race-%' GROUP BY agent_id ORDER BY agent_id`,
    );
    assert.deepEqual(rows, [
      { agent_id: 'race-a', n: 4 },
      { agent_id: 'race-b', n: 4 },
      { agent_id: 'race-c', n: 4 },
    ]);
  });

  it('returns the same assignment when the same conversation is assigned twice at once (activity retry)', async () => {
    await putAgent(db, { id: 'retry-a', name: 'A', team: 'retry', role: 'agent', online: true, capacity: 10 });
    await putAgent(db, { id: 'retry-b', name: 'B', team: 'retry', role: 'agent', online: true, capacity: 10 });
    const results = await Promise.all(Array.from({ length: 8 }, () => assignFirstAvailable(db, request('same-conversation', team('retry')))));
    assert.equal(new Set(results.map((r) => r?.agentId)).size, 1);
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM assignments WHERE conversation_id = 'same-conversation'`);
    assert.equal(rows[0].n, 1);
  });

  it('walks the chain: dedicated agent offline → team → manager', async () => {
    await putAgent(db, { id: 'chain-am', name: 'AM', team: 'am', role: 'agent', online: false, capacity: 5 });
    await putAgent(db, { id: 'chain-vip', name: 'V', team: 'chain-vip', role: 'agent', online: true, capacity: 1 });
    await putAgent(db, { id: 'chain-mgr', name: 'M', team: 'chain-mgr', role: 'manager', online: true, capacity: 5 });
    const chain: AssignTarget[] = [
      { kind: 'agent', agentId: 'chain-am', via: 'account_manager' },
      { kind: 'team', team: 'chain-vip', strategy: 'least_open', via: 'team' },
      { kind: 'role', role: 'manager', strategy: 'least_open', via: 'manager' },
    ];
    const first = await assignFirstAvailable(db, request('chain-1', chain));
    const second = await assignFirstAvailable(db, request('chain-2', chain));
    assert.equal(first?.agentId, 'chain-vip');
    assert.equal(first?.via, 'team');
    assert.equal(second?.via, 'manager', 'the VIP team is full: a manager takes it');
  });

  it('frees capacity on release, and releasing twice is harmless', async () => {
    await putAgent(db, { id: 'rel-a', name: 'R', team: 'rel', role: 'agent', online: true, capacity: 1 });
    assert.equal((await assignFirstAvailable(db, request('rel-1', team('rel'))))?.agentId, 'rel-a');
    assert.equal(await assignFirstAvailable(db, request('rel-2', team('rel'))), null);
    assert.equal(await releaseAssignment(db, 'rel-1'), 'rel-a');
    assert.equal(await releaseAssignment(db, 'rel-1'), null);
    assert.equal((await assignFirstAvailable(db, request('rel-2', team('rel'))))?.agentId, 'rel-a');
  });

  it('refuses a second open assignment for one conversation at the schema level', async () => {
    await putAgent(db, { id: 'schema-a', name: 'S', team: 'schema', role: 'agent', online: true, capacity: 5 });
    await assignFirstAvailable(db, request('schema-1', team('schema')));
    await assert.rejects(
      db.query(`INSERT INTO assignments (conversation_id, workflow_id, contact_id, agent_id, strategy, via) VALUES ('schema-1', 'w', 'c', 'schema-a', 'direct', 'team')`),
      /assignments_one_open_per_conversation/,
    );
  });
});
