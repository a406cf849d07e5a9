import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { syncAgentsNow } from '../../src/temporal/agent-sync-schedule';
import { openApiDocument } from '../../src/api/openapi';
import { transcript } from '../../src/db/messages';
import { waitUntil } from '../../src/local/processes';
import { workflowIdForContact } from '../../src/workflows/definitions';
import { type Fixtures, generators, routeTable, type Scope } from '../support/bad-input/generators';
import { countBy, describeRequest, inParallel, type Outcome, send } from '../support/bad-input/send';
import { differences, historyLength, type Snapshot, snapshot, workflowsOnQueue } from '../support/bad-input/snapshot';
import { Harness } from '../support/harness';
import { conversationOpened, messageReceived, signRespondioBody } from '../support/respondio-payloads';
import { type RespondioStandIn, startRespondioStandIn } from '../support/respondio-standin';

/**
 * Bad input, generated: every endpoint and the respond.io webhook get requests that must be refused (wrong types,
 * missing fields, oversized strings and bodies, bad UTF-8, control characters, injection-looking ids, wrong content
 * types, missing or wrong keys and signatures). Every answer must be a 4xx `{ error: { code, message } }`, and
 * afterwards no row and no workflow may differ. BAD_INPUT_SEED=<seed> replays a run. The routes, their keys and
 * scopes are read from the OpenAPI document; the generators are in test/support/bad-input.
 */

const TOKEN = 'respondio-test-token-bad-input';
const SIGNING_KEY = 'whsec-bad-input-0123456789abcdef';
const SEED = process.env['BAD_INPUT_SEED'] ? Number(process.env['BAD_INPUT_SEED']) : Date.now() % 2_147_483_647;
const CONCURRENCY = 8;
const MIN_REQUESTS = 1_000;
const SPEC = openApiDocument();

