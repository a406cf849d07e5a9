import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, before, describe, it } from 'node:test';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createCrmActivities, type CrmLookup, fillCrmUrl } from '../../src/activities/crm';
import { parseEnv } from '../../src/service/config';
import { createPool, type Db, migrateDatabase } from '../../src/db/pool';
import type { ContactInput, CrmOutcome } from '../../src/domain/conversation';
import { parseRoutingConfig, type RoutingConfig } from '../../src/domain/routing-config';
import { RuleVersions } from '../../src/db/rule-versions';
import { decodeHistoryPayloads } from '../../src/security/history';
import { workflowIdForContact } from '../../src/workflows/definitions';
import { Harness } from '../support/harness';
import { payloadTexts } from '../support/history';
import { acquireTestServers, createScratchDatabase } from '../support/servers';

/** The HTTP request step against a real server on loopback: templates, secrets, mapping, outcomes. */
describe('CRM request step', () => {
  let seen: { method?: string; url?: string; headers?: IncomingHttpHeaders; body?: string } = {};
  /** `hang`: never answer; `hang-body`: send the headers, never the body. */
  let reply: { status: number; body: string; hang?: 'hang' | 'hang-body' } = { status: 200, body: '{}' };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      seen = { method: req.method, url: req.url, headers: req.headers, body };
      if (reply.hang === 'hang') return;
      if (reply.hang === 'hang-body') return void res.writeHead(reply.status, { 'content-type': 'application/json' }).write('{"a":');
      res.writeHead(reply.status, { 'content-type': 'application/json' }).end(reply.body);
    });
  });
  let base = '';
  let db: Db;
  let rules: RuleVersions;
  let releaseServers: () => Promise<void>;
  before(async () => {
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { servers, release } = await acquireTestServers();
    releaseServers = release;
    db = createPool(await createScratchDatabase(servers.databaseUrl));
    await migrateDatabase(db);
    rules = new RuleVersions(db);
  });
  after(async () => {
    await db.end();
    await releaseServers();
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
  });

  const crmOf = (crm: object) => parseRoutingConfig({ crm: { url: `${base}/x`, ...crm } });
  const activity = (env: NodeJS.ProcessEnv = {}, options: { envNames?: string[]; current?: RoutingConfig } = {}): ((lookup: CrmLookup) => Promise<CrmOutcome>) =>
    createCrmActivities({ fetch, env, envNames: options.envNames ?? Object.keys(env), rules, current: options.current }).fetchCustomerData;
  /** A run's lookup as a run started by the API makes it: the rules recorded, their version in the lookup. */
  const lookup = async (crm: object, env: NodeJS.ProcessEnv = {}, contact: ContactInput = { id: 'c-1', phone: '+34 600' }, email = 'ana+vip@example.com'): Promise<CrmOutcome> =>
    new MockActivityEnvironment().run(activity(env), { email, contact, rulesVersion: await rules.record(crmOf(crm)) });

  it('fills the URL template, resolves env secrets in headers, and maps fields with JSONPath', async () => {
    reply = { status: 200, body: JSON.stringify({ data: { tier: 'VIP', owner: { id: 'alex' } } }) };
    const outcome = await lookup(
      {
        url: `${base}/customers?email={{email}}&id={{contact.id}}`,
        headers: { authorization: 'Bearer ${env:CRM_TOKEN}' },
        mapping: { customerType: '$.data.tier', accountManager: '$.data.owner.id', missing: '$.nope' },
      },
      { CRM_TOKEN: 's3cret' },
    );
    assert.deepEqual(outcome, { outcome: 'found', status: 200, fields: { customerType: 'VIP', accountManager: 'alex' } });
    assert.equal(seen.url, '/customers?email=ana%2Bvip%40example%2Ecom&id=c-1');
    assert.equal(seen.headers?.authorization, 'Bearer s3cret');
  });

  it('sends a POST body template as JSON', async () => {
    reply = { status: 200, body: '{"customerType":"Regular"}' };
    await lookup({ method: 'POST', body: '{"email":"{{email}}","phone":"{{contact.phone}}"}' });
    assert.equal(seen.method, 'POST');
    assert.deepEqual(JSON.parse(seen.body!), { email: 'ana+vip@example.com', phone: '+34 600' });
    assert.equal(seen.headers?.['content-type'], 'application/json');
  });

  it('types its outcomes: 404 not found, 5xx, 408 and 429 retryable, other 4xx final, bad JSON final', async () => {
    reply = { status: 404, body: '' };
    assert.deepEqual(await lookup({}), { outcome: 'not_found', status: 404 });
    for (const status of [502, 408, 429]) {
      reply = { status, body: '' };
      assert.deepEqual(await lookup({}), { outcome: 'error', retryable: true, status, reason: `CRM answered ${status}` });
    }
    reply = { status: 403, body: '' };
    assert.deepEqual(await lookup({}), { outcome: 'error', retryable: false, status: 403, reason: 'CRM answered 403' });
    reply = { status: 200, body: '<html>' };
    assert.deepEqual(await lookup({}), { outcome: 'error', retryable: false, status: 200, reason: 'CRM answer is not JSON' });
  });

  it('gives up on a CRM that hangs after its timeout, before or after its headers, even when garbage is collected meanwhile', async () => {
    // Node 20 drops a timeout folded into AbortSignal.any() at the next collection; collect often while it hangs.
    setFlagsFromString('--expose-gc');
    const collect = runInNewContext('gc') as () => void;
    const collecting = setInterval(collect, 20);
    try {
      for (const hang of ['hang', 'hang-body'] as const) {
        reply = { status: 200, body: '', hang };
        const started = Date.now();
        assert.deepEqual(await lookup({ timeout: 300 }), { outcome: 'error', retryable: true, reason: 'no answer within 300 ms' }, hang);
        assert.ok(Date.now() - started < 3_000, `${hang}: answered after ${Date.now() - started} ms`);
      }
    } finally {
      clearInterval(collecting);
      reply = { status: 200, body: '{}' };
    }
  });

  it('refuses to call with a header naming an unset env variable, without leaking other values', async () => {
    seen = {};
    const outcome = await new MockActivityEnvironment().run(activity({}, { envNames: ['MISSING_TOKEN'] }), {
      email: 'ana@example.com',
      contact: { id: 'c-1' },
      rulesVersion: await rules.record(crmOf({ headers: { authorization: 'Bearer ${env:MISSING_TOKEN}' } })),
    });
    assert.equal(seen.url, undefined, 'no request went out');
    assert.deepEqual(outcome, {
      outcome: 'error',
      retryable: false,
      reason: 'environment variable MISSING_TOKEN named by the CRM config is not set',
    });
  });

  it("takes the CRM settings of the run's rules version from the registry, never those the lookup carries", async () => {
    reply = { status: 200, body: '{"customerType":"VIP"}' };
    const rulesVersion = await rules.record(crmOf({ url: `${base}/registered?email={{email}}` }));
    const outcome: CrmOutcome = await new MockActivityEnvironment().run(activity(), {
      email: 'ana@example.com',
      contact: { id: 'c-1' },
      rulesVersion,
      crm: crmOf({ url: `${base}/attacker`, headers: { 'x-leak': 'yes' } }).crm,
    });
    assert.equal(outcome.outcome, 'found');
    assert.equal(seen.url, '/registered?email=ana%40example%2Ecom');
    assert.equal(seen.headers?.['x-leak'], undefined);
  });

  it('answers a final error, sending nothing, for a rules version nobody recorded', async () => {
    seen = {};
    const outcome = await new MockActivityEnvironment().run(activity(), { email: 'ana@example.com', contact: { id: 'c-1' }, rulesVersion: 'f'.repeat(64) });
    assert.deepEqual(outcome, { outcome: 'error', retryable: false, reason: "the run's rules version ffffffffffff is not recorded" });
    assert.equal(seen.url, undefined);
  });

  it("a run started before rule versions keeps its CRM settings when they are recorded ones, else gets the worker's own, and says so", async () => {
    reply = { status: 200, body: '{"customerType":"Regular"}' };
    const recorded = crmOf({ url: `${base}/recorded?email={{email}}` });
    await rules.record(recorded);
    const current = crmOf({ url: `${base}/current?email={{email}}` });
    const legacy = (crm: RoutingConfig['crm']): Promise<CrmOutcome> =>
      new MockActivityEnvironment().run(activity({}, { current }), { email: 'ana@example.com', contact: { id: 'c-1' }, crm });

    assert.deepEqual(await legacy(recorded.crm), { outcome: 'found', status: 200, fields: { customerType: 'Regular' } });
    assert.equal(seen.url, '/recorded?email=ana%40example%2Ecom');

    const crafted = await legacy(crmOf({ url: `${base}/attacker?email={{email}}`, headers: { 'x-leak': 'yes' } }).crm);
    assert.equal(seen.url, '/current?email=ana%40example%2Ecom', "the worker's own settings, not the input's");
    assert.equal(seen.headers?.['x-leak'], undefined);
    assert.match(crafted.note ?? '', /not those of any recorded routing config: the worker's own were used/);

    seen = {};
    const withoutOwn: CrmOutcome = await new MockActivityEnvironment().run(activity(), {
      email: 'ana@example.com',
      contact: { id: 'c-1' },
      crm: crmOf({ url: `${base}/attacker?email={{email}}` }).crm,
    });
    assert.deepEqual(withoutOwn, {
      outcome: 'error',
      retryable: false,
      reason: "the run's CRM settings are not those of any recorded routing config, and this worker has no routing config of its own",
    });
    assert.equal(seen.url, undefined);
  });

  it('refuses a header naming a variable the operator did not list, naming it, without reading the environment', async () => {
    seen = {};
    const reads: string[] = [];
    const env = new Proxy({ CRM_TOKEN: 'listed', DATABASE_URL: 'postgres://secret' } as NodeJS.ProcessEnv, {
      get: (target, name) => (reads.push(String(name)), target[name as string]),
    });
    const rulesVersion = await rules.record(crmOf({ headers: { authorization: 'Bearer ${env:DATABASE_URL}' } }));
    const outcome = await new MockActivityEnvironment().run(activity(env, { envNames: ['CRM_TOKEN'] }), { email: 'ana@example.com', contact: { id: 'c-1' }, rulesVersion });
    assert.deepEqual(outcome, {
      outcome: 'error',
      retryable: false,
      reason: 'environment variable DATABASE_URL named by the CRM config is not listed in VIP_ROUTER_CRM_ENV',
    });
    assert.deepEqual(reads, [], 'the environment was not read');
    assert.equal(seen.url, undefined, 'no request went out');
  });

  it("refuses the service's own secrets in VIP_ROUTER_CRM_ENV at start", () => {
    assert.deepEqual(parseEnv({ VIP_ROUTER_CRM_ENV: ' CRM_TOKEN, CRM_TENANT ' }).VIP_ROUTER_CRM_ENV, ['CRM_TOKEN', 'CRM_TENANT']);
    for (const secret of ['VIP_ROUTER_CODEC_KEYS', 'DATABASE_URL', 'RESPONDIO_API_TOKEN', 'RESPONDIO_WEBHOOK_SIGNING_KEYS', 'TEMPORAL_TLS_KEY', 'TEMPORAL_API_KEY', 'OUTBOUND_WEBHOOK_SECRET', 'PGPASSWORD']) {
      assert.throws(() => parseEnv({ VIP_ROUTER_CRM_ENV: `CRM_TOKEN,${secret}` }), new RegExp(`VIP_ROUTER_CRM_ENV lists ${secret}: the service's own secrets`));
      assert.throws(() => createCrmActivities({ fetch, env: {}, envNames: [secret], rules }), /the service's own secrets/);
    }
  });

  it('never runs a script expression in a mapping: a filter is refused with a final error', async () => {
    reply = { status: 200, body: JSON.stringify({ accounts: [{ tier: 'VIP', owner: 'alex' }] }) };
    const outcome = await lookup({ mapping: { customerType: '$.accounts[0].tier', accountManager: "$.accounts[?(@.tier == 'VIP')].owner" } });
    assert.equal(outcome.outcome, 'error');
    assert.equal(outcome.outcome === 'error' && outcome.retryable, false);
    assert.match(outcome.outcome === 'error' ? outcome.reason : '', /mapping of accountManager .* cannot be used: Eval \[\?\(expr\)\] prevented/);
  });

  it('keeps a placeholder inside its place in the URL: / and . are encoded, and a URL that leaves the configured one is refused', async () => {
    reply = { status: 200, body: '{}' };
    const url = `${base}/customers/{{contact.id}}/profile`;
    await lookup({ url }, {}, { id: '../../admin' });
    assert.equal(seen.url, '/customers/%2E%2E%2F%2E%2E%2Fadmin/profile');
    seen = {};
    const outcome = await lookup({ url }, {}, { id: '..' });
    assert.deepEqual(outcome, { outcome: 'error', retryable: false, reason: 'the CRM url, filled in, leaves the configured url: refused' });
    assert.equal(seen.url, undefined, 'no request went out');
    assert.equal(fillCrmUrl(`${base}/customers/{{contact.id}}`, { contact: { id: '..' } }), undefined);
    assert.equal(fillCrmUrl('http://{{contact.id}}/x', { contact: { id: 'attacker.example' } }), undefined);
  });
});

