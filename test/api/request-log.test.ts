import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/observability/logger';
import { routeTemporalLogs } from '../../src/temporal/runtime';
import { Harness } from '../support/harness';

type Line = Record<string, unknown> & { level: number; msg: string };

const EMAIL = 'lena.quiet@example.com';
const REPLY_EMAIL = 'paul.hidden@example.org';
const REPLY_TEXT = `sure, it is ${REPLY_EMAIL} thanks`;
const INFO = 30;

/**
 * The service's log lines, API and worker alike: every one about a conversation names its workflow, its contact and
 * the request that moved it, from the HTTP request to the activities the run scheduled; none at info or above holds
 * an email address or what a contact wrote.
 */
describe('request ids and contacts on log lines', () => {
  const lines: Line[] = [];
  const capture = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n')) if (text.trim()) lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  const log = createLogger('debug', capture);
  let h: Harness;
  let withEmail = '';
  let asked = '';
  const answers = new Map<string, Response>();

  const send = async (requestId: string, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${h.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${h.adminKey}`, 'content-type': 'application/json', 'x-request-id': requestId },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    answers.set(requestId, response);
    return response;
  };
  const about = (contactId: string) => lines.filter((l) => l['contactId'] === contactId);

  before(async () => {
    // First in this process: the SDK's lines (worker, runs, activities) come here too.
    routeTemporalLogs(log);
    h = await Harness.start({ log });
    await h.putAgent('rl-ana', { team: 'support', capacity: 10 });
    await h.putCustomer(EMAIL, { customerType: 'Regular' });

    withEmail = h.contactId('rl-known');
    assert.equal((await send('req-open-known', 'POST', '/v1/conversations', { contact: { id: withEmail, email: EMAIL, firstName: 'Lena' } })).status, 202);
    await h.waitForState(withEmail, 'assigned');
    assert.equal((await send('req-close-known', 'POST', `/v1/conversations/${withEmail}/close`, {})).status, 202);
    await h.waitForState(withEmail, 'closed');

    asked = h.contactId('rl-asked');
    await send('req-open-asked', 'POST', '/v1/conversations', { contact: { id: asked } });
    await h.waitForState(asked, 'asking_email');
    assert.equal((await send('req-reply-asked', 'POST', `/v1/contacts/${asked}/messages`, { messageId: 'rl-m1', text: REPLY_TEXT })).status, 202);
    await h.waitForState(asked, 'assigned');
    // Let the last activities' lines arrive.
    await new Promise((settled) => setTimeout(settled, 500));
  });
  after(() => h.close());

  it('answers the caller its request id, or a new one when the offered one is not a plain token', async () => {
    assert.equal(answers.get('req-open-known')!.headers.get('x-request-id'), 'req-open-known');
    const odd = await send('not a plain token <script>', 'GET', '/v1/agents');
    assert.match(odd.headers.get('x-request-id')!, /^[0-9a-f-]{36}$/);
    const none = await h.request('GET', '/v1/agents');
    assert.equal(none.status, 200);
  });

  it('logs each request once with its id, route pattern, status and contact', () => {
    const requests = lines.filter((l) => l.msg === 'request');
    const open = requests.find((l) => l['requestId'] === 'req-open-known');
    assert.ok(open, 'the open request was logged');
    assert.equal(open['route'], '/v1/conversations');
    assert.equal(open['status'], 202);
    assert.equal(open['contactId'], withEmail);
    assert.equal(open['workflowId'], `conversation-${withEmail}`);
    const reply = requests.find((l) => l['requestId'] === 'req-reply-asked');
    assert.equal(reply?.['route'], '/v1/contacts/:contactId/messages');
    assert.equal(reply?.['contactId'], asked);
    for (const line of requests) assert.equal(typeof line['requestId'], 'string', JSON.stringify(line));
  });

  it("carries the request into the run's lines and its activities' lines", () => {
    const known = about(withEmail);
    const activityLines = known.filter((l) => typeof l['activityType'] === 'string');
    assert.ok(activityLines.length > 0, `the run's activities logged about ${withEmail}`);
    assert.ok(
      activityLines.some((l) => l['requestId'] === 'req-open-known'),
      `an activity of the opened run names the open request: ${JSON.stringify(activityLines.map((l) => [l['activityType'], l['requestId']]))}`,
    );
    const closed = known.find((l) => l.msg === 'conversation closed');
    assert.ok(closed, 'the run logged its close');
    assert.equal(closed['requestId'], 'req-close-known', 'the close signal moved it last');
    assert.equal(closed['workflowId'], `conversation-${withEmail}`);

    const afterReply = about(asked).filter((l) => typeof l['activityType'] === 'string' && l['requestId'] === 'req-reply-asked');
    assert.ok(afterReply.length > 0, 'what the reply set off names the reply');
  });

  it('names workflow, contact and request on every line about a conversation', () => {
    const conversationLines = lines.filter((l) => String(l['workflowId'] ?? '').startsWith('conversation-') || l['contactId'] !== undefined);
    assert.ok(conversationLines.length > 10, `${conversationLines.length} lines`);
    for (const line of conversationLines) {
      assert.equal(line['workflowId'], `conversation-${String(line['contactId'])}`, JSON.stringify(line));
      // The SDK logs a run's and an activity's start (at debug) before any interceptor has seen the headers.
      if (line.msg === 'Workflow started' || line.msg === 'Activity started') continue;
      assert.equal(typeof line['requestId'], 'string', JSON.stringify(line));
    }
  });

  it('logs no email address and no message text at info or above', () => {
    const loud = lines.filter((l) => l.level >= INFO).map((l) => JSON.stringify(l));
    assert.ok(loud.length > 10);
    for (const text of loud) {
      for (const secret of [EMAIL, REPLY_EMAIL, 'sure, it is']) assert.ok(!text.includes(secret), `"${secret}" in ${text}`);
    }
  });
});
