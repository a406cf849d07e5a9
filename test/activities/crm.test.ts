import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createCrmActivities } from '../../src/activities/crm';
import { parseRoutingConfig } from '../../src/routing-config';
import { decodeHistoryPayloads } from '../../src/security/history';
import { workflowIdForContact } from '../../src/workflows/messages';
import { Harness } from '../support/harness';
import { payloadTexts } from '../support/history';

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

  it('refuses to call with a header naming an unset env variable, without leaking other values', async () => {
    const outcome = await lookup({ headers: { authorization: 'Bearer ${env:MISSING_TOKEN}' } });
    assert.deepEqual(outcome, {
      outcome: 'error',
      retryable: false,
      reason: 'environment variable MISSING_TOKEN named by the CRM config is not set',
    });
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
    h = await Harness.start({ routing: { crm: { url, headers: { authorization: `Bearer \${env:${VARIABLE}}` } } } });
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
