import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { workflowIdForContact } from '../../src/workflows/definitions';
import { Harness } from '../support/harness';
import { conversationOpened, deliverWebhook } from '../support/respondio-payloads';
import { type RespondioStandIn, startRespondioStandIn } from '../support/respondio-standin';
import { harnessWorkerEnv, spawnWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../support/worker-process';

const TOKEN = 'respondio-test-token-crash';
const KEY = 'whsec-crash-0123456789';

describe('a worker killed after respond.io accepted a message and before the activity reported', () => {
  let h: Harness;
  let respondio: RespondioStandIn;
  const processes = new Set<WorkerProcess>();

  const spawn = async (crashAfterActivity?: string) => {
    const child = await spawnWorkerProcess({ ...harnessWorkerEnv(h), respondio: { baseUrl: respondio.baseUrl, token: TOKEN }, crashAfterActivity });
    processes.add(child);
    child.once('exit', () => processes.delete(child));
    return child;
  };

  before(async () => {
    respondio = await startRespondioStandIn({ token: TOKEN });
    h = await Harness.start({ respondio: { baseUrl: respondio.baseUrl, token: TOKEN, signingKeys: [KEY] } });
    await h.stopWorker(); // only the worker processes below serve the task queue
  });
  after(async () => {
    for (const child of processes) await stopWorkerProcess(child, 'SIGKILL');
    await h.close();
    await respondio.close();
  });

  it('does not send it a second time: the retry finds the record of the send', async () => {
    const id = 7_300_000 + Math.floor(Math.random() * 1_000_000);
    const crashing = await spawn('sendMessage');
    const crashed = once(crashing, 'exit');
    assert.equal((await deliverWebhook(`${h.baseUrl}/v1/webhooks/respondio`, conversationOpened({ id, email: null }), KEY)).status, 200);
    const [, signal] = await Promise.race([
      crashed,
      new Promise<never>((_, fail) => setTimeout(() => fail(new Error('the worker did not crash after sending')), 30_000)),
    ]);
    assert.equal(signal, 'SIGKILL');
    const sent = () => respondio.calls.filter((c) => c.identifier === `id:${id}` && c.path.endsWith('/message'));
    assert.equal(sent().length, 1, 'respond.io accepted the question before the crash');

    await spawn();
    const handle = h.client.workflow.getHandle(workflowIdForContact(String(id)));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const events = (await handle.fetchHistory()).events ?? [];
      const send = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'sendMessage');
      const ofSend = (e: (typeof events)[number], attributes: 'activityTaskStartedEventAttributes' | 'activityTaskCompletedEventAttributes') =>
        send !== undefined && String(e[attributes]?.scheduledEventId) === String(send.eventId);
      // The question's send: started again (attempt 2) on the new worker, and completed.
      const retried = events.some((e) => ofSend(e, 'activityTaskStartedEventAttributes') && (e.activityTaskStartedEventAttributes?.attempt ?? 0) >= 2);
      if (retried && events.some((e) => ofSend(e, 'activityTaskCompletedEventAttributes'))) break;
      assert.ok(Date.now() < deadline, 'the retried send completed');
      await new Promise((tick) => setTimeout(tick, 200));
    }
    assert.equal(sent().length, 1, 'still one message at respond.io after the retry');
    const question = (await h.transcript(String(id))).filter((m) => m.kind === 'question') as any[];
    assert.equal(question.length, 1);
    assert.equal(question[0].delivery, 'delivered');
  });

  it('killed after respond.io kept the message and before our record of it: the retry finds it at respond.io and does not send it again', async () => {
    for (const child of processes) await stopWorkerProcess(child, 'SIGKILL');
    const id = 8_300_000 + Math.floor(Math.random() * 1_000_000);
    const doomed = await spawn();
    // respond.io keeps the message; the worker dies before the answer reaches it, so it never writes the messageId.
    respondio.failNext({ method: 'POST', path: `/v2/contact/id:${id}/message` }, { applyThen: () => stopWorkerProcess(doomed, 'SIGKILL') });
    const died = once(doomed, 'exit');
    assert.equal((await deliverWebhook(`${h.baseUrl}/v1/webhooks/respondio`, conversationOpened({ id, email: null }), KEY)).status, 200);
    await Promise.race([died, new Promise<never>((_, fail) => setTimeout(() => fail(new Error('the worker was not killed mid-send')), 30_000))]);
    const kept = respondio.messagesOf(`id:${id}`);
    assert.equal(kept.length, 1, 'respond.io kept the question');
    const question = async () => ((await h.transcript(String(id))) as any[]).find((m) => m.kind === 'question');
    assert.equal((await question()).platformMessageId, null, 'our record of it was lost with the worker');

    await spawn();
    const deadline = Date.now() + 60_000;
    while ((await question()).delivery !== 'delivered') {
      assert.ok(Date.now() < deadline, 'the retried send completed');
      await new Promise((tick) => setTimeout(tick, 200));
    }
    assert.equal(respondio.messagesOf(`id:${id}`).length, 1, 'still one message at respond.io');
    assert.equal(respondio.calls.filter((c) => c.identifier === `id:${id}` && c.method === 'POST' && c.path.endsWith('/message')).length, 1);
    assert.equal((await question()).platformMessageId, String(kept[0]!.messageId), 'the retry recorded the message respond.io had');
  });
});