describe('bad input, generated, across every endpoint and the respond.io webhook', () => {
  let h: Harness;
  let respondio: RespondioStandIn;
  let fixtures: Fixtures;
  let baseline: Snapshot;
  let outcomes: Outcome[] = [];
  let elapsedMs = 0;

  before(async () => {
    respondio = await startRespondioStandIn({ token: TOKEN });
    h = await Harness.start({ respondio: { baseUrl: respondio.baseUrl, token: TOKEN, signingKeys: [SIGNING_KEY] } });
    const scoped = async (scope: Exclude<Scope, 'admin'>) => (await h.apiKeys.create(scope, `bad-input ${scope}`)).key;
    const { key: revokedKey } = await h.apiKeys.create('admin', 'bad-input revoked');
    await h.apiKeys.renew('admin', 'bad-input revoked');
    fixtures = {
      keys: { admin: h.adminKey, integration: await scoped('integration'), read: await scoped('read'), codec: await scoped('codec') },
      revokedKey,
      openContact: String(8_000_000_000 + Math.floor(Math.random() * 999_999_999)),
      agentId: 'bad-input-agent',
      customerEmail: 'bad-input-vip@example.com',
      codecKeyId: h.codec.keyIds[0]!,
    };
    await h.putAgent(fixtures.agentId, { team: 'support', capacity: 2 });
    await h.putCustomer(fixtures.customerEmail, { customerType: 'VIP', accountManager: fixtures.agentId });
    assert.equal((await h.open({ id: fixtures.openContact })).status, 202);
    await h.waitForState(fixtures.openContact, 'asking_email');

    // Quiet first: the agent sync the worker's Schedule starts at once has finished, the question has gone out.
    await waitUntil('the first agent sync', async () => (await workflowsOnQueue(h)).some((run) => run.startsWith('sync-agents-') && run.endsWith(' COMPLETED')), {
      timeoutMs: 20_000,
    });
    await waitUntil('the question to be delivered', async () => {
      const { rows } = await h.db.query(`SELECT count(*)::int AS n FROM messages WHERE contact_id = $1 AND delivery <> 'stored'`, [fixtures.openContact]);
      return rows[0].n > 0 ? true : undefined;
    }, { timeoutMs: 20_000 });
    let previous = await snapshot(h, fixtures.openContact);
    baseline = await waitUntil('the database to settle', async () => {
      await new Promise((tick) => setTimeout(tick, 300));
      const current = await snapshot(h, fixtures.openContact);
      const settled = JSON.stringify(current) === JSON.stringify(previous);
      previous = current;
      return settled ? current : undefined;
    }, { timeoutMs: 20_000 });
  });

  after(async () => {
    await h.close();
    await respondio.close();
  });

  it('has generators for the input of every operation that takes some', () => {
    const covered = new Set(generators(fixtures, SPEC, SIGNING_KEY).flatMap((generator) => generator.input ?? []));
    const uncovered = routeTable(SPEC, fixtures).filter((route) => route.takesInput && !covered.has(route.operationId));
    assert.deepEqual(uncovered.map((route) => `${route.method} ${route.template}`), [], 'add their generators to test/support/bad-input');
  });

  it(`answers ≥ ${MIN_REQUESTS} generated bad requests with a 4xx { error: { code, message } } (seed ${SEED})`, async () => {
    console.log(`bad input: seed ${SEED} (BAD_INPUT_SEED=${SEED} replays this run)`);
    const all = generators(fixtures, SPEC, SIGNING_KEY).flatMap((generator, index) =>
      fc.sample(generator.arb, { seed: SEED + index, numRuns: generator.runs }).map((request) => ({ generator: generator.name, request })),
    );
    const started = performance.now();
    outcomes = await inParallel(all, CONCURRENCY, ({ generator, request }) => send(h.baseUrl, generator, request));
    elapsedMs = performance.now() - started;

    const failures = outcomes.filter((outcome) => outcome.problem !== undefined);
    const keys = { ...fixtures.keys, revoked: fixtures.revokedKey };
    const report = failures
      .slice(0, 40)
      .map((failure, index) => `${index + 1}. [${failure.generator}] ${failure.problem}\n   ${describeRequest(failure.request, keys)}`)
      .join('\n');
    const byGenerator = Object.entries(countBy(failures, (failure) => failure.generator)).map(([name, n]) => `${name}: ${n}`);
    assert.ok(outcomes.length >= MIN_REQUESTS, `only ${outcomes.length} requests`);
    assert.equal(
      failures.length,
      0,
      `${failures.length} of ${outcomes.length} bad requests were not refused properly (seed ${SEED}; ${byGenerator.join(', ')}):\n${report}`,
    );
  });

  it('wrote no row and started, signalled or closed no workflow', async () => {
    const afterwards = await snapshot(h, fixtures.openContact);
    // Visibility lags a little: a run started after the fuzzing is listed only once everything before it is.
    await syncAgentsNow(h.client, h.taskQueue);
    const afterCanary = await waitUntil('the canary sync to be listed', async () => {
      const runs = await workflowsOnQueue(h);
      return runs.some((run) => run.includes('-manual-') && run.endsWith(' COMPLETED')) ? runs : undefined;
    }, { timeoutMs: 20_000 });
    const workflows = afterCanary.filter((run) => !run.includes('-manual-'));
    const rowChanges = differences(baseline.tables, afterwards.tables);
    const workflowChanges = [
      ...workflows.filter((run) => !baseline.workflows.includes(run)),
      ...baseline.workflows.filter((run) => !workflows.includes(run)).map((run) => `gone: ${run}`),
      ...(afterwards.openHistory === baseline.openHistory
        ? []
        : [`the open conversation's history: ${baseline.openHistory} → ${afterwards.openHistory} events`]),
    ];
    const rowsWritten = Object.keys(afterwards.tables).reduce((sum, name) => {
      const [was, is] = [baseline.tables[name], afterwards.tables[name]!];
      return sum + Math.max(Math.abs(is.rows - (was?.rows ?? 0)), is.digest === was?.digest ? 0 : 1);
    }, 0);
    const byStatus = Object.entries(countBy(outcomes, (outcome) => String(outcome.status)))
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([status, n]) => `${status}: ${n}`)
      .join(', ');
    const fiveXx = outcomes.filter((outcome) => outcome.status >= 500).length;
    const took = `${(elapsedMs / 1000).toFixed(1)} s, ${CONCURRENCY} at a time`;
    console.log(
      `bad input: ${outcomes.length} requests, by status {${byStatus}}, ${fiveXx} 5xx, ${rowsWritten} rows, ${workflowChanges.length} workflows (${took})`,
    );
    assert.deepEqual(rowChanges, [], 'tables changed');
    assert.deepEqual(workflowChanges, [], 'workflows on the task queue, or the open conversation, changed');
  });

  it('is still ready and serves valid requests afterwards', async () => {
    assert.equal((await h.request('GET', '/readyz')).status, 200);
    const agents = await h.requestAs(fixtures.keys.read, 'GET', '/v1/agents');
    assert.equal(agents.status, 200);
    assert.ok(agents.body.agents.some((agent: { id: string }) => agent.id === fixtures.agentId));
    assert.equal((await h.conversation(fixtures.openContact)).state, 'asking_email');
  });

  /** Inputs the generators once got through (each was a 5xx or a write): refused, or taken safely, now. They run last. */
  describe('text and dates PostgreSQL cannot store', () => {
    const refused = (response: { status: number; body: unknown }) =>
      assert.ok(response.status >= 400 && response.status < 500, `answered ${response.status}: ${JSON.stringify(response.body)}`);
    const teamExists = async (team: string) => (await h.db.query(`SELECT 1 FROM teams WHERE name = $1`, [team])).rowCount === 1;
    const webhookRow = async (eventId: string) => (await h.db.query(`SELECT status, last_error FROM webhook_events WHERE event_id = $1`, [eventId])).rows[0];
    const deliver = async (raw: string) => {
      const response = await fetch(`${h.baseUrl}/v1/webhooks/respondio`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-webhook-signature': signRespondioBody(raw, SIGNING_KEY) },
        body: raw,
      });
      return { status: response.status, body: await response.text() };
    };
    /** respond.io relays what contacts type: a 5xx loses the event. Accepted must mean applied. */
    const takenOrRefused = async (eventId: string, raw: string) => {
      const response = await deliver(raw);
      assert.ok(response.status < 500, `answered ${response.status}: ${response.body}`);
      if (response.status !== 200) return assert.equal(await webhookRow(eventId), undefined);
      await waitUntil('the event to be applied', async () => ((await webhookRow(eventId))?.status === 'done' ? true : undefined), { timeoutMs: 5_000 });
    };

    for (const [field, body] of [
      ['text', { messageId: 'bug-nul-text', text: 'hello\u0000' }],
      ['messageId', { messageId: 'bug-nul\u0000id', text: 'hello' }],
      ['timestamp (year 0000)', { messageId: 'bug-year-zero', text: 'hello', timestamp: '0000-01-01T00:00:00Z' }],
    ] as const) {
      it(
        `refuses a message whose ${field} PostgreSQL cannot store, before the run hears of it`,
        async () => {
          const events = await historyLength(h, fixtures.openContact);
          refused(await h.request('POST', `/v1/contacts/${fixtures.openContact}/messages`, body));
          assert.equal(await historyLength(h, fixtures.openContact), events, 'the run got the message');
        },
      );
    }

    it("refuses a NUL in an agent's name or team, writing nothing", async () => {
      refused(await h.request('PUT', '/v1/agents/bad-input-bug-nul', { name: 'A\u0000B', team: 'bad-input-bug-team-1' }));
      assert.equal(await teamExists('bad-input-bug-team-1'), false, 'the team row was written');
      refused(await h.request('PUT', '/v1/agents/bad-input-bug-nul', { name: 'A', team: 'bad-input-bug\u0000' }));
    });

    it(
      'answers 409 to an agent email or respond.io user id another agent holds, writing nothing',
      async () => {
        await h.request('PUT', '/v1/agents/bad-input-holder', { name: 'Holder', team: 'support', email: 'holder@example.com', respondioUserId: '99001' });
        for (const [team, conflict] of [
          ['bad-input-bug-team-2', { email: 'holder@example.com' }],
          ['bad-input-bug-team-3', { respondioUserId: '99001' }],
        ] as const) {
          const response = await h.request('PUT', '/v1/agents/bad-input-taker', { name: 'Taker', team, ...conflict });
          assert.equal(response.status, 409, JSON.stringify(response.body));
          assert.equal(await teamExists(team), false, 'the team row was written');
        }
      },
    );

    it('refuses a NUL in a directory customer', async () => {
      refused(await h.request('PUT', '/v1/directory/customers/bug-nul-1%40example.com', { customerType: 'VIP\u0000' }));
      refused(await h.request('PUT', '/v1/directory/customers/bug-nul-2%40example.com', { customerType: 'VIP', name: 'A\u0000' }));
    });

    it(
      'refuses a NUL in a new contact rather than start a run that cannot save it',
      async () => {
        const id = `bad-input-bug-nul-${Date.now()}`;
        refused(await h.request('POST', '/v1/conversations', { contact: { id, lastName: 'Nul\u0000' } }));
        await assert.rejects(h.client.workflow.getHandle(workflowIdForContact(id)).describe(), 'a run was started');
      },
    );

    /** Answered 200 and applied: the row is done, with no error left on it. */
    const applied = async (eventId: string, raw: string) => {
      const response = await deliver(raw);
      assert.equal(response.status, 200, response.body);
      const row = await waitUntil('the event to be applied', async () => ((await webhookRow(eventId))?.status === 'done' ? webhookRow(eventId) : undefined), { timeoutMs: 5_000 });
      assert.equal(row.last_error, null);
    };

    it('applies a message.received whose timestamp is no date (10^15 s), leaving the date out', async () => {
      const event = messageReceived({ id: 7_950_000_001 }, { messageId: 990_001, text: 'hello', timestamp: 1e15 });
      await applied(event.event_id, JSON.stringify(event));
    });

    it(
      'applies a message.received dated after the year 9999 at once, recording the message without respond.io\'s date, instead of retrying it for 24 h',
      async () => {
        const event = messageReceived({ id: Number(fixtures.openContact) }, { messageId: 990_002, text: 'hello', timestamp: 1_000_000_000_000 });
        await applied(event.event_id, JSON.stringify(event));
        const message = await waitUntil(
          'the message in the transcript',
          async () => (await transcript(h.db, fixtures.openContact)).find((m) => m.messageId === '990002'),
          { timeoutMs: 5_000 },
        );
        assert.equal(message.platformTimestamp, null);
      },
    );

    it(
      'takes an event whose text holds a NUL (a contact can type one) without a 5xx',
      async () => {
        const event = messageReceived({ id: 7_950_000_003 }, { messageId: 990_003, text: 'hello\u0000' });
        await takenOrRefused(event.event_id, JSON.stringify(event));
      },
    );

    it('takes an event with a lone surrogate escape without a 5xx', async () => {
      const event = conversationOpened({ id: 7_950_000_004, firstName: 'Ana\ud800' });
      await takenOrRefused(event.event_id, JSON.stringify(event));
    });

    it('takes, or refuses with a 4xx, an event with an unknown field nested 10,000 deep', async () => {
      const event = conversationOpened({ id: 7_950_000_005 });
      const depth = 10_000;
      await takenOrRefused(event.event_id, JSON.stringify(event).replace(/}$/, `,"extra":${'['.repeat(depth)}${']'.repeat(depth)}}`));
    });
  });
});
