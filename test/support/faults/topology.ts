import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { appendFile, cp, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import pg from 'pg';
import { stringify as toYaml } from 'yaml';
import { createPool, type Db } from '../../../src/db/pool';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../../../src/local/embedded-postgres';
import { findFreePort } from '../../../src/local/ports';
import { launch, type Launched, waitUntil } from '../../../src/local/processes';
import { resolveTemporalBinary } from '../../../src/local/temporal-cli';
import { startTemporalDevServer, type TemporalDevServer } from '../../../src/local/temporal-dev-server';
import { generateCodecKey } from '../../../src/security/codec';
import { dataConverter, ROUTING_BUNDLE } from '../../../src/service/compose';
import { testCodec } from '../codec';
import { FakeCrm } from '../fake-crm';
import { envWithout, STEERING_VARS, TEST_RUNNER_VARS } from '../processes';
import { type RespondioStandIn, startRespondioStandIn } from '../respondio-standin';
import { HoldingProxy } from './proxy';
import { REPO_ROOT } from '../../../tools/repo';

/**
 * The service as it runs in production, as separate OS processes on loopback, every one of them killable with
 * SIGKILL and restartable on the same data and port:
 *
 * - an embedded PostgreSQL (the postgres server and its backends; restarted on the same data dir and port),
 * - the Temporal dev server on a SQLite file (restarted on the same file and port),
 * - per case: two worker processes (`node --import tsx src/worker.ts`) and two API processes
 *   (`node --import tsx src/api/server.ts`), the real entries, on the case's own database and task queue,
 * - a CRM on loopback (FakeCrm: per email 200, 404, 500, a hang past the timeout) and a respond.io stand-in that
 *   records every outbound call; the APIs take signed respond.io webhooks.
 *
 * The entries run from a snapshot of src/ taken when the run starts (with its prebuilt workflow bundle next to it,
 * where `prebuiltWorkflowBundle()` looks): a worker restarted twenty times runs the same code each time, whatever is
 * edited in the working tree meanwhile, and never spends a restart on webpack.
 */

const execFileAsync = promisify(execFile);
const READY_DEADLINE_MS = 60_000;
/** How soon a process that died on its own is started again, as a supervisor would. */
const RESTART_DELAY_MS = 1_000;
const POLL_MS = 100;

export type Log = (line: string) => void;

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** The processes of a directory's PostgreSQL: the postmaster (postmaster.pid) and every process it started. */
async function postgresPids(dataDir: string): Promise<number[]> {
  const text = await readFile(join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '');
  const postmaster = Number.parseInt(text.split('\n')[0] ?? '', 10);
  if (!Number.isInteger(postmaster) || !isAlive(postmaster)) return [];
  return [postmaster, ...(await childrenOf(postmaster))];
}

async function childrenOf(parent: number): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === parent) pids.push(Number(entry));
  }
  return pids;
}

/** Processes whose command line holds every one of these arguments. */
async function pidsWithArguments(...args: string[]): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (args.every((arg) => argv.includes(arg))) pids.push(Number(entry));
  }
  return pids;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers signal 0: it is dead for our purposes.
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function killAndWait(pids: number[], what: string): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  const deadline = Date.now() + 10_000;
  while (pids.some(isAlive)) {
    if (Date.now() > deadline) throw new Error(`${what}: processes ${pids.filter(isAlive).join(', ')} still alive 10 s after SIGKILL`);
    await sleep(50);
  }
}

/** A server process that a case kills with SIGKILL (every process of it) and starts again on the same data and port. */
abstract class RestartableServer {
  kills = 0;

  protected abstract boot(): Promise<void>;
  /** The server's processes now; empty when it is down. */
  protected abstract pids(): Promise<number[]>;
  abstract readonly what: string;

  async kill9(): Promise<void> {
    const pids = await this.pids();
    if (pids.length === 0) throw new Error(`${this.what} is not running`);
    await killAndWait(pids, this.what);
    this.kills++;
  }