/** `${env:NAME}` in a CRM header: the worker resolves it when it calls; the run's history only ever names it. */
describe('CRM secrets in a running conversation', () => {
  const SECRET = `crm-token-${Math.random().toString(36).slice(2)}-never-in-history`;
  const VARIABLE = 'VIP_TEST_CRM_TOKEN_PLAIN_API';
  const seenAuthorization: Array<string | undefined> = [];
  const crm = createServer((req, res) => {
    seenAuthorization.push(req.headers.authorization);
    const known = req.headers.authorization === `Bearer ${SECRET}`;
    res.writeHead(known ? 200 : 401, { 'content-type': 'application/json' }).end(JSON.stringify(known ? { customerType: 'VIP' } : { error: 'bad token' }));
  });
  let h: Harness;
  before(async () => {
    // The worker's environment: the harness's worker runs in this process.
    process.env[VARIABLE] = SECRET;
    await new Promise<void>((ready) => crm.listen(0, '127.0.0.1', ready));
    const url = `http://127.0.0.1:${(crm.address() as AddressInfo).port}/customers?email={{email}}`;
    h = await Harness.start({ routing: { crm: { url, headers: { authorization: `Bearer \${env:${VARIABLE}}` } } }, crmEnvNames: [VARIABLE] });
    await h.putAgent('vip-secret', { team: 'vip', capacity: 5 });
  });
  after(async () => {
    await h.close();
    await new Promise<void>((done) => crm.close(() => done()));
    delete process.env[VARIABLE];
  });

  it('sends the secret to the CRM, and keeps it out of the workflow history', async () => {
    const id = h.contactId('crm-secret');
    await h.open({ id, email: `${id}@example.com` });
    const status = await h.waitForState(id, 'assigned');
    assert.equal(status.assignee?.agentId, 'vip-secret', 'the CRM accepted the resolved secret and answered VIP');
    assert.deepEqual(seenAuthorization, [`Bearer ${SECRET}`]);

    const history = await h.client.workflow.getHandle(workflowIdForContact(id)).fetchHistory();
    const decoded = payloadTexts(JSON.parse(historyToJSON(await decodeHistoryPayloads(history, h.codec)))).join('\n');
    assert.ok(decoded.includes(`\${env:${VARIABLE}}`), 'the decrypted history is readable and names the variable');
    assert.ok(decoded.includes(`${id}@example.com`), 'the decrypted history holds the run input');
    assert.ok(!decoded.includes(SECRET), 'the secret itself is nowhere in the history');
    assert.ok(!historyToJSON(history).includes(SECRET), 'nor in its encrypted form');
  });
});
