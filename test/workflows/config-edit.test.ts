import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import { parse as parseYaml } from 'yaml';
import { createApp } from '../../src/api/app';
import { createLogger } from '../../src/observability/logger';
import { loadRoutingConfigFile } from '../../src/domain/routing-config';
import { decodeHistoryPayloads } from '../../src/security/history';
import { workflowIdForContact } from '../../src/workflows/definitions';
import type { RoutingInput } from '../../src/domain/conversation';
import { Harness } from '../support/harness';

const routingYaml = (question: string, team: string) => `
askEmail:
  messages:
    en: { question: "${question}" }
regular: { chain: [{ kind: team, team: ${team} }] }
`;
const BEFORE = 'Before the edit: your email, please?';
const AFTER = 'After the edit: what is your email?';

/**
 * README: "each conversation copies the rules it started with into its workflow input, so editing the file never
 * changes a conversation in flight". The file is read when the API starts; an edit takes effect on a restart.
 */
describe('editing routing.yaml while a conversation is in flight', () => {
  let dir: string;
  let file: string;
  let h: Harness;
  let restarted: Server | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vip-router-routing-'));
    file = join(dir, 'routing.yaml');
    await writeFile(file, routingYaml(BEFORE, 'day-desk'));
    h = await Harness.start({ routing: parseYaml(await readFile(file, 'utf8')) });
    await h.putAgent('day-dee', { team: 'day-desk', capacity: 5 });
    await h.putAgent('night-nia', { team: 'night-desk', capacity: 5 });
  });
  after(async () => {
    restarted?.closeAllConnections();
    await new Promise((done) => (restarted ? restarted.close(done) : done(undefined)));
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** The API started again after the edit, loading the file the way the service does at start. */
  async function restartApiWithTheFile(): Promise<(method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>> {
    const { app } = createApp({
      client: h.client,
      db: h.db,
      routing: loadRoutingConfigFile(file),
      taskQueue: h.taskQueue,
      log: createLogger('silent'),
      apiKeys: h.apiKeys,
    });
    const server = app.listen(0, '127.0.0.1');
    restarted = server;
    await new Promise((ready) => server.once('listening', ready));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return async (method, path, body) => {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${h.adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: await response.json() };
    };
  }

  async function runInput(contactId: string): Promise<RoutingInput> {
    const history = await decodeHistoryPayloads(await h.client.workflow.getHandle(workflowIdForContact(contactId)).fetchHistory(), h.codec);
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    assert.ok(started?.input?.payloads?.[0], 'the first event starts the run with its input');
    return defaultPayloadConverter.fromPayload(started.input.payloads[0]);
  }

  it('keeps the rules a conversation started with; only conversations started after the edit get the new ones', async () => {
    const inFlight = h.contactId('in-flight');
    assert.equal((await h.open({ id: inFlight })).status, 202);
    await h.waitForState(inFlight, 'asking_email');
    assert.deepEqual((await h.transcript(inFlight)).map((m) => m.text), [BEFORE]);

    await writeFile(file, routingYaml(AFTER, 'night-desk'));
    const api = await restartApiWithTheFile();

    const afterEdit = h.contactId('after-edit');
    assert.equal((await api('POST', '/v1/conversations', { contact: { id: afterEdit } })).status, 202);
    await h.waitForState(afterEdit, 'asking_email');
    assert.deepEqual((await h.transcript(afterEdit)).map((m) => m.text), [AFTER], 'a new conversation asks with the edited text');

    for (const id of [inFlight, afterEdit]) {
      assert.equal((await api('POST', `/v1/contacts/${id}/messages`, { messageId: `${id}-m1`, text: `${id}@example.com` })).status, 202);
    }
    const kept = await h.waitForState(inFlight, 'assigned');
    const edited = await h.waitForState(afterEdit, 'assigned');
    assert.deepEqual([kept.assignee?.agentId, kept.assignee?.team], ['day-dee', 'day-desk'], 'the conversation in flight routes by its own rules');
    assert.deepEqual([edited.assignee?.agentId, edited.assignee?.team], ['night-nia', 'night-desk']);

    const keptInput = await runInput(inFlight);
    assert.deepEqual(keptInput.config.regular.chain.map((step) => (step.kind === 'team' ? step.team : step.kind)), ['day-desk']);
    assert.equal(keptInput.config.askEmail.messages['en']?.question, BEFORE);
    const editedInput = await runInput(afterEdit);
    assert.equal(editedInput.config.askEmail.messages['en']?.question, AFTER);
    // Each carries the version of its rules, both recorded: the worker reads each run's CRM settings by it.
    assert.notEqual(keptInput.rulesVersion, editedInput.rulesVersion);
    const { rows } = await h.db.query(`SELECT version FROM routing_rule_versions WHERE version = ANY($1)`, [[keptInput.rulesVersion, editedInput.rulesVersion]]);
    assert.equal(rows.length, 2);

    for (const id of [inFlight, afterEdit]) assert.equal((await api('POST', `/v1/conversations/${id}/close`)).status, 202);
    for (const id of [inFlight, afterEdit]) await h.waitForState(id, 'closed');
  });
});
