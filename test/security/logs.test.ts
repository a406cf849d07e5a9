import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { syncAgentsNow } from '../../src/temporal/agent-sync-schedule';
import { createLogger } from '../../src/observability/logger';
import { routeTemporalLogs } from '../../src/temporal/runtime';
import { Harness } from '../support/harness';
import { conversationOpened, deliverWebhook, messageReceived } from '../support/respondio-payloads';
import { respondioUser, type RespondioStandIn, startRespondioStandIn } from '../support/respondio-standin';

const TOKEN = 'respondio-token-that-must-never-be-logged-7c1e';
const SIGNING_KEY = 'whsec-signing-key-that-must-never-be-logged-42';

/** No API key, respond.io token, signing key or codec key ever appears in a log line, at any level. */
describe('secrets in logs', () => {
  const lines: string[] = [];
  const capture = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const log = createLogger('trace', capture);
  let h: Harness;
  let respondio: RespondioStandIn;

  before(async () => {
    // First in this process: the SDK's own logs (worker, workflows, activities, core) come here too.
    routeTemporalLogs(log);
    respondio = await startRespondioStandIn({ token: TOKEN, users: [respondioUser(6001)] });
    h = await Harness.start({ log, respondio: { baseUrl: respondio.baseUrl, token: TOKEN, signingKeys: [SIGNING_KEY] } });
  });
  after(async () => {
    await h.close();
    await respondio.close();
  });

  it('logs none of them through a flow that uses them all, failures included', async () => {
    const url = `${h.baseUrl}/v1/webhooks/respondio`;
    const id = 7_400_000 + Math.floor(Math.random() * 1_000_000);
    // A bad signature and bad keys are logged as refusals, without what was presented.
    await deliverWebhook(url, conversationOpened({ id }), 'wrong-key');
    await h.requestAs(`${h.adminKey}x`, 'GET', '/v1/agents');
    await h.requestAs('vr_guess', 'GET', '/v1/agents');
    // respond.io refusing, and rate limiting, with the token in its answer.
    respondio.failNext({ method: 'POST' }, { status: 401, body: { message: `invalid token ${TOKEN}` } });
    respondio.failNext({ method: 'POST' }, { status: 429, headers: { 'retry-after': '1' }, body: { message: 'slow down' } });
    assert.equal((await deliverWebhook(url, conversationOpened({ id, email: null }), SIGNING_KEY)).status, 200);
    await h.waitForState(String(id), 'asking_email');
    await deliverWebhook(url, messageReceived({ id }, { messageId: 1, text: 'no idea' }), SIGNING_KEY);
    await h.waitFor(String(id), (s) => s.invalidReplies === 1);
    await syncAgentsNow(h.client, h.taskQueue);
    await h.request('POST', `/v1/conversations/${id}/close`);
    await h.waitForState(String(id), 'closed');

    const text = lines.join('');
    assert.ok(lines.length > 20, `the flow logged (${lines.length} lines)`);
    const secrets = {
      'respond.io token': TOKEN,
      'webhook signing key': SIGNING_KEY,
      'admin API key': h.adminKey,
      "worker's API key": h.workerKey,
      'codec key': h.codecKeys.split(':')[1]!,
    };
    for (const [name, secret] of Object.entries(secrets)) {
      assert.ok(!text.includes(secret), `the ${name} appears in the logs`);
      assert.ok(!text.includes(secret.slice(0, 16)), `a part of the ${name} appears in the logs`);
    }
  });
});
