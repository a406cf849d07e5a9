import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { findFreePort } from '../../src/local/ports';
import { createLogger } from '../../src/observability/logger';
import { routeTemporalLogs, temporalMetricsText } from '../../src/temporal/runtime';
import { type RespondioStandIn, startRespondioStandIn } from '../support/respondio-standin';
import { TimeSkippingWorld } from '../support/time-skipping';
import { stateQuery } from '../../src/workflows/definitions';

const TOKEN = 'respondio-test-token-given-up';

/**
 * An effect respond.io never takes is retried through an outage of hours, then given up, never silently: the run's
 * decision, a metric and the operator page say so. Time-skipping: the four hours of retries pass in seconds.
 */
describe('effects given up after their time bound', () => {
  let world: TimeSkippingWorld;
  let respondio: RespondioStandIn;
  before(async () => {
    routeTemporalLogs(createLogger(process.env['TEST_LOG_LEVEL'] ?? 'silent'), { metricsPort: await findFreePort() });
    respondio = await startRespondioStandIn({ token: TOKEN });
    world = await TimeSkippingWorld.start({ respondio: { baseUrl: respondio.baseUrl, token: TOKEN } });
  });
  after(async () => {
    await world.close();
    await respondio.close();
  });

  it('retries a question respond.io answers 503 to for hours, then gives it up as a decision, a count and on the operator page', async () => {
    const id = String(7_800_000 + Math.floor(Math.random() * 100_000));
    respondio.failNext({ method: 'POST', path: `/v2/contact/id:${id}/message` }, { status: 503, body: { message: 'Service Unavailable' } }, 1_000_000);
    const handle = await world.open({ id, email: null }, { askEmail: { replyTimeout: '2d' } }, 'respondio');
    await world.waitFor(handle, (s) => s.state === 'asking_email');

    await world.env.sleep('3h');
    const midway = await handle.query(stateQuery);
    assert.ok(!midway.path.includes('effect_given_up'), 'still retried after 3 hours');
    await world.env.sleep('2h');
    const status = await world.waitFor(handle, (s) => s.path.includes('effect_given_up'), 60_000);

    // Each send answered 503; a retry after a 5xx first looks the message up (GET …/message/list) and finds nothing.
    const calls = respondio.calls.filter((c) => c.identifier === `id:${id}`);
    const attempts = calls.filter((c) => c.method === 'POST');
    assert.ok(attempts.length > 100, `retried through the outage: ${attempts.length} attempts`);
    assert.ok(attempts.every((c) => c.status === 503));
    assert.ok(calls.filter((c) => c.method === 'GET').every((c) => c.path.endsWith('/message/list')));
    assert.equal(respondio.messagesOf(`id:${id}`).length, 0, 'nothing reached the contact');
    const decision = status.decisions.find((d) => d.step === 'effect_given_up')?.detail ?? '';
    assert.match(decision, /^question: given up, not taken within 4h \(last: .*503/);
    assert.ok(status.path.includes('message_not_delivered'));
    assert.equal(status.state, 'asking_email', 'the run goes on');

    assert.match(await temporalMetricsText(), /^vip_router_effects_given_up_total\{[^}]*effect="message"[^}]*\} 1$/m);
    const { status: code, body } = await world.callApi('GET', '/v1/operator/overview');
    assert.equal(code, 200);
    assert.deepEqual(
      body.givenUp.map((e: { contactId: string; effect: string; reason: string }) => [e.contactId, e.effect, e.reason]),
      [[id, 'message', decision]],
    );
    await world.recordHistory(id, 'respondio-question-given-up');
    await handle.terminate('test over');
  });
});