  /** Starts again on the same data and port; how long it took to be ready. */
  async restart(): Promise<number> {
    const started = Date.now();
    await this.boot();
    return Date.now() - started;
  }
}

/** PostgreSQL on a data dir and port; its restart after a kill is PostgreSQL's crash recovery (WAL replay). */
export class PostgresServer extends RestartableServer {
  private handle?: EmbeddedPostgres;
  readonly what = 'PostgreSQL';

  private constructor(
    readonly dataDir: string,
    readonly port: number,
  ) {
    super();
  }

  static async start(dataDir: string): Promise<PostgresServer> {
    const server = new PostgresServer(dataDir, await findFreePort());
    await server.boot();
    return server;
  }

  protected async boot(): Promise<void> {
    this.handle = await startEmbeddedPostgres({ dataDir: this.dataDir, port: this.port, database: 'postgres' });
  }

  /** The postmaster and every backend: all at once, as the OOM killer or a lost node would. */
  protected pids(): Promise<number[]> {
    return postgresPids(this.dataDir);
  }

  url(database: string): string {
    return `postgres://postgres:postgres@127.0.0.1:${this.port}/${database}`;
  }

  async stop(): Promise<void> {
    if ((await this.pids()).length === 0) return;
    await this.handle?.stop();
  }
}

/** The Temporal dev server on a SQLite file and port. */
export class TemporalServer extends RestartableServer {
  private handle?: TemporalDevServer;
  readonly what = 'the Temporal dev server';

  private constructor(
    private readonly binary: string,
    readonly dbFile: string,
    readonly port: number,
  ) {
    super();
  }

  static async start(dbFile: string, log: Log): Promise<TemporalServer> {
    const binary = await resolveTemporalBinary('cli', { log });
    if (binary.type !== 'existing-path') throw new Error('the fault suite needs the Temporal CLI (see scripts/ensure-temporal.ts)');
    const server = new TemporalServer(binary.path, dbFile, await findFreePort());
    await server.boot();
    return server;
  }

  protected async boot(): Promise<void> {
    this.handle = await startTemporalDevServer({ binary: this.binary, dbFile: this.dbFile, port: this.port, uiPort: null });
  }

  protected pids(): Promise<number[]> {
    return pidsWithArguments('start-dev', '--db-filename', this.dbFile);
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    await this.handle?.stop();
  }
}

