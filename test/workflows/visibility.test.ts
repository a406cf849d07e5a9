import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { resolveTemporalBinary } from '../../src/local/temporal-cli';
import { workflowIdForContact } from '../../src/workflows/definitions';
import { Harness } from '../support/harness';

/** What Temporal UI shows of a conversation: search attributes kept current by the run, and a readable summary. */
describe('conversations in Temporal visibility', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start({
      routing: {
        tiers: [{ name: 'vip', customerTypes: ['VIP'], priority: 10, chain: [{ kind: 'team', team: 'vis-vip-empty' }] }],
        regular: { chain: [{ kind: 'team', team: 'vis-support' }] },
        assignment: { maxQueueWait: '1s', onQueueTimeout: 'escalate' },
      },
    });
    await h.putAgent('vis-mara', { name: 'Mara Manager', team: 'vis-managers', role: 'manager' });
    await h.putAgent('vis-sol', { name: 'Sol Support', team: 'vis-support' });
    await h.putCustomer('vis-vip@example.com', { customerType: 'VIP' });
  });
  after(() => h.close());

  const list = async (query: string) => {
    const ids: string[] = [];
    for await (const run of h.client.workflow.list({ query: `TaskQueue = '${h.taskQueue}' AND ${query}` })) ids.push(run.workflowId);
    return ids;
  };
  /** Visibility is eventually consistent: poll until the listing holds what it should. */
  const listed = async (query: string, workflowId: string, present = true) => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const ids = await list(query);
      if (ids.includes(workflowId) === present) return ids;
      assert.ok(Date.now() < deadline, `${query}: ${workflowId} ${present ? 'not' : 'still'} listed (${ids.join(', ')})`);
      await new Promise((tick) => setTimeout(tick, 200));
    }
  };

  it('finds escalated VIP conversations with one filter, in the SDK and with temporal workflow list --query', async () => {
    const vip = h.contactId('vis-vip');
    await h.open({ id: vip, email: 'vis-vip@example.com' });
    const status = await h.waitForState(vip, 'escalated');
    assert.equal(status.assignee?.agentId, 'vis-mara');
    const regular = h.contactId('vis-regular');
    await h.open({ id: regular, email: 'vis-regular@unknown.example.com' });
    await h.waitForState(regular, 'assigned');

    const escalatedVip = "CustomerType = 'VIP' AND Escalated = true";
    const ids = await listed(escalatedVip, workflowIdForContact(vip));
    assert.ok(!ids.includes(workflowIdForContact(regular)));
    await listed(`RoutingState = 'assigned' AND Tier = 'regular' AND AssigneeId = 'vis-sol'`, workflowIdForContact(regular));

    const cli = await resolveTemporalBinary('cli');
    if (cli.type !== 'existing-path') throw new Error('this test needs the Temporal CLI');
    const { stdout } = await promisify(execFile)(cli.path, [
      'workflow', 'list', '--address', h.servers.temporalAddress, '--query', `TaskQueue = '${h.taskQueue}' AND ${escalatedVip}`, '-o', 'json',
    ]);
    const found = (JSON.parse(stdout) as Array<{ execution: { workflowId: string } }>).map((w) => w.execution.workflowId);
    assert.deepEqual(found, [workflowIdForContact(vip)]);

    await h.request('POST', `/v1/conversations/${vip}/close`);
    await h.waitForState(vip, 'closed');
    await listed(`RoutingState = 'closed'`, workflowIdForContact(vip));
  });

  it('shows a summary in the list and where the conversation stands in its details', async () => {
    const id = h.contactId('vis-summary');
    await h.request('POST', '/v1/conversations', { contact: { id, email: 'vis-vip@example.com', channel: 'whatsapp', language: 'es' } });
    await h.waitForState(id, 'escalated');
    const handle = h.client.workflow.getHandle(workflowIdForContact(id));
    assert.equal(await (await handle.describe()).staticSummary(), 'whatsapp · es');
    const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    assert.equal(metadata.currentDetails, 'VIP · escalated to Mara Manager');
  });
});
