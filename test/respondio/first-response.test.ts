import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitUntil } from '../../src/local/processes';
import { workflowIdForContact } from '../../src/workflows/definitions';
import { Harness } from '../support/harness';
import { conversationOpened, deliverWebhook, messageReceived, messageSent } from '../support/respondio-payloads';
import { type RespondioStandIn, startRespondioStandIn } from '../support/respondio-standin';

const TOKEN = 'respondio-test-token-first-response';
const KEY = 'whsec-first-response-0123456789abcdef';
const SAM_USER_ID = 4_401;

/**
 * respond.io's outgoing messages and the first-response timer: only a person's message (`sender.source: user`, their
 * user id mapped to our agent as assignee changes are) stops it; automation's (the router's own question and notes
 * come back as `api`; respond.io's workflows and bots) never does.
 */
describe('respond.io outgoing messages and the first-response timer', () => {
  let h: Harness;
  let respondio: RespondioStandIn;
  let url: string;
  let nextContact = 7_300_000 + Math.floor(Math.random() * 100_000) * 10;

  before(async () => {
    respondio = await startRespondioStandIn({ token: TOKEN });
    h = await Harness.start({
      respondio: { baseUrl: respondio.baseUrl, token: TOKEN, signingKeys: [KEY] },
      routing: { regular: { chain: [{ kind: 'team', team: 'fr-support' }], firstResponse: '10m' } },
    });
    url = `${h.baseUrl}/v1/webhooks/respondio`;
    const sam = await h.request('PUT', '/v1/agents/fr-sam', { name: 'Sam', team: 'fr-support', respondioUserId: String(SAM_USER_ID) });
    assert.equal(sam.status, 200);
  });
  after(async () => {
    await h.close();
    await respondio.close();
  });

  const outcome = (eventId: string) =>
    waitUntil(`event ${eventId} applied`, async () => {
      const { rows } = await h.db.query(`SELECT status, outcome FROM webhook_events WHERE event_id = $1`, [eventId]);
      return rows[0] && rows[0].status !== 'pending' ? (rows[0].outcome as string) : undefined;
    }, { timeoutMs: 20_000 });

  async function deliver(payload: { event_id: string }): Promise<string> {
    assert.equal((await deliverWebhook(url, payload, KEY)).status, 200);
    return outcome(payload.event_id);
  }

  it('counts the assignee’s own message, not automation’s, and signals the run only while the timer runs', async () => {
    const id = nextContact++;
    const contactId = String(id);
    await deliver(conversationOpened({ id, email: `fr-${id}@example.com` }));
    await h.waitFor(contactId, (s) => s.assignee?.agentId === 'fr-sam');

    let messageId = 990_000 + (id % 1000) * 10;
    for (const source of ['api', 'workflow', 'bot']) {
      const applied = await deliver(messageSent({ id }, { messageId: messageId++, text: `from ${source}`, sender: { source } }));
      assert.equal(applied, `ignored: outgoing message from ${source}, not a person`);
    }
    assert.deepEqual((await h.conversation(contactId)).decisions.filter((d) => d.step.startsWith('first_response')), []);

    // respond.io may report it as message.received with traffic outgoing: the same.
    const sams = messageReceived({ id }, { messageId: messageId++, text: 'Hi, Sam here' });
    Object.assign(sams.message, { traffic: 'outgoing', sender: { source: 'user', userId: SAM_USER_ID, teamId: null } });
    assert.equal(await deliver(sams), "fr-sam's message delivered to the run");
    const answered = await h.waitFor(contactId, (s) => s.decisions.some((d) => d.step === 'first_response'));
    assert.match(answered.decisions.find((d) => d.step === 'first_response')!.detail, /^fr-sam wrote to the contact after \d+(\.\d+)? s$/);

    const again = messageSent({ id }, { messageId: messageId++, text: 'Anything else?', sender: { source: 'user', userId: SAM_USER_ID } });
    assert.equal(await deliver(again), "fr-sam's message kept in the transcript (no first response awaited)");
    const history = await h.client.workflow.getHandle(workflowIdForContact(contactId)).fetchHistory();
    const signals = (name: string) => (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === name).length;
    assert.deepEqual({ agentMessageSent: signals('agentMessageSent'), messageReceived: signals('messageReceived') }, { agentMessageSent: 1, messageReceived: 0 });
    const agentMessages = (await h.transcript(contactId)).filter((m) => m.kind === 'agent').map((m) => [m.direction, m.text]);
    assert.deepEqual(agentMessages, [
      ['outbound', 'Hi, Sam here'],
      ['outbound', 'Anything else?'],
    ]);
  });
});
