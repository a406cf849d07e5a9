import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify as toYaml } from 'yaml';
import { findFreePortBetween } from './ports';
import { stopChild, waitUntilServing } from './processes';
import type { TemporalServerParts } from './temporal-server';

const execFileAsync = promisify(execFile);

/** Temporal's four services, each its own process, as a production deployment runs them. */
export const TEMPORAL_SERVICES = ['history', 'matching', 'frontend', 'worker'] as const;
export type TemporalService = (typeof TEMPORAL_SERVICES)[number];

const HISTORY_SHARDS = 4;
const READY_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 10_000;

export interface TemporalClusterOptions {
  parts: TemporalServerParts;
  /** Where the config and each service's log go. */
  dir: string;
  /** The PostgreSQL that holds the `temporal` and `temporal_visibility` databases (made here when missing). */
  postgres: { host: string; port: number; user: string; password: string };
  log?: (line: string) => void;
}

export interface TemporalCluster {
  /** The frontend's gRPC address, what TEMPORAL_ADDRESS names. */
  address: string;
  /** Each service's process, to kill and restart in tests. */
  process(service: TemporalService): ChildProcess;
  restart(service: TemporalService): Promise<void>;
  stop(): Promise<void>;
}

/**
 * PostgreSQL persistence and visibility set up with the schema tool (idempotent: an existing schema is brought up
 * to date), a config shaped like the server's `development-postgres12.yaml` with free ports, and the four services
 * started one process each; resolves once the frontend answers.
 */
export async function startTemporalCluster(options: TemporalClusterOptions): Promise<TemporalCluster> {
  const log = options.log ?? (() => undefined);
  await fs.mkdir(options.dir, { recursive: true });
  await setUpSchema(options);
  const ports = await servicePorts();
  const configFile = path.join(options.dir, 'temporal.yaml');
  await fs.writeFile(configFile, toYaml(clusterConfig(options, ports, path.join(options.dir, 'dynamicconfig.yaml'))));
  await fs.writeFile(path.join(options.dir, 'dynamicconfig.yaml'), toYaml(DYNAMIC_CONFIG));

  const processes = new Map<TemporalService, ChildProcess>();
  const stopping = new Set<TemporalService>();
  const launch = (service: TemporalService) => {
    const out = createWriteStream(path.join(options.dir, `${service}.log`), { flags: 'a' });
    const child = spawn(options.parts.server, ['--config-file', configFile, '--allow-no-auth', 'start', '--service', service], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(out);
    child.stderr.pipe(out);
    child.once('exit', (code, signal) => {
      if (!stopping.has(service)) log(`temporal ${service} exited (${signal ?? code}); its log: ${path.join(options.dir, `${service}.log`)}`);
    });
    processes.set(service, child);
  };
  for (const service of TEMPORAL_SERVICES) launch(service);
  const address = `127.0.0.1:${ports.frontend.grpc}`;
  const stopOne = async (service: TemporalService) => {
    const child = processes.get(service);
    if (!child) return;
    stopping.add(service);
    await stopChild(child, STOP_GRACE_MS);
    stopping.delete(service);
  };
  const cluster: TemporalCluster = {
    address,
    process: (service) => processes.get(service)!,
    async restart(service) {
      await stopOne(service);
      launch(service);
    },
    async stop() {
      for (const service of [...TEMPORAL_SERVICES].reverse()) await stopOne(service);
    },
  };
  try {
    // temporal-system exists on any server: it answers before a namespace of ours is registered.
    await waitUntilServing(address, 'temporal-system', READY_TIMEOUT_MS);
  } catch (error) {
    await cluster.stop();
    throw new Error(`${(error as Error).message}; logs in ${options.dir}`, { cause: error });
  }
  log(`temporal cluster: ${TEMPORAL_SERVICES.join(', ')} running as 4 processes, frontend ${address}`);
  return cluster;
}

async function setUpSchema({ parts, postgres }: TemporalClusterOptions): Promise<void> {
  const base = ['--plugin', 'postgres12', '--ep', postgres.host, '-p', String(postgres.port), '-u', postgres.user, '--pw', postgres.password];
  for (const [database, schema] of [
    ['temporal', 'postgresql/v12/temporal'],
    ['temporal_visibility', 'postgresql/v12/visibility'],
  ] as const) {
    const tool = (...args: string[]) => execFileAsync(parts.sqlTool, [...base, '--db', database, ...args], { timeout: 120_000 });
    await tool('create-database').catch((error: { stderr?: string; message: string }) => {
      if (!/already exists/.test(`${error.stderr ?? ''}${error.message}`)) throw error;
    });
    // setup-schema -v 0.0 makes the version table only; on an existing schema it is refused, and update-schema follows either way.
    await tool('setup-schema', '-v', '0.0').catch(() => undefined);
    await tool('update-schema', '--schema-name', schema);
  }
}

type Ports = Record<TemporalService, { grpc: number; membership: number }> & { frontendHttp: number };

/** Temporal keeps membership ports in a smallint: every port below 32768, and distinct. */
async function servicePorts(): Promise<Ports> {
  const taken = new Set<number>();
  const port = async (): Promise<number> => {
    for (;;) {
      const candidate = await findFreePortBetween(20_000, 32_000);
      if (!taken.has(candidate)) return taken.add(candidate), candidate;
    }
  };
  const pair = async () => ({ grpc: await port(), membership: await port() });
  return { history: await pair(), matching: await pair(), frontend: await pair(), worker: await pair(), frontendHttp: await port() };
}

function clusterConfig({ postgres }: TemporalClusterOptions, ports: Ports, dynamicConfigFile: string): Record<string, unknown> {
  const store = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${postgres.host}:${postgres.port}`,
      connectProtocol: 'tcp',
      user: postgres.user,
      password: postgres.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const rpc = (service: TemporalService) => ({
    rpc: {
      grpcPort: ports[service].grpc,
      membershipPort: ports[service].membership,
      bindOnLocalHost: true,
      ...(service === 'frontend' ? { httpPort: ports.frontendHttp } : {}),
    },
  });
  return {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: HISTORY_SHARDS,
      datastores: { 'postgres-default': store('temporal', 20), 'postgres-visibility': store('temporal_visibility', 10) },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' } },
    services: Object.fromEntries(TEMPORAL_SERVICES.map((service) => [service, rpc(service)])),
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `127.0.0.1:${ports.frontend.grpc}` } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: dynamicConfigFile, pollInterval: '10s' },
  };
}

/** Settings a small cluster needs: no throttling of a test's bursts, and search attributes usable at once. */
const DYNAMIC_CONFIG = {
  'frontend.enableUpdateWorkflowExecution': [{ value: true }],
  'system.forceSearchAttributesCacheRefreshOnRead': [{ value: true }],
  'frontend.namespaceRPS': [{ value: 10_000 }],
};
