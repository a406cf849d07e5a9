import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createCrmActivities } from '../../src/activities/crm';
import { parseRoutingConfig } from '../../src/routing-config';

/** The HTTP request step against a real server on loopback: templates, secrets, mapping, outcomes. */
describe('CRM request step', () => {
  let seen: { method?: string; url?: string; headers?: IncomingHttpHeaders; body?: string } = {};
  let reply: { status: number; body: string } = { status: 200, body: '{}' };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      seen = { method: req.method, url: req.url, headers: req.headers, body };
      res.writeHead(reply.status, { 'content-type': 'application/json' }).end(reply.body);
    });
  });
  let base = '';
  before(async () => {
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((done) => server.close(() => done())));

  const lookup = (crm: object, env: NodeJS.ProcessEnv = {}) =>
    new MockActivityEnvironment().run(createCrmActivities({ fetch, env }).fetchCustomerData, {
      email: 'ana+vip@example.com',
      contact: { id: 'c-1', phone: '+34 600' },
      crm: parseRoutingConfig({ crm: { url: `${base}/x`, ...crm } }).crm,
    });

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
    assert.equal(seen.url, '/customers?email=ana%2Bvip%40example.com&id=c-1');
    assert.equal(seen.headers?.authorization, 'Bearer s3cret');
  });

  it('sends a POST body template as JSON', async () => {
    reply = { status: 200, body: '{"customerType":"Regular"}' };
    await lookup({ method: 'POST', body: '{"email":"{{email}}","phone":"{{contact.phone}}"}' });
    assert.equal(seen.method, 'POST');
    assert.deepEqual(JSON.parse(seen.body!), { email: 'ana+vip@example.com', phone: '+34 600' });
    assert.equal(seen.headers?.['content-type'], 'application/json');
  });

  it('types its outcomes: 404 not found, 5xx retryable, other 4xx final, bad JSON final', async () => {
    reply = { status: 404, body: '' };
    assert.deepEqual(await lookup({}), { outcome: 'not_found', status: 404 });
    reply = { status: 502, body: '' };
    assert.deepEqual(await lookup({}), { outcome: 'error', retryable: true, status: 502, reason: 'CRM answered 502' });
    reply = { status: 403, body: '' };
    assert.deepEqual(await lookup({}), { outcome: 'error', retryable: false, status: 403, reason: 'CRM answered 403' });
    reply = { status: 200, body: '<html>' };
    assert.deepEqual(await lookup({}), { outcome: 'error', retryable: false, status: 200, reason: 'CRM answer is not JSON' });
  });

  it('refuses to call with a header naming an unset env variable, without leaking other values', async () => {
    const outcome = await lookup({ headers: { authorization: 'Bearer ${env:MISSING_TOKEN}' } });
    assert.deepEqual(outcome, {
      outcome: 'error',
      retryable: false,
      reason: 'environment variable MISSING_TOKEN named by the CRM config is not set',
    });
  });
});
