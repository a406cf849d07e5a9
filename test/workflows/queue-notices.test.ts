import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { SHIPPED_MESSAGES } from '../../src/domain/routing-texts';
import type { RoutingConfigInput } from '../../src/domain/routing-config';
import type { ContactInput } from '../../src/domain/conversation';
import { waitUntil } from '../../src/local/processes';
import { closeConversationSignal, stateQuery } from '../../src/workflows/definitions';
import { LOCAL_ACTIVITIES, QUEUE_NOTICES } from '../../src/workflows/patches';
import { decided, type RoutingHandle, TimeSkippingServer, TimeSkippingWorld } from '../support/time-skipping';


/** routing.yaml's queue.notifyContact: a queued contact hears they wait, and roughly how long; on the time-skipping server. */
describe('queue notices', () => {
  let w: TimeSkippingWorld;
  let server: TimeSkippingServer;
  before(async () => {
    server = await TimeSkippingServer.start();
  });
  after(() => server.stop());
  /** Every run a test opens: closed after it, so no notice timer of theirs fires into a later test's skips. */
  let opened: RoutingHandle[] = [];
  beforeEach(async () => {
    opened = [];
    w = await TimeSkippingWorld.start({ server });
    // The support team's only agent is away: regular contacts queue.
    await w.putAgent('sup-sam', { team: 'support', online: false });
  });
  afterEach(async () => {
    for (const handle of opened) {
      if ((await handle.describe()).status.name !== 'RUNNING') continue;
      await handle.signal(closeConversationSignal, { source: 'api' });
      await w.waitFor(handle, (s) => s.state === 'closed');
    }
    await w.close();
  });

  const notifying: RoutingConfigInput = { queue: { notifyContact: true, notifyEvery: '15m' } };

  /** A regular contact (the CRM knows them as such) in the queue. */
  async function openQueued(label: string, routing: RoutingConfigInput, contact: Partial<ContactInput> = {}): Promise<{ id: string; handle: RoutingHandle }> {
    const id = w.contactId(label);
    const email = `${id}@example.com`;
    w.crm.script(email, { status: 200, body: { customerType: 'Regular' } });
    const handle = await w.open({ id, email, ...contact }, routing);
    opened.push(handle);
    await w.waitFor(handle, (s) => s.state === 'queued');
    return { id, handle };
  }

  const notices = async (id: string) => (await w.transcript(id)).filter((m) => m.kind === 'queue_notice');

  /** Waits (in real time) until the contact has had `count` notices; fails with those seen. */
  async function noticesReach(id: string, count: number) {
    let seen: Awaited<ReturnType<typeof notices>> = [];
    return waitUntil(`${count} queue notices to ${id}`, async () => (seen = await notices(id)).length >= count && seen, {
      timeoutMs: 15_000,
      intervalMs: 50,
      detail: () => JSON.stringify(seen.map((m) => m.text)),
    });
  }

  /** Assignments of a tier made within the last hour, as the estimate reads them: one every `everyMinutes`. */
  async function recentAssignments(tier: string, count: number, everyMinutes: number) {
    for (let i = 0; i < count; i++) {
      await w.db.query(
        `INSERT INTO assignments (conversation_id, workflow_id, contact_id, agent_id, strategy, via, tier, assigned_at, released_at)
         VALUES ($1, $1, $1, 'sup-sam', 'least_open', 'team', $2, now() - make_interval(mins => $3), now())`,
        [`earlier-${tier}-${i}`, tier, 1 + i * everyMinutes],
      );
    }
  }

  it('tells a queued contact on joining, again once per 15 min while queued, and never after the assignment', async () => {
    const { id, handle } = await openQueued('notice-once', notifying);
    const [first] = await noticesReach(id, 1);
    assert.equal(first!.direction, 'outbound');
    assert.equal(first!.text, SHIPPED_MESSAGES.en.queuedFewMinutes, 'no assignments of the tier yet: "a few minutes", no number');
    const joined = await handle.query(stateQuery);
    assert.deepEqual(joined.path, ['trigger', 'check_email', 'fetch_crm', 'tier:regular', 'queued', 'queue_notice']);
    assert.match(joined.decisions.find((d) => d.step === 'queue_notice')!.detail, /^a few minutes: too few assignments to estimate \(1 in the regular queue, 0 regular assignments in the last hour\)$/);

    await w.env.sleep('14m');
    assert.equal((await handle.query(stateQuery)).state, 'queued');
    assert.equal((await notices(id)).length, 1, 'not again within 15 min');
    await w.env.sleep('1m');
    assert.equal((await noticesReach(id, 2)).length, 2, 'again after 15 min');
    await w.env.sleep('15m');
    assert.equal((await noticesReach(id, 3)).length, 3, 'and again 15 min later');

    assert.equal((await w.callApi('PATCH', '/v1/agents/sup-sam', { online: true })).status, 200);
    const assigned = await w.waitFor(handle, decided);
    assert.equal(assigned.assignee?.agentId, 'sup-sam');
    await w.env.sleep('1h');
    assert.equal((await handle.query(stateQuery)).state, 'assigned');
    assert.equal((await notices(id)).length, 3, 'no notice once assigned');
    assert.deepEqual((await handle.query(stateQuery)).path.filter((step) => step === 'queue_notice').length, 3);
    await w.recordHistory(id, 'queued-notified-then-assigned');
  });

  it("estimates the wait from the tier's assignments of the last hour and the contact's place, in the contact's language", async () => {
    // 12 regular assignments in the last hour: one every 5 minutes.
    await recentAssignments('regular', 12, 5);
    const spanish = await openQueued('notice-es', notifying, { language: 'es' });
    const [toSpanish] = await noticesReach(spanish.id, 1);
    assert.equal(toSpanish!.text, SHIPPED_MESSAGES.es.queued.replace('{{wait}}', '5 minutos'), 'first in line: about 5 minutes');

    const portuguese = await openQueued('notice-pt', notifying, { language: 'pt' });
    const [toPortuguese] = await noticesReach(portuguese.id, 1);
    assert.equal(toPortuguese!.text, SHIPPED_MESSAGES.pt.queued.replace('{{wait}}', '10 minutos'), 'second in line: about 10 minutes');
    const status = await portuguese.handle.query(stateQuery);
    assert.equal(status.decisions.find((d) => d.step === 'queue_notice')!.detail, 'expected wait 10 minutos (2 in the regular queue, 12 regular assignments in the last hour)');
  });

  it('sends the text routing.yaml gives, with its placeholders filled', async () => {
    await recentAssignments('regular', 30, 2);
    const routing: RoutingConfigInput = { ...notifying, askEmail: { messages: { en: { queued: '{{firstName}}, you are number {{position}}: about {{wait}}.' } } } };
    const { id } = await openQueued('notice-override', routing, { firstName: 'Ana' });
    assert.equal((await noticesReach(id, 1))[0]!.text, 'Ana, you are number 1: about 5 minutes.');
  });

  it('says nothing, and records no marker, when the rules leave notifyContact off', async () => {
    const { id, handle } = await openQueued('notice-off', { queue: { notifyEvery: '15m', aging: { points: 1, every: '10m' } } });
    await w.env.sleep('1h');
    assert.equal((await handle.query(stateQuery)).state, 'queued');
    assert.deepEqual(await notices(id), []);
    const { events } = await handle.fetchHistory();
    const patches = (events ?? [])
      .filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')
      .map((e) => JSON.parse(Buffer.from(e.markerRecordedEventAttributes!.details!['patch-data']!.payloads![0]!.data!).toString('utf8')).id as string);
    assert.ok(patches.includes(LOCAL_ACTIVITIES), `the run records the other patches: ${patches.join(', ')}`);
    assert.ok(!patches.includes(QUEUE_NOTICES));
  });

  it('stops when the conversation closes while queued', async () => {
    const { id, handle } = await openQueued('notice-closed', notifying);
    await noticesReach(id, 1);
    await w.env.sleep('10m');
    await handle.signal(closeConversationSignal, { source: 'api' });
    // The run ends at once, its notice timer cancelled: nothing more can be said to the contact.
    const final = await w.waitFor(handle, (s) => s.state === 'closed');
    assert.equal(final.state, 'closed');
    assert.deepEqual(final.path, ['trigger', 'check_email', 'fetch_crm', 'tier:regular', 'queued', 'queue_notice', 'close']);
    assert.equal((await notices(id)).length, 1);
    assert.equal(await w.isQueued(id), false);
  });
});
