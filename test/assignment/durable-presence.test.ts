import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { commitAgentChange } from '../../src/assignment/store';
import { getAgent, patchAgent, putAgent } from '../../src/db/agents';
import { Harness } from '../support/harness';

/**
 * An API process that dies right after committing a presence change, before it signals anyone: what the change owes
 * the runs is in the same commit, and a worker delivers it within seconds.
 */
describe('presence changes survive the API dying before it signals', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start({
      routing: { regular: { chain: [{ kind: 'team', team: 'dp-desk' }] }, assignment: { rerouteOnOffline: true } },
    });
  });
  after(() => h.close());

  /** Exactly what PATCH /v1/agents commits, and then nothing: the process is gone. */
  const commitOnly = (agentId: string, changes: { online?: boolean; capacity?: number }) => commitAgentChange(h.db, (tx) => patchAgent(tx, agentId, changes));

  it('re-routes the conversations of an agent who went offline', async () => {
    await h.putAgent('dp-ann', { team: 'dp-desk' });
    const id = h.contactId('dp-offline');
    await h.open({ id, email: `${id}@unknown.example.com` });
    await h.waitFor(id, (s) => s.assignee?.agentId === 'dp-ann');
    await h.putAgent('dp-ben', { team: 'dp-desk' });

    await commitOnly('dp-ann', { online: false });
    const status = await h.waitFor(id, (s) => s.assignee?.agentId === 'dp-ben', 20_000);
    assert.ok(status.path.includes('agent_offline'));
  });

  it('serves the queue with the capacity an agent gained', async () => {
    await putAgent(h.db, { id: 'dp-cid', name: 'Cid', team: 'dp-desk', role: 'agent', online: true, capacity: 0 });
    for (const other of ['dp-ann', 'dp-ben']) await commitAgentChange(h.db, (tx) => patchAgent(tx, other, { online: false }));
    const id = h.contactId('dp-room');
    await h.open({ id, email: `${id}@unknown.example.com` });
    await h.waitForState(id, 'queued');

    await commitOnly('dp-cid', { capacity: 3 });
    assert.equal((await getAgent(h.db, 'dp-cid'))?.capacity, 3);
    const status = await h.waitFor(id, (s) => s.state === 'assigned', 20_000);
    assert.equal(status.assignee?.agentId, 'dp-cid');
  });
});
