import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findFreePort } from '../src/local/ports';
import { resolveTemporalBinary } from '../src/local/temporal-cli';
import { payloadTexts } from './support/history';
import { envWithout, request, STEERING_VARS } from './support/processes';
import { launch, type Launched, waitUntil } from '../src/local/processes';
import { REPO_ROOT } from '../tools/repo';
import { parse as parseYaml, stringify as toYaml } from 'yaml';

/**
 * What the README promises about `npm start`: the real entry, on a fresh data dir, starts its own PostgreSQL and
 * Temporal dev server, serves the API and the Temporal UI, routes the README's examples, stops cleanly on Ctrl-C
 * without leaving processes behind, and a second start on the same data dir carries on where the first one stopped.
 */

const START_DEADLINE_MS = 45_000;
const STEP_DEADLINE_MS = 15_000;
const STOP_DEADLINE_MS = 20_000;
/** How long the slow CRM takes to answer: a lookup in flight when Ctrl-C comes, well inside the worker's 10 s grace. */
const CRM_DELAY_MS = 3_000;
/** The lines a stop in order logs, in that order. */
const STOP_LINES = ['API stopped', 'worker stopped', 'Temporal dev server stopped', 'PostgreSQL stopped'];
/** What a worker logs when Temporal or PostgreSQL went away under it. */
const CONNECTION_ERROR = /ECONNREFUSED|ECONNRESET|connection (refused|terminated|error)|Connection terminated|transport error|UNAVAILABLE|terminating connection due to administrator command|Cannot use a pool after calling end/i;



/**
 * Live processes that belong to a run: those in its process group, or with the data dir in their command line or
 * as their working directory (postgres' background workers rename themselves but stay in the data dir).
 */
async function survivors(dataDir: string, groupId: number): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue; // a zombie has already exited; only its parent's wait is missing
      const pgrp = Number(fields[2]);
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).replace(/\0/g, ' ').trim();
      const cwd = await readlink(`/proc/${entry}/cwd`).catch(() => '');
      if (pgrp === groupId || cmdline.includes(dataDir) || cwd.startsWith(dataDir)) found.push(`${entry} ${cmdline}`);
    } catch {
      // gone while we looked
    }
  }
  return found;
}

