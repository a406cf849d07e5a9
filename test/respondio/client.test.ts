import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createRespondioClient, effectOfFailure, isRetryable, RespondioError, type RespondioClient } from '../../src/respondio/client';
import { deliverWebhook, messageReceived, signRespondioBody } from '../support/respondio-payloads';
import { respondioUser, startRespondioStandIn, type RespondioStandIn } from '../support/respondio-standin';

const token = 'rio-test-token-9f2c';

/** The rejection of `promise`, which must be a RespondioError. */
async function failureOf(promise: Promise<unknown>): Promise<RespondioError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof RespondioError, `expected a RespondioError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the call to fail');
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

describe('respond.io client against the respond.io stand-in', () => {
  let standIn: RespondioStandIn;
  let client: RespondioClient;

  before(async () => {
    standIn = await startRespondioStandIn({ token });
    client = createRespondioClient({ baseUrl: standIn.baseUrl, token });
  });
  beforeEach(() => standIn.reset());
  after(() => standIn.close());

  const lastCall = () => standIn.calls.at(-1)!;

  it('sends a text message to the contact without a channelId, authenticated, and returns the messageId as a string', async () => {
    const first = await client.sendMessage('id:123', 'Hello Ana');
    const second = await client.sendMessage('id:123', 'Still there?');

    assert.match(first.messageId, /^\d+$/);
    assert.notEqual(second.messageId, first.messageId);
    const call = standIn.calls[0]!;
    assert.equal(call.status, 200);
    assert.equal(call.method, 'POST');
    assert.equal(call.path, '/v2/contact/id:123/message');
    assert.equal(call.identifier, 'id:123');
    assert.equal(call.headers.authorization, `Bearer ${token}`);
    assert.equal(call.headers.accept, 'application/json');
    assert.equal(call.headers['content-type'], 'application/json');
    assert.deepEqual(call.body, { message: { type: 'text', text: 'Hello Ana' } });
  });

  it('assigns by user id or email and un-assigns with null', async () => {
    await client.setAssignee('id:5', 42);
    await client.setAssignee('id:5', 'alex@example.com');
    await client.setAssignee('id:5', null);

    assert.deepEqual(
      standIn.calls.map(({ method, path, body, status }) => ({ method, path, body, status })),
      [42, 'alex@example.com', null].map((assignee) => ({
        method: 'POST',
        path: '/v2/contact/id:5/conversation/assignee',
        body: { assignee },
        status: 200,
      })),
    );
  });

  it("saves the contact's email with a PUT on the contact", async () => {
    await client.updateContactEmail('phone:+60123456789', 'ana@example.com');

    assert.equal(lastCall().status, 200);
    assert.equal(lastCall().method, 'PUT');
    assert.equal(lastCall().path, '/v2/contact/phone:+60123456789');
    assert.deepEqual(lastCall().body, { email: 'ana@example.com' });
  });

  it('adds an internal comment', async () => {
    await client.addComment('id:7', 'VIP: routed to the account manager');

    assert.equal(lastCall().status, 200);
    assert.equal(lastCall().path, '/v2/contact/id:7/comment');
    assert.deepEqual(lastCall().body, { text: 'VIP: routed to the account manager' });
  });

  it('closes the conversation, with category and summary only when given', async () => {
    await client.closeConversation('id:8');
    await client.closeConversation('id:8', { category: 'Resolved', summary: 'answered by Alex' });

    assert.deepEqual(
      standIn.calls.map(({ path, body, status }) => ({ path, body, status })),
      [
        { path: '/v2/contact/id:8/conversation/status', body: { status: 'close' }, status: 200 },
        {
          path: '/v2/contact/id:8/conversation/status',
          body: { status: 'close', category: 'Resolved', summary: 'answered by Alex' },
          status: 200,
        },
      ],
    );
  });

  it('puts identifiers with + and @ in the path as written, and encodes characters that would break the path', async () => {
    await client.sendMessage('phone:+60123456789', 'hi');
    await client.sendMessage('email:ana+vip@example.com', 'hi');
    await client.sendMessage('email:a/b?c#d@example.com', 'hi');

    assert.deepEqual(
      standIn.calls.map(({ rawPath, identifier, status }) => ({ rawPath, identifier, status })),
      [
        { rawPath: '/v2/contact/phone:+60123456789/message', identifier: 'phone:+60123456789', status: 200 },
        { rawPath: '/v2/contact/email:ana+vip@example.com/message', identifier: 'email:ana+vip@example.com', status: 200 },
        { rawPath: '/v2/contact/email:a%2Fb%3Fc%23d@example.com/message', identifier: 'email:a/b?c#d@example.com', status: 200 },
      ],
    );
  });

  it('accepts a baseUrl with trailing slashes', async () => {
    await createRespondioClient({ baseUrl: `${standIn.baseUrl}//`, token }).addComment('id:1', 'note');

    assert.equal(lastCall().path, '/v2/contact/id:1/comment');
    assert.equal(lastCall().status, 200);
  });

  it('lists 250 users in 3 pages of 100 by cursorId, in id order, keeping unknown fields, never calling the next URL itself', async () => {
    const users = Array.from({ length: 250 }, (_, i) => respondioUser(i + 1, { role: i % 50 === 0 ? 'manager' : 'agent' }));
    users[10] = { ...users[10]!, team: { id: 3, name: 'vip' }, restrictions: ['no_export'] };
    standIn.users = [...users].reverse();

    const listed = await collect(client.listUsers({ limit: 100 }));

    assert.deepEqual(
      listed.map((user) => user.id),
      users.map((user) => user.id),
    );
    assert.deepEqual(listed[10], users[10]);
    assert.deepEqual(
      standIn.calls.map(({ method, path, query, headers, status }) => ({ method, path, query, type: headers['content-type'], status })),
      [{ limit: '100' }, { limit: '100', cursorId: '100' }, { limit: '100', cursorId: '200' }].map((query) => ({
        method: 'GET',
        path: '/v2/space/user',
        query,
        type: undefined,
        status: 200,
      })),
    );
  });

  it('sees users added, renamed and removed between two listings', async () => {
    standIn.users = [respondioUser(1), respondioUser(2)];
    assert.deepEqual(
      (await collect(client.listUsers())).map((user) => user.id),
      [1, 2],
    );

    standIn.users = [respondioUser(2, { firstName: 'Renamed' }), respondioUser(3)];
    const second = await collect(client.listUsers());

    assert.deepEqual(
      second.map(({ id, firstName }) => ({ id, firstName })),
      [
        { id: 2, firstName: 'Renamed' },
        { id: 3, firstName: 'Agent' },
      ],
    );
  });

  it('lists no users in one call when the workspace has none', async () => {
    standIn.users = [];

    assert.deepEqual(await collect(client.listUsers()), []);
    assert.equal(standIn.calls.length, 1);
  });

  it('refuses a page size respond.io would refuse, without calling it', async () => {
    await assert.rejects(collect(client.listUsers({ limit: 101 })), RangeError);
    assert.equal(standIn.calls.length, 0);
  });

  it('reports 429 as rate_limited with Retry-After seconds as retryAfterMs, retryable', async () => {
    standIn.failNext(
      { method: 'POST', path: /\/message$/ },
      { status: 429, headers: { 'retry-after': '2' }, body: { message: 'Too many requests' } },
    );

    const error = await failureOf(client.sendMessage('email:ana@example.com', 'hi'));

    assert.equal(error.kind, 'rate_limited');
    assert.equal(error.status, 429);
    assert.equal(error.retryAfterMs, 2000);
    assert.equal(error.endpoint, 'POST /contact/{identifier}/message');
    assert.equal(error.responseMessage, 'Too many requests');
    assert.ok(!error.message.includes('ana@example.com'), error.message);
    assert.equal(isRetryable(error), true);
    assert.equal(lastCall().status, 429);
  });

  it('reads a Retry-After given as an HTTP date', async () => {
    standIn.failNext({ path: '/v2/space/user' }, { status: 429, headers: { 'retry-after': new Date(Date.now() + 3000).toUTCString() } });

    const error = await failureOf(collect(client.listUsers()));

    assert.equal(error.kind, 'rate_limited');
    assert.ok(error.retryAfterMs !== undefined && error.retryAfterMs > 1000 && error.retryAfterMs <= 3000, String(error.retryAfterMs));
  });

  it('reports 5xx as server, retryable, and the next call goes through', async () => {
    standIn.failNext({ method: 'POST' }, { status: 500, body: { message: 'Internal error' } });

    const error = await failureOf(client.setAssignee('id:1', 42));
    await client.setAssignee('id:1', 42);

    assert.equal(error.kind, 'server');
    assert.equal(error.status, 500);
    assert.equal(error.endpoint, 'POST /contact/{identifier}/conversation/assignee');
    assert.equal(isRetryable(error), true);
    assert.deepEqual(
      standIn.calls.map((call) => call.status),
      [500, 200],
    );
  });

  it('reports no answer within timeoutMs as timeout, retryable', async () => {
    standIn.failNext({}, 'timeout');
    const impatient = createRespondioClient({ baseUrl: standIn.baseUrl, token, timeoutMs: 200 });

    const started = Date.now();
    const error = await failureOf(impatient.addComment('id:1', 'note'));

    assert.equal(error.kind, 'timeout');
    assert.equal(error.status, undefined);
    assert.equal(isRetryable(error), true);
    assert.ok(Date.now() - started < 5000);
    assert.equal(lastCall().status, 'timeout');
  });

  it('reports a refused connection as network, retryable', async () => {
    const unreachable = createRespondioClient({ baseUrl: `http://127.0.0.1:${await closedPort()}/v2`, token });

    const error = await failureOf(unreachable.sendMessage('id:1', 'hi'));

    assert.equal(error.kind, 'network');
    assert.match(error.message, /ECONNREFUSED/);
    assert.equal(isRetryable(error), true);
    assert.equal(effectOfFailure(error), 'none', 'the request never left');
  });

  it('tells what a failure may have done at respond.io: nothing (4xx, 429), over but maybe taken (5xx), unknown (no answer, dropped)', async () => {
    const impatient = createRespondioClient({ baseUrl: standIn.baseUrl, token, timeoutMs: 200 });
    standIn.failNext({}, { status: 429, body: { message: 'slow down' } });
    assert.equal(effectOfFailure(await failureOf(client.sendMessage('id:1', 'hi'))), 'none');
    standIn.failNext({}, { status: 503, body: { message: 'busy' } });
    assert.equal(effectOfFailure(await failureOf(client.sendMessage('id:1', 'hi'))), 'over');
    standIn.failNext({}, 'timeout');
    assert.equal(effectOfFailure(await failureOf(impatient.sendMessage('id:1', 'hi'))), 'unknown');
    standIn.failNext({}, 'apply-then-drop');
    const dropped = await failureOf(client.sendMessage('id:1', 'dropped after it was kept'));
    assert.equal(dropped.kind, 'network');
    assert.equal(effectOfFailure(dropped), 'unknown');
    assert.equal(standIn.messagesOf('id:1').at(-1)?.message.text, 'dropped after it was kept');
  });

  it("lists a contact's messages newest first, page by page by cursorId, with traffic, text and status times", async () => {
    const contact = 'id:4242';
    const sent = [];
    for (let n = 1; n <= 5; n++) sent.push((await client.sendMessage(contact, `message ${n}`)).messageId);
    standIn.addMessage(contact, 'incoming', 'a reply');

    const listed = await collect(client.listMessages(contact, { limit: 2 }));

    assert.deepEqual(
      listed.map((m) => [m.traffic, m.message.text]),
      [['incoming', 'a reply'], ...[5, 4, 3, 2, 1].map((n) => ['outgoing', `message ${n}`])],
    );
    assert.deepEqual(listed.slice(1).map((m) => String(m.messageId)), [...sent].reverse());
    assert.ok(listed.every((m) => typeof m.status?.[0]?.timestamp === 'number'));
    const pages = standIn.calls.filter((c) => c.path.endsWith('/message/list'));
    assert.equal(pages.length, 3);
    assert.deepEqual(pages.map((c) => c.query['limit']), ['2', '2', '2']);
    assert.equal(pages[0]!.query['cursorId'], undefined);
  });

  it('reports a wrong token as rejected (401), not retryable', async () => {
    const wrong = createRespondioClient({ baseUrl: standIn.baseUrl, token: 'not-the-token' });

    const error = await failureOf(wrong.sendMessage('id:1', 'hi'));

    assert.equal(error.kind, 'rejected');
    assert.equal(error.status, 401);
    assert.equal(isRetryable(error), false);
  });

  it("reports an unknown contact as rejected (404) with respond.io's message", async () => {
    const error = await failureOf(client.sendMessage('name:ana', 'hi'));

    assert.equal(error.kind, 'rejected');
    assert.equal(error.status, 404);
    assert.equal(error.responseMessage, 'Contact not found');
  });

  it('reports a 2xx answer without a messageId as rejected: the message may have gone out, so it is not retried', async () => {
    standIn.failNext({}, { status: 200, body: { contactId: 1 } });

    const error = await failureOf(client.sendMessage('id:1', 'hi'));

    assert.equal(error.kind, 'rejected');
    assert.equal(error.status, 200);
    assert.equal(isRetryable(error), false);
  });

  it('never puts the token in an error message, even when respond.io echoes it', async () => {
    standIn.failNext({}, { status: 400, body: { message: `invalid token ${token}` } });
    standIn.failNext({}, { status: 429, headers: { 'retry-after': '1' } });
    standIn.failNext({}, { status: 503 });
    const errors = [
      await failureOf(client.sendMessage('id:1', 'hi')),
      await failureOf(client.sendMessage('id:1', 'hi')),
      await failureOf(client.sendMessage('id:1', 'hi')),
      await failureOf(createRespondioClient({ baseUrl: `http://127.0.0.1:${await closedPort()}/v2`, token }).sendMessage('id:1', 'hi')),
    ];
    standIn.failNext({}, 'timeout');
    errors.push(await failureOf(createRespondioClient({ baseUrl: standIn.baseUrl, token, timeoutMs: 100 }).sendMessage('id:1', 'hi')));

    assert.deepEqual(
      errors.map((error) => error.kind),
      ['rejected', 'rate_limited', 'server', 'network', 'timeout'],
    );
    assert.match(errors[0]!.message, /invalid token \[token\]/);
    for (const error of errors) {
      assert.ok(!`${error.message} ${error.responseMessage} ${error.stack}`.includes(token), error.message);
    }
  });

  it("rethrows the caller's abort reason when the caller cancels", async () => {
    standIn.failNext({}, 'timeout');
    const cancel = new AbortController();
    const reason = new Error('activity cancelled');

    const call = client.addComment('id:1', 'note', { signal: cancel.signal });
    setTimeout(() => cancel.abort(reason), 50);

    await assert.rejects(call, (error) => error === reason);
  });
});

