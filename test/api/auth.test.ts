import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { registry } from '../../src/observability/metrics';
import { bootstrapApiKeys, generateApiKey } from '../../src/security/api-key-tokens';
import { Harness } from '../support/harness';
import { deliverWebhook, tagUpdated } from '../support/respondio-payloads';
import { startRespondioStandIn, type RespondioStandIn } from '../support/respondio-standin';

type Scope = 'integration' | 'read' | 'codec' | 'decode' | 'metrics';
const SCOPES: readonly Scope[] = ['integration', 'read', 'codec', 'decode', 'metrics'];

/** Every /v1 route, /metrics and /codec need an API key whose scope allows it; health checks and the signed webhook do not. */
describe('API keys', () => {
  let h: Harness;
  const keys = {} as Record<Scope, string>;
  /** Each scope (and admin) works on a conversation of its own, opened before, with one message in its transcript. */
  const probe = (scope: Scope | 'admin') => `scope-probe-${scope}`;
  before(async () => {
    h = await Harness.start();
    for (const scope of SCOPES) keys[scope] = (await h.apiKeys.create(scope, `test ${scope}`)).key;
    await h.putAgent('auth-agent', { team: 'support' });
    await h.putCustomer('scope@example.com', { customerType: 'VIP' });
    for (const scope of [...SCOPES, 'admin' as const]) {
      assert.equal((await h.open({ id: probe(scope) })).status, 202);
      assert.equal((await h.say(probe(scope), 'm-0', 'hello')).status, 202);
    }
  });
  after(() => h.close());

  const assertError = (response: { status: number; body: any }, status: number, code: string) => {
    assert.equal(response.status, status, JSON.stringify(response.body));
    assert.equal(response.body?.error?.code, code, JSON.stringify(response.body));
    assert.equal(typeof response.body.error.message, 'string');
  };

  /**
   * Each route with a valid request, and the status it answers when the key gets through (`{contact}`: the scope's
   * own probe contact). In this order each succeeds: the conversation is open until the close, erased last.
   */
  const routes: Array<{ method: string; path: string; body?: unknown; scopes: Scope[]; ok: number }> = [
    { method: 'POST', path: '/v1/conversations', body: { contact: { id: '{contact}' } }, scopes: ['integration'], ok: 200 },
    { method: 'GET', path: '/v1/conversations/{contact}', scopes: ['integration', 'read'], ok: 200 },
    { method: 'POST', path: '/v1/contacts/{contact}/messages', body: { messageId: 'm-scope', text: 'hello' }, scopes: ['integration'], ok: 202 },
    { method: 'GET', path: '/v1/contacts/{contact}/messages', scopes: ['integration', 'read'], ok: 200 },
    // Nothing is assigned to move: the route's own refusal, after the key got through.
    { method: 'POST', path: '/v1/conversations/{contact}/transfer', body: { agentId: 'auth-agent' }, scopes: [], ok: 409 },
    { method: 'POST', path: '/v1/conversations/{contact}/close', scopes: ['integration'], ok: 202 },
    { method: 'PUT', path: '/v1/agents/auth-agent', body: { name: 'Auth Agent', team: 'support' }, scopes: [], ok: 200 },
    { method: 'PATCH', path: '/v1/agents/auth-agent', body: { capacity: 4 }, scopes: [], ok: 200 },
    { method: 'GET', path: '/v1/agents', scopes: ['read'], ok: 200 },
    { method: 'GET', path: '/v1/queue', scopes: ['read'], ok: 200 },
    { method: 'GET', path: '/v1/operator/overview', scopes: ['read'], ok: 200 },
    { method: 'PUT', path: '/v1/directory/customers/scope@example.com', body: { customerType: 'VIP' }, scopes: [], ok: 200 },
    { method: 'GET', path: '/v1/directory/customers?email=scope@example.com', scopes: ['read'], ok: 200 },
    { method: 'GET', path: '/metrics', scopes: ['read', 'metrics'], ok: 200 },
    { method: 'POST', path: '/codec/encode', body: { payloads: [] }, scopes: ['codec'], ok: 200 },
    { method: 'POST', path: '/codec/decode', body: { payloads: [] }, scopes: ['codec', 'decode'], ok: 200 },
    { method: 'DELETE', path: '/v1/contacts/{contact}', scopes: [], ok: 200 },
  ];
  const pathFor = (path: string, scope: Scope | 'admin') => path.replace('{contact}', probe(scope));
  const bodyFor = (body: unknown, scope: Scope | 'admin') => (body === undefined ? undefined : JSON.parse(JSON.stringify(body).replace('{contact}', probe(scope))));

  it('answers 401 with the JSON error shape and a WWW-Authenticate header to a request without a key, on every route', async () => {
    const inbound = `SELECT count(*)::int AS n FROM messages WHERE direction = 'inbound'`;
    const before = (await h.db.query(inbound)).rows[0].n;
    for (const route of routes) {
      const response = await fetch(`${h.baseUrl}${pathFor(route.path, 'admin')}`, {
        method: route.method,
        headers: { 'content-type': 'application/json' },
        body: route.body === undefined ? undefined : JSON.stringify(bodyFor(route.body, 'admin')),
      });
      assert.equal(response.status, 401, `${route.method} ${route.path}`);
      assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer/);
      assert.equal(((await response.json()) as any).error.code, 'unauthorized');
    }
    assert.equal(await h.openAssignments(), 0);
    assert.equal((await h.db.query(inbound)).rows[0].n, before, 'nothing was written');
    assert.equal((await h.conversation(probe('admin'))).state !== 'closed', true, 'nothing was closed');
  });

  it('answers 401 to an unknown key and to a malformed Authorization header', async () => {
    assertError(await h.requestAs('vr_not-a-key-anyone-made-xxxxxxxxxxxxxxxx', 'GET', '/v1/agents'), 401, 'unauthorized');
    assertError(await h.requestAs(`vr_${'x'.repeat(43)}`, 'GET', '/v1/agents'), 401, 'unauthorized');
    const basic = await fetch(`${h.baseUrl}/v1/agents`, { headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } });
    assert.equal(basic.status, 401);
  });

  it('lets each scope through exactly the routes it is for, where each answers its success status, and answers 403 elsewhere', async () => {
    const outcomes: string[] = [];
    for (const scope of SCOPES) {
      for (const route of routes) {
        const response = await h.requestAs(keys[scope], route.method, pathFor(route.path, scope), bodyFor(route.body, scope));
        const allowed = route.scopes.includes(scope);
        if (allowed) assert.equal(response.status, route.ok, `${scope} ${route.method} ${route.path}: ${JSON.stringify(response.body)}`);
        else assertError(response, 403, 'forbidden');
        outcomes.push(`${scope} ${route.method} ${route.path} ${response.status === 403 ? 'forbidden' : 'allowed'}`);
      }
    }
    // The admin key passes everywhere, and each route answers as it does for the scopes it is for.
    for (const route of routes) {
      const response = await h.request(route.method, pathFor(route.path, 'admin'), bodyFor(route.body, 'admin'));
      assert.equal(response.status, route.ok, `admin ${route.method} ${route.path}: ${JSON.stringify(response.body)}`);
    }
    assert.equal(outcomes.filter((o) => o.endsWith('allowed')).length, routes.reduce((n, r) => n + r.scopes.length, 0));
  });

  it('keeps a metrics key (what Prometheus holds) to /metrics: no transcript, conversation, agent, queue or directory', async () => {
    assert.equal((await h.requestAs(keys.metrics, 'GET', '/metrics')).status, 200);
    for (const path of ['/v1/contacts/scope-probe-read/messages', '/v1/conversations/scope-probe-read', '/v1/agents', '/v1/queue', '/v1/operator/overview', '/v1/directory/customers?email=scope@example.com']) {
      assertError(await h.requestAs(keys.metrics, 'GET', path), 403, 'forbidden');
    }
  });

  it("lets Temporal UI's key in the codec path decode and never encode; a codec key in the path does not encode either", async () => {
    for (const scope of ['decode', 'codec'] as const) {
      assert.equal((await h.requestAs(null, 'POST', `/codec/ui/${keys[scope]}/decode`, { payloads: [] })).status, 200);
      assertError(await h.requestAs(null, 'POST', `/codec/ui/${keys[scope]}/encode`, { payloads: [] }), 403, 'forbidden');
    }
    assertError(await h.requestAs(keys.decode, 'POST', '/codec/encode', { payloads: [] }), 403, 'forbidden');
    assertError(await h.requestAs(null, 'POST', `/codec/ui/${keys.read}/decode`, { payloads: [] }), 403, 'forbidden');
    assertError(await h.requestAs(null, 'POST', `/codec/ui/vr_${'y'.repeat(43)}/decode`, { payloads: [] }), 401, 'unauthorized');
  });

  it('leaves health checks and the webhook to their own rules: no key needed for /healthz and /readyz', async () => {
    assert.equal((await h.requestAs(null, 'GET', '/healthz')).status, 200);
    assert.equal((await h.requestAs(null, 'GET', '/readyz')).status, 200);
  });

  it('stores keys hashed, never as they were shown', async () => {
    const { rows } = await h.db.query(`SELECT id, key_hash FROM api_keys`);
    const all = JSON.stringify(rows);
    for (const key of [h.adminKey, keys.integration, keys.read]) {
      assert.ok(!all.includes(key), 'no key is stored in clear');
      assert.ok(all.includes(createHash('sha256').update(key).digest('hex')), 'its sha256 is');
    }
  });

  it('stops accepting a revoked key', async () => {
    const { key, record } = await h.apiKeys.create('read', 'to revoke');
    assert.equal((await h.requestAs(key, 'GET', '/v1/agents')).status, 200);
    await h.db.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1`, [record.id]);
    // The harness's key cache lives 0 ms; in production a revocation takes up to 5 s to reach every API process.
    assertError(await h.requestAs(key, 'GET', '/v1/agents'), 401, 'unauthorized');
  });

  it('adopts the operator bootstrap key as an admin key, once, and a UI codec key as scope decode', async () => {
    const chosen = randomBytes(32).toString('hex');
    await bootstrapApiKeys(h.apiKeys, { bootstrapKey: chosen, createIfNone: true });
    await bootstrapApiKeys(h.apiKeys, { bootstrapKey: chosen, createIfNone: true });
    assert.equal((await h.requestAs(chosen, 'PATCH', '/v1/agents/auth-agent', { capacity: 5 })).status, 200);
    const { rows } = await h.db.query(`SELECT count(*)::int AS n FROM api_keys WHERE name = 'bootstrap' AND revoked_at IS NULL`);
    assert.equal(rows[0].n, 1);
    const uiKey = randomBytes(32).toString('base64url');
    await bootstrapApiKeys(h.apiKeys, { uiCodecKey: uiKey, createIfNone: false });
    assertError(await h.requestAs(uiKey, 'GET', '/v1/agents'), 403, 'forbidden');
    assert.equal((await h.requestAs(uiKey, 'POST', '/codec/decode', { payloads: [] })).status, 200);
    assertError(await h.requestAs(uiKey, 'POST', '/codec/encode', { payloads: [] }), 403, 'forbidden');
  });

  it('revokes the bootstrap and UI codec keys the environment held before when their values change', async () => {
    const [oldAdmin, newAdmin] = [randomBytes(32).toString('hex'), randomBytes(32).toString('hex')];
    const [oldUi, newUi] = [randomBytes(32).toString('base64url'), randomBytes(32).toString('base64')];
    await bootstrapApiKeys(h.apiKeys, { bootstrapKey: oldAdmin, uiCodecKey: oldUi, createIfNone: true });
    assert.equal((await h.requestAs(oldAdmin, 'GET', '/v1/agents')).status, 200);
    assert.equal((await h.requestAs(oldUi, 'POST', '/codec/decode', { payloads: [] })).status, 200);

    await bootstrapApiKeys(h.apiKeys, { bootstrapKey: newAdmin, uiCodecKey: newUi, createIfNone: true });
    assertError(await h.requestAs(oldAdmin, 'GET', '/v1/agents'), 401, 'unauthorized');
    assertError(await h.requestAs(null, 'POST', `/codec/ui/${oldUi}/decode`, { payloads: [] }), 401, 'unauthorized');
    assert.equal((await h.requestAs(newAdmin, 'GET', '/v1/agents')).status, 200);
    assert.equal((await h.requestAs(null, 'POST', `/codec/ui/${encodeURIComponent(newUi)}/decode`, { payloads: [] })).status, 200);
    // Going back to a revoked value is refused at start, not silently left dead.
    await assert.rejects(bootstrapApiKeys(h.apiKeys, { bootstrapKey: oldAdmin, createIfNone: true }), /was revoked/);
    await assert.rejects(bootstrapApiKeys(h.apiKeys, { bootstrapKey: newUi, createIfNone: true }), /already the key/);
  });

  it('refuses an operator-chosen key shorter than 32 random bytes written out (64 hex digits, 43 base64 characters)', async () => {
    for (const weak of ['short', randomBytes(24).toString('hex'), randomBytes(31).toString('hex'), randomBytes(31).toString('base64url'), `${'a'.repeat(40)}!!!!`]) {
      await assert.rejects(bootstrapApiKeys(h.apiKeys, { bootstrapKey: weak, createIfNone: true }), /32 random bytes/, weak);
      await assert.rejects(bootstrapApiKeys(h.apiKeys, { uiCodecKey: weak, createIfNone: false }), /32 random bytes/, weak);
    }
    for (const strong of [randomBytes(32).toString('hex'), randomBytes(32).toString('base64'), randomBytes(32).toString('base64url')]) {
      await bootstrapApiKeys(h.apiKeys, { bootstrapKey: strong, createIfNone: true });
    }
  });
});

/**
 * `count` requests at once, each with a different wrong key (a third of them not even shaped like one), sent by a
 * child process; resolves with each answer's status and Retry-After.
 */
function floodOfWrongKeys(url: string, count: number): Promise<Array<{ status: number; retryAfter: string | null }>> {
  // All in flight at once over 200 connections (as a client with a connection pool floods): 3,000 sockets opened at
  // once would overflow the listen backlog and measure the kernel, not the API.
  const script = `
    const http = require('node:http');
    const { randomBytes } = require('node:crypto');
    const [url, count] = process.argv.slice(1);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 200 });
    const get = (key) => new Promise((done, fail) => {
      http.get(url, { agent, headers: { authorization: 'Bearer ' + key } }, (response) => {
        response.resume();
        response.on('end', () => done({ status: response.statusCode, retryAfter: response.headers['retry-after'] ?? null }));
      }).on('error', fail);
    });
    Promise.all(Array.from({ length: Number(count) }, (_, i) => get(i % 3 === 0 ? 'bad-' + i : 'vr_' + randomBytes(32).toString('base64url'))))
      .then((answers) => { process.stdout.write(JSON.stringify(answers)); agent.destroy(); });`;
  return new Promise((done, fail) => {
    execFile(process.execPath, ['-e', script, url, String(count)], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout) => (error ? fail(error) : done(JSON.parse(stdout))));
  });
}

describe('a flood of wrong API keys', () => {
  let h: Harness;
  let respondio: RespondioStandIn;
  const SIGNING_KEY = 'whsec-flood-0123456789abcdef';
  before(async () => {
    respondio = await startRespondioStandIn({ token: 'flood-token' });
    // The production cache: a found key is trusted 5 s, an unknown one remembered 30 s.
    h = await Harness.start({ apiKeys: {}, keyCheck: {}, respondio: { baseUrl: respondio.baseUrl, token: 'flood-token', signingKeys: [SIGNING_KEY] } });
  });
  after(async () => {
    await h.close();
    await respondio.close();
  });

  const reads = async () => ((await registry.getSingleMetric('vip_router_api_key_reads_total')!.get()).values as Array<{ value: number }>).reduce((n, v) => n + v.value, 0);

  it('refuses values that cannot be keys, and a wrong key sent again, without reading the database', async () => {
    const start = await reads();
    for (const value of ['short', 'x'.repeat(600), `${'a'.repeat(50)}*`, randomBytes(24).toString('hex')]) {
      assert.equal((await h.requestAs(value, 'GET', '/v1/agents')).status, 401, value);
    }
    assert.equal(await reads(), start, 'malformed values cost no read');
    const wrong = generateApiKey();
    for (let i = 0; i < 5; i++) assert.equal((await h.requestAs(wrong, 'GET', '/v1/agents')).status, 401);
    assert.equal(await reads(), start + 1, 'the same wrong key is read once, then remembered');
  });

  it('keeps the database reads it costs bounded and signed webhooks answered in milliseconds, then answers 429 with Retry-After', async () => {
    const start = await reads();
    // The pool's queue, sampled every 5 ms while the flood lasts.
    let maxWaiting = 0;
    const sampler = setInterval(() => (maxWaiting = Math.max(maxWaiting, h.db.waitingCount)), 5);
    const FLOOD = 3_000;
    const latencies: number[] = [];
    let answers: Array<{ status: number; retryAfter: string | null }>;
    try {
      // From another process, as an attacker would: this one is the server, and its own 3,000 requests would be measured too.
      const flood = floodOfWrongKeys(`${h.baseUrl}/v1/agents`, FLOOD);
      let flooding = true;
      void flood.finally(() => (flooding = false)).catch(() => undefined);
      // Signed webhooks one after another for as long as the flood lasts.
      for (let i = 0; flooding || i < 30; i++) {
        const event = tagUpdated({ id: 7_990_000 + i });
        const began = performance.now();
        const answer = await deliverWebhook(`${h.baseUrl}/v1/webhooks/respondio`, event, SIGNING_KEY);
        latencies.push(performance.now() - began);
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
      }
      answers = await flood;
    } finally {
      clearInterval(sampler);
    }
    latencies.sort((a, b) => a - b);
    const readsMade = (await reads()) - start;
    console.log(
      `flood of ${FLOOD} wrong keys: ${readsMade} key reads reached the database; ${latencies.length} webhooks p50 ${latencies[Math.floor(latencies.length / 2)]!.toFixed(1)} ms, p90 ${latencies[Math.floor(latencies.length * 0.9)]!.toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms; pool waiting at most ${maxWaiting}`,
    );
    assert.ok(answers.every((a) => a.status === 401 || a.status === 429), JSON.stringify(answers.find((a) => ![401, 429].includes(a.status))));
    const limited = answers.filter((a) => a.status === 429);
    assert.ok(limited.length > FLOOD / 2, `${limited.length} answered 429`);
    assert.ok(limited.every((a) => Number(a.retryAfter) >= 1), 'each 429 says when to retry');
    // 20 failures per minute per address, reserved before each read: the flood cannot read more (plus the refill).
    assert.ok(readsMade <= 25, `${readsMade} key reads`);
    assert.equal(maxWaiting, 0, 'no query waited for a connection');
    // The webhook's one insert never waits for the pool; what delay is left is the CPU the flood's requests take (the
    // machine is shared by other suites: the bounds leave room for that).
    assert.ok(latencies[Math.floor(latencies.length / 2)]! < 100, `median webhook answer ${latencies[Math.floor(latencies.length / 2)]} ms`);
    assert.ok(latencies[Math.floor(latencies.length * 0.9)]! < 1_000, `90th percentile webhook answer ${latencies[Math.floor(latencies.length * 0.9)]} ms`);
  });
});

describe('rate limit per API key', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start({ rateLimit: { requests: 5, windowMs: 60_000 } });
  });
  after(() => h.close());

  it('answers 429 with Retry-After once a key has used its allowance, without touching other keys', async () => {
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 7; i++) {
      const response = await fetch(`${h.baseUrl}/v1/agents`, { headers: { authorization: `Bearer ${h.adminKey}` } });
      statuses.push(response.status);
      if (response.status === 429) limited ??= response;
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429]);
    const retryAfter = Number(limited!.headers.get('retry-after'));
    // One request per 12 s refills: the answer says how long to wait for it.
    assert.ok(retryAfter >= 1 && retryAfter <= 12, `Retry-After ${retryAfter}`);
    assert.equal(((await limited!.json()) as any).error.code, 'rate_limited');
    const other = (await h.apiKeys.create('read', 'another client')).key;
    assert.equal((await h.requestAs(other, 'GET', '/v1/agents')).status, 200);
  });
});
