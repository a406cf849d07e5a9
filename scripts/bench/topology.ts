import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { createPool, type Db, migrateDatabase } from '../../src/db/pool';
import { startEmbeddedPostgres } from '../../src/local/embedded-postgres';
import { findFreePort } from '../../src/local/ports';
import type { TemporalConnectionOptions } from '../../src/temporal/connection';
import { startTemporalDevServer } from '../../src/local/temporal-dev-server';
import { temporalCliPath } from '../../tools/cluster/cluster';
import { startTemporalCluster, TEMPORAL_SERVICES } from '../../tools/cluster/temporal-cluster';
import { resolveTemporalServer } from '../../tools/cluster/temporal-server';
import { ApiKeys } from '../../src/security/api-key-tokens';
import { generateCodecKey } from '../../src/security/codec';
import { FAILURE_CONVERTER_PATH } from '../../src/service/compose';
import { ROUTING_SEARCH_ATTRIBUTES } from '../../src/workflows/search-attributes';
import { buildWorkflowBundle, quietLogger } from '../../test/support/servers';
import { launch, type Launched, waitUntil } from '../../src/local/processes';
import { REPO_ROOT } from '../../tools/repo';

export const TASK_QUEUE = 'vip-router-bench';
export const SIGNING_KEY = 'bench-webhook-signing-key';

/** The processes a benchmark measures: PostgreSQL, the Temporal dev server, one API and one worker process. */
export interface Topology {
  db: Db;
  databaseUrl: string;
  /** How a client reaches the bench's Temporal (mTLS on the cluster). */
  temporal: TemporalConnectionOptions;
  apiUrl: string;
  adminKey: string;
  codecKeys: string;
  pids(): Promise<Record<'worker' | 'api' | 'temporal' | 'postgres', number[]>>;
  restartWorker(): Promise<void>;
  worker(): Launched;
  stop(): Promise<void>;
}

async function waitForLine(proc: Launched, line: string, what: string, timeoutMs = 60_000): Promise<void> {
  await waitUntil(`${what} ready`, async () => proc.output().includes(line), { timeoutMs, intervalMs: 50, gone: proc.gone, detail: proc.output });
}

/** Every process whose command line or working directory is under `dir` (postgres renames its backends). */
export async function processesUnder(dir: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const cwd = await readlink(`/proc/${entry}/cwd`).catch(() => '');
    if (cmdline.includes(dir) || cwd.startsWith(dir)) found.push(Number(entry));
  }
  return found;
}