describe('respond.io stand-in strictness: it refuses what respond.io refuses', () => {
  let standIn: RespondioStandIn;
  before(async () => {
    standIn = await startRespondioStandIn({ token, users: [respondioUser(1)] });
  });
  beforeEach(() => standIn.reset());
  after(() => standIn.close());

  const send = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${standIn.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    }).then(async (response) => ({ status: response.status, body: (await response.json()) as { message?: string } }));

  it('answers 400 with a message to bodies of the wrong shape', async () => {
    const bad: Array<[string, string, unknown, RegExp]> = [
      ['POST', '/contact/id:1/message', { channelId: 5, message: { type: 'text', text: 'hi' } }, /channelId/],
      ['POST', '/contact/id:1/message', { message: { type: 'image', text: 'hi' } }, /message\.type/],
      ['POST', '/contact/id:1/message', { message: { type: 'text' } }, /message\.text/],
      ['POST', '/contact/id:1/message', 'not json', /JSON/],
      ['POST', '/contact/id:1/conversation/assignee', { assignee: true }, /assignee/],
      ['POST', '/contact/id:1/conversation/assignee', {}, /assignee/],
      ['PUT', '/contact/id:1', { email: 42 }, /email/],
      ['PUT', '/contact/id:1', { email: 'a@x.com', vip: true }, /vip/],
      ['POST', '/contact/id:1/comment', { text: 'hi', internal: true }, /internal/],
      ['POST', '/contact/id:1/conversation/status', { status: 'open' }, /status/],
    ];
    for (const [method, path, body, mentions] of bad) {
      const answer = await send(method, path, body);
      assert.equal(answer.status, 400, `${method} ${path} ${JSON.stringify(body)}`);
      assert.match(answer.body.message ?? '', mentions);
    }
  });

  it('answers 401 to a missing or wrong bearer token, 404 to an unknown identifier or route, 400 to a bad page size', async () => {
    const message = { message: { type: 'text', text: 'hi' } };
    assert.equal((await send('POST', '/contact/id:1/message', message, { authorization: '' })).status, 401);
    assert.equal((await send('POST', '/contact/id:1/message', message, { authorization: token })).status, 401);
    assert.deepEqual(await send('POST', '/contact/name:ana/message', message), { status: 404, body: { message: 'Contact not found' } });
    assert.equal((await send('POST', '/contact/id:1/messages', message)).status, 404);
    assert.equal((await send('GET', '/contact/id:1/message')).status, 404);
    assert.equal((await send('GET', '/space/user?limit=0')).status, 400);
    assert.equal((await send('GET', '/space/user?limit=101')).status, 400);
    assert.deepEqual(
      standIn.calls.map((call) => call.status),
      [401, 401, 404, 404, 404, 400, 400],
    );
  });
});

describe('respond.io webhook test support', () => {
  it('signs like the reference: base64 HMAC-SHA256 (RFC 4231 test case 2)', () => {
    assert.equal(signRespondioBody('what do ya want for nothing?', 'Jefe'), 'W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=');
  });

  it('delivers the exact raw JSON with its signature in X-Webhook-Signature', async () => {
    let received: { body: string; signature?: string } = { body: '' };
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        received = { body, signature: req.headers['x-webhook-signature'] as string | undefined };
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/respondio`;
    try {
      const payload = messageReceived({ id: 77, email: 'ana@example.com' }, { messageId: 5, text: 'olá 👋' });

      assert.deepEqual(await deliverWebhook(url, payload, 'signing-key'), { status: 200, body: { ok: true } });
      assert.equal(received.body, JSON.stringify(payload));
      assert.equal(received.signature, signRespondioBody(received.body, 'signing-key'));

      await deliverWebhook(url, payload, null);
      assert.equal(received.signature, undefined);
    } finally {
      await new Promise<void>((done) => server.close(() => done()));
    }
  });
});
