import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { bootstrapApiKeys } from '../../src/security/api-keys';
import { Harness } from '../support/harness';

/** Every /v1 route needs an API key whose scope allows it; health checks and the signed webhook do not. */
describe('API keys', () => {
  let h: Harness;
  const keys: Record<'integration' | 'read' | 'codec', string> = { integration: '', read: '', codec: '' };
  before(async () => {
    h = await Harness.start();
    for (const scope of ['integration', 'read', 'codec'] as const) keys[scope] = (await h.apiKeys.create(scope, `test ${scope}`)).key;
    await h.putAgent('auth-agent', { team: 'support' });
  });
  after(() => h.close());

  const assertError = (response: { status: number; body: any }, status: number, code: string) => {
    assert.equal(response.status, status, JSON.stringify(response.body));
    assert.equal(response.body?.error?.code, code, JSON.stringify(response.body));
    assert.equal(typeof response.body.error.message, 'string');
  };

  /** Each route with a valid request body, so a pass means the key got through. */
  const routes: Array<{ method: string; path: string; body?: unknown; scopes: Array<'integration' | 'read'> }> = [
    { method: 'POST', path: '/v1/conversations', body: { contact: { id: 'scope-probe' } }, scopes: ['integration'] },
    { method: 'GET', path: '/v1/conversations/scope-probe', scopes: ['integration', 'read'] },
    { method: 'POST', path: '/v1/contacts/scope-probe/messages', body: { messageId: 'm-scope', text: 'hello' }, scopes: ['integration'] },
    { method: 'GET', path: '/v1/contacts/scope-probe/messages', scopes: ['integration', 'read'] },
    { method: 'POST', path: '/v1/conversations/scope-probe/transfer', body: { agentId: 'auth-agent' }, scopes: [] },
    { method: 'POST', path: '/v1/conversations/scope-probe/close', scopes: ['integration'] },
    { method: 'PUT', path: '/v1/agents/auth-agent', body: { name: 'Auth Agent', team: 'support' }, scopes: [] },
    { method: 'PATCH', path: '/v1/agents/auth-agent', body: { capacity: 4 }, scopes: [] },
    { method: 'GET', path: '/v1/agents', scopes: ['read'] },
    { method: 'GET', path: '/v1/queue', scopes: ['read'] },
    { method: 'GET', path: '/v1/operator/overview', scopes: ['read'] },
    { method: 'PUT', path: '/v1/directory/customers/scope@example.com', body: { customerType: 'VIP' }, scopes: [] },
    { method: 'GET', path: '/v1/directory/customers?email=scope@example.com', scopes: ['read'] },
  ];

  it('answers 401 with the JSON error shape and a WWW-Authenticate header to a request without a key, on every route', async () => {
    for (const route of routes) {
      const response = await fetch(`${h.baseUrl}${route.path}`, {
        method: route.method,
        headers: { 'content-type': 'application/json' },
        body: route.body === undefined ? undefined : JSON.stringify(route.body),
      });
      assert.equal(response.status, 401, `${route.method} ${route.path}`);
      assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer/);
      assert.equal(((await response.json()) as any).error.code, 'unauthorized');
    }
    assert.equal(await h.openAssignments(), 0);
    const { rows } = await h.db.query(`SELECT count(*)::int AS n FROM contacts`);
    assert.equal(rows[0].n, 0, 'nothing was written');
  });

  it('answers 401 to an unknown key and to a malformed Authorization header', async () => {
    assertError(await h.requestAs('vr_not-a-key-anyone-made-xxxxxxxxxxxxxxxx', 'GET', '/v1/agents'), 401, 'unauthorized');
    const basic = await fetch(`${h.baseUrl}/v1/agents`, { headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } });
    assert.equal(basic.status, 401);
  });

  it('lets each scope through exactly the routes it is for, and answers 403 elsewhere', async () => {
    const outcomes: string[] = [];
    for (const scope of ['integration', 'read', 'codec'] as const) {
      for (const route of routes) {
        const response = await h.requestAs(keys[scope], route.method, route.path, route.body);
        const allowed = (route.scopes as string[]).includes(scope);
        if (allowed) assert.notEqual(response.status, 403, `${scope} ${route.method} ${route.path}: ${JSON.stringify(response.body)}`);
        else assertError(response, 403, 'forbidden');
        outcomes.push(`${scope} ${route.method} ${route.path} ${response.status === 403 ? 'forbidden' : 'allowed'}`);
      }
    }
    // The admin key passes everywhere (the route itself may still refuse, e.g. a transfer with nothing assigned).
    for (const route of routes) {
      const response = await h.request(route.method, route.path, route.body);
      assert.ok(![401, 403].includes(response.status), `admin ${route.method} ${route.path}: ${response.status}`);
    }
    assert.ok(outcomes.filter((o) => o.endsWith('allowed')).length === routes.reduce((n, r) => n + r.scopes.length, 0));
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

  it('adopts the operator bootstrap key as an admin key, once, refuses a short one, and a UI codec key as scope codec', async () => {
    const chosen = 'operator-chosen-bootstrap-key-0123456789';
    await bootstrapApiKeys(h.apiKeys, { bootstrapKey: chosen, createIfNone: true });
    await bootstrapApiKeys(h.apiKeys, { bootstrapKey: chosen, createIfNone: true });
    assert.equal((await h.requestAs(chosen, 'PATCH', '/v1/agents/auth-agent', { capacity: 5 })).status, 200);
    const { rows } = await h.db.query(`SELECT count(*)::int AS n FROM api_keys WHERE name = 'bootstrap'`);
    assert.equal(rows[0].n, 1);
    await assert.rejects(bootstrapApiKeys(h.apiKeys, { bootstrapKey: 'short', createIfNone: true }), /at least 24/);
    const uiKey = 'ui-codec-key-chosen-by-the-operator-01';
    await bootstrapApiKeys(h.apiKeys, { uiCodecKey: uiKey, createIfNone: false });
    assertError(await h.requestAs(uiKey, 'GET', '/v1/agents'), 403, 'forbidden');
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