export async function startTopology(scratch: string, log: (line: string) => void, options: { cluster?: boolean } = {}): Promise<Topology> {
  const stops: Array<() => Promise<unknown>> = [];
  const pgDir = join(scratch, 'postgres');
  const postgres = await startEmbeddedPostgres({ dataDir: pgDir, database: 'vip_router_bench' });
  stops.push(() => postgres.stop());
  const temporalDb = join(scratch, 'temporal.db');
  const temporal = options.cluster ? await startClusterServer(scratch, postgres.url, log) : await startDevServer(temporalDb, log);
  stops.push(() => temporal.stop());

  const db = createPool(postgres.url, 8);
  stops.push(() => db.end());
  await migrateDatabase(db);
  const apiKeys = new ApiKeys(db);
  const adminKey = (await apiKeys.create('admin', 'bench')).key;
  const workerKey = (await apiKeys.create('read', 'bench worker')).key;
  const codecKeys = generateCodecKey('bench');
  const [routingBundle, referenceBundle] = await Promise.all([
    buildWorkflowBundle(join(scratch, 'routing-bundle.js')),
    bundleWorkflowCode({ workflowsPath: require.resolve('./workflows'), failureConverterPath: FAILURE_CONVERTER_PATH, logger: quietLogger }).then(async ({ code }) => {
      const path = join(scratch, 'reference-bundle.js');
      await import('node:fs/promises').then((fs) => fs.writeFile(path, code));
      return path;
    }),
  ]);

  const port = await findFreePort();
  const apiUrl = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    TEMPORAL_TASK_QUEUE: TASK_QUEUE,
    DATABASE_URL: postgres.url,
    VIP_ROUTER_CODEC_KEYS: codecKeys,
    VIP_ROUTER_SEED_DEMO: '0',
    VIP_ROUTER_API_URL: apiUrl,
    LOG_LEVEL: 'warn',
  };
  const api = launch('api', process.execPath, ['--import', 'tsx', 'src/api/server.ts'], { cwd: REPO_ROOT, env: {
    ...env,
    ...temporal.apiEnv,
    PORT: String(port),
    RESPONDIO_WEBHOOK_SIGNING_KEYS: SIGNING_KEY,
    VIP_ROUTER_RATE_LIMIT: '1000000/1s',
  } });
  stops.push(async () => {
    api.child.kill('SIGTERM');
    await api.exited;
  });
  const workerEnv = { ...env, ...temporal.workerEnv, VIP_ROUTER_API_KEY: workerKey, BENCH_WORKFLOW_BUNDLE: routingBundle, BENCH_REFERENCE_BUNDLE: referenceBundle };
  let worker = launch('worker', process.execPath, ['--import', 'tsx', 'scripts/bench/worker.ts'], { cwd: REPO_ROOT, env: workerEnv });
  stops.push(async () => {
    worker.child.kill('SIGTERM');
    await worker.exited;
  });
  await waitForLine(worker, 'bench worker running', 'the bench worker');
  const deadline = Date.now() + 60_000;
  while ((await fetch(`${apiUrl}/readyz`).then((r) => r.status, () => 0)) !== 200) {
    if (api.exit || Date.now() > deadline) throw new Error(`the API did not start:\n${api.output()}`);
    await new Promise((tick) => setTimeout(tick, 100));
  }

  const temporalPid = async () => {
    if (temporal.pids) return temporal.pids();
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
      if (cmdline.includes('start-dev') && cmdline.includes(temporalDb)) return [Number(entry)];
    }
    return [];
  };

  return {
    db,
    databaseUrl: postgres.url,
    temporal: temporal.connection,
    apiUrl,
    adminKey,
    codecKeys,
    worker: () => worker,
    async pids() {
      return { worker: [worker.child.pid!], api: [api.child.pid!], temporal: await temporalPid(), postgres: await processesUnder(pgDir) };
    },
    async restartWorker() {
      worker.child.kill('SIGTERM');
      await worker.exited;
      worker = launch('worker', process.execPath, ['--import', 'tsx', 'scripts/bench/worker.ts'], { cwd: REPO_ROOT, env: workerEnv });
      await waitForLine(worker, 'bench worker running', 'the bench worker');
    },
    async stop() {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
    },
  };
}

/** CPU seconds a process has used, its own and its waited-for children's (postgres' backends come and go). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  if (!stat) return 0;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime, stime, cutime, cstime: fields 14–17 of proc(5), 12–15 after the command name.
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / 100;
}

/** Resident set size of a process, in bytes. */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : 0;
}

interface BenchTemporal {
  connection: TemporalConnectionOptions;
  /** TEMPORAL_ADDRESS and, on the cluster, the TLS settings of the bench's worker and of its API (each its own certificate). */
  workerEnv: Record<string, string>;
  apiEnv: Record<string, string>;
  stop(): Promise<void>;
  /** The server's processes, when they are ours to name (the cluster's four). */
  pids?: () => number[];
}

async function startDevServer(dbFile: string, log: (line: string) => void): Promise<BenchTemporal> {
  const server = await startTemporalDevServer({ binary: await temporalCliPath(log), dbFile, searchAttributes: ROUTING_SEARCH_ATTRIBUTES });
  return { connection: { address: server.address, tls: false }, workerEnv: { TEMPORAL_ADDRESS: server.address }, apiEnv: { TEMPORAL_ADDRESS: server.address }, stop: () => server.stop() };
}

/** `--cluster`: Temporal's four services as processes, persisting to the bench's PostgreSQL (npm run cluster's). */
async function startClusterServer(scratch: string, postgresUrl: string, log: (line: string) => void): Promise<BenchTemporal> {
  const url = new URL(postgresUrl);
  const cluster = await startTemporalCluster({
    parts: await resolveTemporalServer(log),
    dir: join(scratch, 'temporal-cluster'),
    postgres: { host: url.hostname, port: Number(url.port), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) },
    cli: await temporalCliPath(log),
    log,
  });
  return { connection: cluster.connection, workerEnv: cluster.workerEnv, apiEnv: cluster.apiEnv, stop: () => cluster.stop(), pids: () => TEMPORAL_SERVICES.map((service) => cluster.process(service).child.pid!) };
}