function killGroup(service: Launched | undefined): void {
  if (!service?.child.pid) return;
  try {
    process.kill(-service.child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

describe('npm start (src/main.ts)', { timeout: 120_000 }, () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let api: string;
  let uiPort: number;
  let service: Launched | undefined;
  const timings: Record<string, number> = {};
  const runId = Date.now().toString(36);
  const vipContact = `readme-ana-${runId}`;
  const noEmailContact = `no-email-${runId}`;

  const context = () => `--- service output ---\n${service?.output() ?? ''}`;

  /** Starts the entry and waits for /readyz = 200; returns how long that took. */
  async function boot(): Promise<number> {
    const started = Date.now();
    // Its own process group: after() can take the whole tree down, and a group SIGINT is what Ctrl-C sends.
    service = launch('service', process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: REPO_ROOT, env, detached: true });
    const current = service;
    let processes: string[] = [];
    await waitUntil(
      'GET /readyz answers 200',
      async () => {
        if (current.exit) throw new Error(`the service exited early with ${current.exit.signal ?? current.exit.code}`);
        processes = await survivors(dataDir, current.child.pid!);
        return (await request(`${api}/readyz`)).status === 200 ? true : undefined;
      },
      { timeoutMs: START_DEADLINE_MS, detail: () => `--- its processes at the last probe ---\n${processes.join('\n')}\n${context()}` },
    );
    return Date.now() - started;
  }

  /** Sends SIGINT (to the process, or to its group as Ctrl-C does) and checks a clean exit and no leftovers. */
  async function stop(target: 'process' | 'group'): Promise<number> {
    const current = service!;
    const pid = current.child.pid!;
    const started = Date.now();
    if (target === 'group') process.kill(-pid, 'SIGINT');
    else current.child.kill('SIGINT');
    const exit = await Promise.race([
      current.exited,
      new Promise<undefined>((done) => setTimeout(() => done(undefined), STOP_DEADLINE_MS).unref()),
    ]);
    const elapsed = Date.now() - started;
    assert.ok(exit, `no exit within ${STOP_DEADLINE_MS} ms of SIGINT\n${context()}`);
    // Checked at the moment of exit: a child still running then is one the service did not wait for.
    const left = await survivors(dataDir, pid);
    // How long the leftovers outlive it, for the failure message only.
    const exitedAt = Date.now();
    while (Date.now() - exitedAt < 5_000 && (await survivors(dataDir, pid)).length > 0) {
      await new Promise((tick) => setTimeout(tick, 20));
    }
    const lingered = Date.now() - exitedAt;
    const problems = [
      ...(exit.code === 0 && exit.signal === null ? [] : [`exited with ${exit.signal ?? exit.code}, not 0`]),
      ...left.map((p) => `still running when the service had exited (gone ~${lingered} ms later): ${p}`),
    ];
    assert.deepEqual(problems, [], `after SIGINT to the ${target}:\n${context()}`);
    service = undefined;
    return elapsed;
  }

  /** The admin key npm start printed on its first start. */
  let adminKey = '';
  const call = (url: string, method?: string, body?: unknown) => request(url, method, body, adminKey);
  const postJson = (url: string, body: unknown) => call(url, 'POST', body);
  const statusOf = async (contactId: string) => (await call(`${api}/v1/conversations/${contactId}`)).body;

  const reaches = (contactId: string, state: string) =>
    waitUntil(
      `conversation ${contactId} reaches state ${state}`,
      async () => {
        const status = await statusOf(contactId);
        return status?.state === state ? status : undefined;
      },
      { timeoutMs: STEP_DEADLINE_MS, detail: context },
    );

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'vip-router-start-'));
    const [port, temporalPort, temporalUiPort] = await Promise.all([findFreePort(), findFreePort(), findFreePort()]);
    uiPort = temporalUiPort;
    api = `http://127.0.0.1:${port}`;
    // Nothing inherited steers the service away from the defaults this file is about (PORT and LOG_LEVEL are set here).
    env = {
      ...envWithout(STEERING_VARS),
      VIP_ROUTER_DATA_DIR: dataDir,
      PORT: String(port),
      TEMPORAL_PORT: String(temporalPort),
      TEMPORAL_UI_PORT: String(temporalUiPort),
      LOG_LEVEL: 'warn',
    };
  });

  after(async () => {
    killGroup(service);
    if (service) await Promise.race([service.exited, new Promise((done) => setTimeout(done, 5_000).unref())]);
    // postgres runs as another user and chdirs into its data dir: make sure nothing of it is left before removing it.
    if (dataDir) {
      for (const line of await survivors(dataDir, -1)) process.kill(Number(line.split(' ')[0]), 'SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
    const shown = Object.entries(timings).map(([name, ms]) => `${name} ${ms} ms`);
    if (shown.length) console.log(`# npm start timings: ${shown.join(', ')}`);
  });

  it('starts on an empty data dir and becomes ready', async () => {
    timings['first start'] = await boot();
    // The admin key comes last, with a curl line to try it.
    const printed = await waitUntil(
      'the startup lines',
      async () => (/curl -H "Authorization: Bearer/.test(service!.output()) ? service!.output() : undefined),
      { timeoutMs: 5_000, detail: context },
    );
    assert.match(printed, new RegExp(`vip-router API\\s+http://(localhost|127\\.0\\.0\\.1):${env.PORT}\\b`));
    assert.match(printed, new RegExp(`Temporal UI\\s+http://(localhost|127\\.0\\.0\\.1):${uiPort}\\b`));
    adminKey = /Your admin API key[^\n]*\n\s*\n\s*(vr_\S+)/.exec(printed)?.[1] ?? '';
    assert.ok(adminKey, `the first start prints an admin key\n${printed}`);
    assert.equal((await request(`${api}/v1/agents`)).status, 401, 'the API needs it');
    await waitUntil('the Temporal UI answers 200', async () => (await request(`http://127.0.0.1:${uiPort}/`)).status === 200, { timeoutMs: STEP_DEADLINE_MS });
    const { body } = await call(`${api}/v1/agents`);
    assert.deepEqual(
      body.agents.map((a: { id: string }) => a.id).sort(),
      ['alex', 'maria', 'sam', 'sofia', 'vera', 'victor'],
      'the demo roster is seeded',
    );
  });

  it('routes the README example: ana@example.com goes to her account manager alex', async () => {
    const opened = await postJson(`${api}/v1/conversations`, { contact: { id: vipContact, email: 'ana@example.com' } });
    assert.equal(opened.status, 202, JSON.stringify(opened.body));
    assert.equal(opened.body.contactId, vipContact);
    assert.ok(opened.body.workflowId && opened.body.runId);
    const status = await reaches(vipContact, 'assigned');
    assert.equal(status.assignee?.agentId, 'alex');
    assert.equal(status.customerType, 'VIP');
  });

  it('asks a contact without email for it and waits', async () => {
    const opened = await postJson(`${api}/v1/conversations`, { contact: { id: noEmailContact, firstName: 'Nadia' } });
    assert.equal(opened.status, 202, JSON.stringify(opened.body));
    await reaches(noEmailContact, 'asking_email');
    // The state says the run is asking; the question's activity records it a moment later.
    await waitUntil(
      'the question to be sent',
      async () => (await call(`${api}/v1/contacts/${noEmailContact}/messages`)).body.messages.some((m: { direction: string }) => m.direction === 'outbound'),
      { timeoutMs: 15_000 },
    );
  });

  it('exits with code 0 on SIGINT and leaves no process behind', async () => {
    // A change the seed would undo if the database came back empty.
    const patched = await call(`${api}/v1/agents/victor`, 'PATCH', { capacity: 7 });
    assert.equal(patched.status, 200);
    timings['first stop'] = await stop('process');
  });

  it('a second start on the same data dir keeps the data and the waiting conversation', async () => {
    timings['restart'] = await boot();
    assert.doesNotMatch(service!.output(), /Your admin API key/, 'the admin key is printed on the first start only');
    const { body } = await call(`${api}/v1/agents`);
    const ids = body.agents.map((a: { id: string }) => a.id).sort();
    assert.deepEqual(ids, ['alex', 'maria', 'sam', 'sofia', 'vera', 'victor'], 'same roster, nothing seeded twice');
    assert.equal(body.agents.find((a: { id: string }) => a.id === 'victor').capacity, 7, 'changes made before the stop are kept');
    assert.equal(body.agents.find((a: { id: string }) => a.id === 'alex').openConversations, 1, "alex keeps ana's conversation");
    assert.equal((await call(`${api}/v1/directory/customers?email=ana%40example.com`)).status, 200);

    const ana = await statusOf(vipContact);
    assert.equal(ana.state, 'assigned');
    assert.equal(ana.assignee?.agentId, 'alex');
    assert.equal((await statusOf(noEmailContact)).state, 'asking_email');

    const reply = await postJson(`${api}/v1/contacts/${noEmailContact}/messages`, { messageId: `m-${runId}`, text: 'bob@example.com' });
    assert.equal(reply.status, 202, JSON.stringify(reply.body));
    const status = await reaches(noEmailContact, 'assigned');
    assert.equal(status.customerType, 'Regular');
    assert.equal(status.assignee?.team, 'support');
    assert.ok(['sam', 'sofia'].includes(status.assignee?.agentId), JSON.stringify(status.assignee));
  });

  it('keeps personal data out of Temporal: histories are encrypted, and read in clear only through the codec endpoint', async () => {
    const temporalCli = await resolveTemporalBinary('cli');
    assert.equal(temporalCli.type, 'existing-path');
    const show = async (...extra: string[]) => {
      const shown = launch('temporal workflow show', (temporalCli as { path: string }).path, [
        'workflow', 'show', '--workflow-id', `conversation-${noEmailContact}`, '--address', `127.0.0.1:${env.TEMPORAL_PORT}`, '-o', 'json', ...extra,
      ], { cwd: REPO_ROOT, env: process.env });
      const exit = await shown.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, shown.output());
      return shown.output();
    };
    const raw = await show();
    const stored = payloadTexts(JSON.parse(raw));
    // All but what the server must read and the SDK's own: search attributes (states, tiers, agent ids: no one's
    // personal data), headers (the request id), local activity markers' bookkeeping and patch markers.
    const ours = payloadTexts(JSON.parse(raw), ['searchAttributes', 'header', 'details.data']).filter(
      (text) => !/^json\/plain \{"id":"[\w-]+","deprecated":(true|false)\}$/.test(text),
    );
    assert.ok(ours.length > 5 && ours.every((text) => text.startsWith('binary/encrypted ')), `every payload is encrypted: ${ours.filter((t) => !t.startsWith('binary/encrypted')).join(' | ')}`);
    assert.ok(!stored.join('\n').includes('bob@example.com') && !raw.includes('bob@example.com'), 'no email in clear');
    const decoded = payloadTexts(JSON.parse(await show('--codec-endpoint', `${api}/codec`, '--codec-auth', `Bearer ${adminKey}`)));
    assert.match(decoded.join('\n'), /bob@example\.com/, 'the CLI reads it with the codec endpoint and an admin key');

    // Temporal UI is pointed at the API's codec endpoint (its key in the path), and may call it from its origin.
    const settings = await request(`http://127.0.0.1:${uiPort}/api/v1/settings`);
    const endpoint: string = settings.body?.Codec?.Endpoint ?? '';
    assert.match(endpoint, new RegExp(`^http://127\\.0\\.0\\.1:${env.PORT}/codec/ui/vr_`), JSON.stringify(settings.body));
    const history = JSON.parse(raw);
    const encrypted = history.events.find((e: any) => e.workflowExecutionStartedEventAttributes).workflowExecutionStartedEventAttributes.input.payloads;
    const origin = `http://127.0.0.1:${uiPort}`;
    const preflight = await fetch(`${endpoint}/decode`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
    });
    assert.equal(preflight.headers.get('access-control-allow-origin'), origin);
    const viaUi = await fetch(`${endpoint}/decode`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json', 'x-namespace': 'default' },
      body: JSON.stringify({ payloads: encrypted }),
    });
    assert.equal(viaUi.status, 200);
    const text = Buffer.from(((await viaUi.json()) as any).payloads[0].data, 'base64').toString('utf8');
    assert.match(text, new RegExp(noEmailContact), 'the UI gets the run input in clear');
    // The key in the UI's settings only decodes: whoever reads the settings cannot write payloads with it.
    const encodeViaUi = await fetch(`${endpoint}/encode`, { method: 'POST', headers: { origin, 'content-type': 'application/json' }, body: JSON.stringify({ payloads: [] }) });
    assert.equal(encodeViaUi.status, 403);
  });

  it('stops again on Ctrl-C (SIGINT to the whole process group)', async () => {
    timings['second stop'] = await stop('group');
  });

  it('leaves no email address in the Temporal server\'s SQLite files', async () => {
    const files = (await readdir(dataDir)).filter((name) => name.startsWith('temporal.db'));
    assert.ok(files.length > 0, `the dev server kept its data in ${dataDir}`);
    for (const name of files) {
      const bytes = await readFile(join(dataDir, name));
      for (const email of ['ana@example.com', 'bob@example.com']) {
        assert.equal(bytes.indexOf(email), -1, `${name} holds ${email}`);
      }
      assert.equal(bytes.indexOf('Nadia'), -1, `${name} holds the contact's name`);
    }
  });
  it('stops in order on Ctrl-C with a conversation in flight: the API, the worker (its CRM call finishes), then Temporal and PostgreSQL', async () => {
    // A CRM that answers after CRM_DELAY_MS: the conversation's lookup is in flight when the terminal's SIGINT comes.
    const lookups: Array<{ answered: boolean }> = [];
    const crm = createServer((req, res: ServerResponse) => {
      const lookup = { answered: false };
      lookups.push(lookup);
      res.once('finish', () => (lookup.answered = true));
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ customerType: 'Regular' })), CRM_DELAY_MS);
    });
    await new Promise<void>((listening) => crm.listen(0, '127.0.0.1', listening));
    try {
      const routing = parseYaml(await readFile(join(REPO_ROOT, 'config', 'routing.yaml'), 'utf8'));
      routing.crm.url = `http://127.0.0.1:${(crm.address() as AddressInfo).port}/customers?email={{email}}`;
      const routingFile = join(dataDir, 'routing-slow-crm.yaml');
      await writeFile(routingFile, toYaml(routing));
      env = { ...env, ROUTING_CONFIG: routingFile, LOG_LEVEL: 'info' };
      await boot();

      const contactId = `in-flight-${runId}`;
      const opened = await postJson(`${api}/v1/conversations`, { contact: { id: contactId, email: 'carol@example.com' } });
      assert.equal(opened.status, 202, JSON.stringify(opened.body));
      await waitUntil('the CRM lookup in flight', async () => lookups.length > 0, { timeoutMs: STEP_DEADLINE_MS, detail: context });
      const before = service!.output().length;
      const stopping = service!;
      timings['stop with a CRM call in flight'] = await stop('group');
      const after = stopping.output().slice(before).split('\n');

      assert.ok(lookups[0]!.answered, 'the CRM call in flight was let finish');
      const messages = after.map((line) => (line.startsWith('{') ? (JSON.parse(line) as { msg?: string }).msg : undefined));
      assert.deepEqual(
        messages.filter((msg) => msg !== undefined && STOP_LINES.includes(msg)),
        STOP_LINES,
        `stopped in order\n${after.join('\n')}`,
      );
      assert.deepEqual(after.filter((line) => CONNECTION_ERROR.test(line)), [], 'no connection errors while stopping');
    } finally {
      crm.closeAllConnections();
      crm.close();
    }
  });
});