/** src/ as it is now, with the workflow bundle the worker entry finds beside it. */
async function snapshotSource(dir: string): Promise<string> {
  const root = join(dir, 'app');
  await mkdir(root, { recursive: true });
  await cp(join(REPO_ROOT, 'src'), join(root, 'src'), { recursive: true });
  await cp(join(REPO_ROOT, 'package.json'), join(root, 'package.json'));
  await cp(join(REPO_ROOT, 'tsconfig.json'), join(root, 'tsconfig.json'));
  // Hard links where the file system allows (a reinstall of the working tree's node_modules mid-run, say `npm ci` in
  // another terminal, then leaves the run's copy whole), else a symlink.
  await execFileAsync('cp', ['-al', join(REPO_ROOT, 'node_modules'), join(root, 'node_modules')]).catch(() =>
    symlink(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir'),
  );
  // The service's own bundle recipe, pointed at the snapshot.
  const inSnapshot = (path: string) => join(root, relative(REPO_ROOT, path));
  const { code } = await bundleWorkflowCode({
    workflowsPath: inSnapshot(ROUTING_BUNDLE.workflowsPath),
    failureConverterPath: inSnapshot(ROUTING_BUNDLE.failureConverterPath),
    workflowInterceptorModules: ROUTING_BUNDLE.workflowInterceptorModules.map(inSnapshot),
    logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
  });
  // Where src/worker.ts's prebuiltWorkflowBundle() looks: next to src/.
  await writeFile(join(root, 'workflow-bundle.js'), code);
  return root;
}

/** The keys a run makes up for itself: the service's admin key, payload codec, respond.io token and webhook signing key. */
interface RunKeys {
  adminKey: string;
  codecKeys: string;
  respondioToken: string;
  webhookSigningKey: string;
}

/** What every case shares: the servers, the stand-ins, the code the entries run, the keys. */
export class Infra implements RunKeys {
  readonly adminKey: string;
  readonly codecKeys: string;
  readonly respondioToken: string;
  readonly webhookSigningKey: string;

  private constructor(
    keys: RunKeys,
    readonly dir: string,
    readonly appRoot: string,
    readonly postgres: PostgresServer,
    readonly temporal: TemporalServer,
    readonly crm: FakeCrm,
    readonly respondio: RespondioStandIn,
  ) {
    ({ adminKey: this.adminKey, codecKeys: this.codecKeys, respondioToken: this.respondioToken, webhookSigningKey: this.webhookSigningKey } = keys);
  }

  static async start(dir: string, log: Log): Promise<Infra> {
    await mkdir(dir, { recursive: true });
    const started = Date.now();
    const keys: RunKeys = {
      adminKey: `faults-admin-${randomBytes(16).toString('hex')}`,
      codecKeys: generateCodecKey('faults'),
      respondioToken: `faults-token-${randomBytes(8).toString('hex')}`,
      webhookSigningKey: `whsec-faults-${randomBytes(8).toString('hex')}`,
    };
    // Made up for this run, and kept with its data: the histories in the SQLite file stay readable for a post-mortem.
    await writeFile(join(dir, 'codec-keys'), `${keys.codecKeys}\n`);
    const [appRoot, postgres, temporal, crm, respondio] = await Promise.all([
      snapshotSource(dir),
      PostgresServer.start(join(dir, 'postgres')),
      TemporalServer.start(join(dir, 'temporal.db'), log),
      new FakeCrm().start(),
      startRespondioStandIn({ token: keys.respondioToken }),
    ]);
    log(`infra ready in ${Date.now() - started} ms: PostgreSQL :${postgres.port}, Temporal ${temporal.address}, CRM ${crm.url}, respond.io ${respondio.baseUrl}`);
    return new Infra(keys, dir, appRoot, postgres, temporal, crm, respondio);
  }

  async stop(): Promise<void> {
    await this.respondio.close().catch(() => undefined);
    await this.crm.stop().catch(() => undefined);
    await this.temporal.stop().catch(() => undefined);
    await this.postgres.stop().catch(() => undefined);
  }
}

/** One OS process of the service: launched, its output kept in a file (and the tail in memory), killable, restartable. */
export class ServiceProcess {
  private process?: Launched;
  starts = 0;
  kills = 0;
  /** Exits nobody asked for (not a SIGKILL of ours): a process that died of an outage. */
  readonly unexpectedExits: string[] = [];
  private killing = false;
  private closed = false;

  constructor(
    readonly name: string,
    private readonly command: { cwd: string; args: string[]; env: NodeJS.ProcessEnv },
    private readonly logPath: string,
    private readonly readiness: (self: ServiceProcess) => Promise<boolean>,
  ) {}

  get pid(): number | undefined {
    return this.running ? this.process?.child.pid : undefined;
  }

  get running(): boolean {
    return this.process !== undefined && this.process.gone() === undefined;
  }

  output(): string {
    return this.process?.output() ?? '';
  }

  async start(): Promise<number> {
    if (this.running) throw new Error(`${this.name} is running already`);
    const started = Date.now();
    this.starts++;
    await appendFile(this.logPath, `\n=== start ${this.starts} at ${new Date().toISOString()} ===\n`);
    const launched = launch(this.name, process.execPath, this.command.args, { cwd: this.command.cwd, env: this.command.env, logFile: this.logPath, keepChars: 20_000 });
    this.process = launched;
    void launched.exited.then(() => {
      if (this.killing) {
        this.killing = false;
        return;
      }
      this.unexpectedExits.push(`${this.name} ${launched.gone()}: ${launched.output().slice(-1_500)}`);
      // As the deployment's restart policy (restart: unless-stopped) would: the case goes on, the crash is reported.
      if (!this.closed) setTimeout(() => void this.start().catch((error: unknown) => this.unexpectedExits.push(`${this.name} restart failed: ${error}`)), RESTART_DELAY_MS);
    });
    await waitUntil(`${this.name} ready`, () => this.readiness(this), {
      timeoutMs: READY_DEADLINE_MS,
      intervalMs: POLL_MS,
      gone: launched.gone,
      detail: () => launched.output().slice(-3_000),
    });
    return Date.now() - started;
  }

  /** SIGKILL, and wait until the process is gone. */
  async kill9(): Promise<void> {
    if (!this.process || !this.running) return;
    this.killing = true;
    this.process.child.kill('SIGKILL');
    await this.process.exited;
    this.kills++;
  }

  /** SIGTERM, as a deploy stops it; SIGKILL after the grace period. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.process || !this.running) return;
    this.killing = true;
    await this.process.stop(graceMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.kill9();
  }
}

/** A routing config for a case, written as the YAML file ROUTING_CONFIG names. */
function routingYaml(crmUrl: string, overrides: Record<string, unknown> = {}): string {
  const config = {
    tiers: [
      {
        name: 'vip',
        customerTypes: ['VIP'],
        priority: 10,
        chain: [{ kind: 'account_manager' }, { kind: 'team', team: 'vip' }, { kind: 'manager' }],
      },
    ],
    regular: { chain: [{ kind: 'team', team: 'support' }] },
    teams: { support: { strategy: 'least_open' }, vip: { strategy: 'least_open' } },
    assignment: { onlineOnly: true, defaultCapacity: 5, maxQueueWait: '72h', onQueueTimeout: 'escalate' },
    askEmail: { maxReAsks: 3, replyTimeout: '24h', onReplyTimeout: 'route_regular' },
    crm: {
      url: `${crmUrl}/customers?email={{email}}`,
      // Patient enough that a loaded 2-core machine does not time out a CRM that answers at once; the hanging CRM
      // of the CRM case hangs far longer.
      timeout: '4s',
      retry: { maxAttempts: 3, initialInterval: '300ms', backoffCoefficient: 2, maxInterval: '1s' },
    },
    ...overrides,
  };
  return toYaml(config);
}

export interface WorldOptions {
  /** Top-level keys of the routing config replaced for this case. */
  routing?: Record<string, unknown>;
  /**
   * API 1 reaches Temporal and PostgreSQL through proxies that can hold its traffic: the API-kill case stops it
   * between accepting a request and signalling the run, or between signalling and writing the transcript.
   */
  proxiedApi?: boolean;
}

/**
 * One case's service: its own database and task queue on the shared servers, two workers and two APIs, the
 * orchestrator's own PostgreSQL pool and Temporal client (with the codec) to look at what happened.
 */
export class World {
  readonly workers: ServiceProcess[] = [];
  readonly apis: ServiceProcess[] = [];
  readonly apiUrls: string[] = [];
  proxies?: { temporal: HoldingProxy; postgres: HoldingProxy };

  private constructor(
    readonly infra: Infra,
    readonly name: string,
    readonly dir: string,
    readonly databaseUrl: string,
    readonly taskQueue: string,
    readonly db: Db,
    readonly client: Client,
    private readonly connection: Connection,
  ) {}

  static async create(infra: Infra, name: string, options: WorldOptions = {}): Promise<World> {
    const dir = join(infra.dir, name);
    await mkdir(dir, { recursive: true });
    const database = `faults_${name.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomUUID().slice(0, 8)}`;
    const admin = new pg.Client({ connectionString: infra.postgres.url('postgres') });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${database}`);
    } finally {
      await admin.end();
    }
    const databaseUrl = infra.postgres.url(database);
    const taskQueue = `faults-${name}-${randomUUID().slice(0, 8)}`;
    const connection = await Connection.connect({ address: infra.temporal.address });
    const client = new Client({ connection, dataConverter: dataConverter(testCodec(infra.codecKeys)) });
    const world = new World(infra, name, dir, databaseUrl, taskQueue, createPool(databaseUrl, 4), client, connection);
    await world.spawnAll(options);
    return world;
  }

  private async spawnAll(options: WorldOptions): Promise<void> {
    const { infra } = this;
    const configPath = join(this.dir, 'routing.yaml');
    await writeFile(configPath, routingYaml(infra.crm.url, options.routing));
    const ports = [await findFreePort(), await findFreePort()];
    this.apiUrls.push(...ports.map((port) => `http://127.0.0.1:${port}`));
    if (options.proxiedApi) {
      this.proxies = {
        temporal: await new HoldingProxy({ host: '127.0.0.1', port: infra.temporal.port }).start(),
        postgres: await new HoldingProxy({ host: '127.0.0.1', port: infra.postgres.port }).start(),
      };
    }
    const base: NodeJS.ProcessEnv = {
      ...envWithout([...STEERING_VARS, ...TEST_RUNNER_VARS]),
      TEMPORAL_ADDRESS: infra.temporal.address,
      DATABASE_URL: this.databaseUrl,
      TEMPORAL_TASK_QUEUE: this.taskQueue,
      VIP_ROUTER_CODEC_KEYS: infra.codecKeys,
      VIP_ROUTER_API_URL: this.apiUrls[0],
      VIP_ROUTER_SEED_DEMO: '0',
      RESPONDIO_API_TOKEN: infra.respondioToken,
      RESPONDIO_API_URL: infra.respondio.baseUrl,
      // The agents are the case's own: no import from the stand-in's (empty) workspace during a case.
      RESPONDIO_AGENT_SYNC_INTERVAL: '24h',
      LOG_LEVEL: 'info',
      NODE_ENV: 'production',
    };
    for (let i = 0; i < 2; i++) {
      this.workers.push(
        new ServiceProcess(
          `worker-${i + 1}`,
          // The same rules as the APIs, as in a deployment: the worker records its own and serves runs' by version.
          { cwd: infra.appRoot, args: ['--import', 'tsx', 'src/worker.ts'], env: { ...base, ROUTING_CONFIG: configPath } },
          join(this.dir, `worker-${i + 1}.log`),
          async (self) => self.output().includes('"worker running"'),
        ),
      );
      const proxied = options.proxiedApi && i === 0 && this.proxies;
      const url = this.apiUrls[i]!;
      this.apis.push(
        new ServiceProcess(
          `api-${i + 1}`,
          {
            cwd: infra.appRoot,
            args: ['--import', 'tsx', 'src/api/server.ts'],
            env: {
              ...base,
              PORT: String(ports[i]),
              ROUTING_CONFIG: configPath,
              VIP_ROUTER_BOOTSTRAP_API_KEY: infra.adminKey,
              RESPONDIO_WEBHOOK_SIGNING_KEYS: infra.webhookSigningKey,
              VIP_ROUTER_RATE_LIMIT: '1000000/1m',
              LOG_LEVEL: 'warn',
              ...(proxied
                ? {
                    TEMPORAL_ADDRESS: proxied.temporal.address,
                    DATABASE_URL: this.databaseUrl.replace(`:${infra.postgres.port}/`, `:${proxied.postgres.port}/`),
                  }
                : {}),
            },
          },
          join(this.dir, `api-${i + 1}.log`),
          async () => (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) })).status === 200,
        ),
      );
    }
    // All four at once, as `docker compose up` starts them: each applies the migrations (under their lock).
    await Promise.all([...this.apis, ...this.workers].map((p) => p.start()));
  }

  /** Every process's unexpected exit so far. */
  unexpectedExits(): string[] {
    return [...this.workers, ...this.apis].flatMap((p) => p.unexpectedExits);
  }

  async close(): Promise<void> {
    await Promise.all([...this.workers, ...this.apis].map((p) => p.close()));
    await this.proxies?.temporal.stop();
    await this.proxies?.postgres.stop();
    await this.db.end().catch(() => undefined);
    await this.connection.close().catch(() => undefined);
  }
}
