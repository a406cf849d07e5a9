import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AddressInfo } from 'node:net';
import { agentLabel } from '../../src/api/routes/metrics-routes';
import { serveWorkerMetrics } from '../../src/worker';
import { Harness } from '../support/harness';
import { promtoolFindings } from '../support/promtool';

/** GET /metrics after a known scenario: the counts are the scenario's. */
describe('metrics', () => {
  let h: Harness;
  let text = '';
  before(async () => {
    h = await Harness.start({
      routing: {
        tiers: [{ name: 'vip', customerTypes: ['VIP'], priority: 10, chain: [{ kind: 'team', team: 'met-vip-nobody' }] }],
        regular: { chain: [{ kind: 'team', team: 'met-support' }], firstResponse: '1h' },
        assignment: { maxQueueWait: '1s', onQueueTimeout: 'escalate' },
        askEmail: { maxReAsks: 0, replyTimeout: '2s', onReplyTimeout: 'route_regular' },
      },
    });
    await h.putAgent('met-sam', { team: 'met-support', capacity: 10 });
    await h.putAgent('met-mara', { team: 'met-managers', role: 'manager', capacity: 10 });
    // An agent whose id is an email address, made before such ids were refused.
    await h.db.query(`INSERT INTO teams (name) VALUES ('met-old-team') ON CONFLICT DO NOTHING`);
    await h.db.query(`INSERT INTO agents (id, name, team, role, capacity) VALUES ('met-old@example.com', 'Old', 'met-old-team', 'agent', 1)`);
    await h.putCustomer('met-regular@example.com', { customerType: 'Regular' });
    await h.putCustomer('met-vip@example.com', { customerType: 'VIP' });

    const regulars = ['a', 'b', 'c'].map((n) => h.contactId(`met-${n}`));
    for (const id of regulars) await h.open({ id, email: 'met-regular@example.com' });
    const unknown = h.contactId('met-unknown');
    await h.open({ id: unknown, email: 'met-unknown@example.com' });
    const vip = h.contactId('met-vip');
    await h.open({ id: vip, email: 'met-vip@example.com' });
    const silent = h.contactId('met-silent');
    await h.open({ id: silent });
    const invalid = h.contactId('met-invalid');
    await h.open({ id: invalid });
    await h.waitForState(invalid, 'asking_email');
    await h.say(invalid, 'm-met-1', 'no');

    for (const id of [...regulars, unknown]) await h.waitForState(id, 'assigned');
    await h.waitForState(vip, 'escalated');
    await h.waitForState(invalid, 'escalated');
    await h.waitFor(silent, (s) => s.state === 'assigned', 20_000);
    // Sam writes to one of his contacts: one first response timed.
    await h.request('POST', `/v1/contacts/${regulars[0]}/messages`, { messageId: 'm-met-sam', text: 'Hi', direction: 'outbound', agentId: 'met-sam' });
    await h.waitFor(regulars[0]!, (s) => s.decisions.some((d) => d.step === 'first_response'));
    text = (await h.request('GET', '/metrics')).body;
  });
  after(() => h.close());

  const value = (pattern: RegExp) => {
    const line = text.split('\n').find((l) => pattern.test(l));
    assert.ok(line, `no line matches ${pattern}`);
    return Number(line.split(' ').at(-1));
  };

  it('needs a key of scope read', async () => {
    assert.equal((await h.requestAs(null, 'GET', '/metrics')).status, 401);
    const read = (await h.apiKeys.create('read', 'prometheus')).key;
    assert.equal((await h.requestAs(read, 'GET', '/metrics')).status, 200);
  });

  it('counts conversations opened, CRM outcomes, escalations and timeouts', () => {
    assert.equal(value(/^vip_router_conversations_opened_total\{source="api"\}/), 7);
    assert.equal(value(/^vip_router_crm_requests_total\{outcome="found"\}/), 4, 'three regular and one VIP found');
    assert.equal(value(/^vip_router_crm_requests_total\{outcome="not_found"\}/), 1);
    assert.equal(value(/^vip_router_escalations_total\{.*why="queue_timeout"/), 1);
    assert.equal(value(/^vip_router_escalations_total\{.*why="invalid_replies"/), 1);
    assert.equal(value(/^vip_router_reply_timeouts_total\{/), 1);
    assert.equal(value(/^vip_router_queue_timeouts_total\{/), 1);
  });

  it('measures time to assignment by tier', () => {
    // Regular: three found, one unknown, one routed after no reply, one escalated from the question.
    assert.equal(value(/^vip_router_time_to_assignment_seconds_count\{.*tier="regular"/), 6);
    assert.equal(value(/^vip_router_time_to_assignment_seconds_count\{.*tier="vip"/), 1);
    assert.ok(value(/^vip_router_time_to_assignment_seconds_sum\{.*tier="vip"/) >= 1, 'the VIP waited out the 1 s queue');
  });

  it('measures the first response by tier', () => {
    assert.equal(value(/^vip_router_first_response_seconds_count\{.*tier="regular"/), 1);
    assert.ok(value(/^vip_router_first_response_seconds_sum\{.*tier="regular"/) >= 0);
  });

  it('reports the queue and the open conversations of each agent as they are now', () => {
    assert.equal(value(/^vip_router_queue_length /), 0);
    assert.equal(value(/^vip_router_open_conversations\{agent="met-sam",team="met-support"\}/), 5);
    assert.equal(value(/^vip_router_open_conversations\{agent="met-mara",team="met-managers"\}/), 2);
  });

  it('labels an agent whose id is an email address by a hash of it, so no address reaches Prometheus', () => {
    assert.doesNotMatch(text, /met-old@example\.com/);
    assert.equal(value(new RegExp(`^vip_router_open_conversations\\{agent="${agentLabel('met-old@example.com')}",team="met-old-team"\\}`)), 0);
    assert.match(agentLabel('met-old@example.com'), /^sha256:[0-9a-f]{16}$/);
  });

  it("passes Prometheus' own lint (promtool check metrics), the API's and the worker's, with snake_case labels", async () => {
    const server = await serveWorkerMetrics(0);
    try {
      const worker = await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`)).text();
      // The runs' own metrics are there, labelled: a lint of an empty scrape would pass.
      for (const scrape of [text, worker]) assert.match(scrape, /^vip_router_time_to_assignment_seconds_bucket\{.*task_queue="[^"]+".*workflow_type="routeConversation"/m);
      assert.match(text, /^vip_router_first_response_seconds_bucket\{.*le="300".*\}/m, 'its buckets are the runs’ own, in seconds');
      assert.deepEqual(await promtoolFindings(text), [], 'the API');
      assert.deepEqual(await promtoolFindings(worker), [], 'the worker');
    } finally {
      await new Promise((done) => server.close(done));
    }
  });
});
