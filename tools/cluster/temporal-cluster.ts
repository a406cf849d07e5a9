import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { TemporalConnectionOptions } from '../../src/temporal/connection';
import { ROUTING_SEARCH_ATTRIBUTES } from '../../src/workflows/search-attributes';
import { clusterPki, type ClusterPki, FRONTEND_SERVER_NAME, INTERNODE_SERVER_NAME } from '../pki';
import { findFreePortBetween } from '../../src/local/ports';
import { launch as launchProcess, type Launched, waitUntil } from '../../src/local/processes';
import { waitUntilServing } from '../../src/local/temporal-dev-server';
import type { TemporalServerParts } from './temporal-server';
import { REPO_ROOT } from '../repo';

const execFileAsync = promisify(execFile);

/** Temporal's four services, each its own process, as a production deployment runs them. */
export const TEMPORAL_SERVICES = ['history', 'matching', 'frontend', 'worker'] as const;
type TemporalService = (typeof TEMPORAL_SERVICES)[number];

/** The scripts and the dynamic config docker-compose.yml runs too: one definition of how the cluster is set up. */
export const TEMPORAL_DEPLOY_DIR = path.join(REPO_ROOT, 'deploy', 'temporal');

/**
 * The server is configured the way its container image is: no config file, its built-in config template filled from
 * the environment. These settings are the same in docker-compose.yml (test/deploy/compose.test.ts holds it to them);
 * hosts, ports, passwords and certificate paths are each deployment's own.
 */
export const TEMPORAL_SERVER_SETTINGS = {
  DB: 'postgres12',
  DBNAME: 'temporal',
  VISIBILITY_DBNAME: 'temporal_visibility',
  // Fixed for the life of a cluster: see the README's sizing notes before choosing another for a new one.
  NUM_HISTORY_SHARDS: '4',
  // Per service process: history needs the most; PostgreSQL's max_connections must cover the sum.
  SQL_MAX_CONNS: '20',
  SQL_MAX_IDLE_CONNS: '20',
  SQL_VIS_MAX_CONNS: '10',
  SQL_VIS_MAX_IDLE_CONNS: '10',
  // mTLS is the authentication: the frontend and every service require a certificate from the cluster's CA, and each
  // client component has its own. No authorizer on top: the open-source server authorizes by JWT claims only, which
  // needs an identity provider (README: "Temporal UI behind your SSO" shows the settings for one).
  TEMPORAL_ALLOW_NO_AUTH: 'true',
  TEMPORAL_TLS_REQUIRE_CLIENT_AUTH: 'true',
  TEMPORAL_TLS_FRONTEND_SERVER_NAME: FRONTEND_SERVER_NAME,
  TEMPORAL_TLS_INTERNODE_SERVER_NAME: INTERNODE_SERVER_NAME,
} as const;

/** The most connections the four services can open to PostgreSQL: each its own pools (persistence and visibility). */
export const TEMPORAL_MAX_DATABASE_CONNECTIONS =
  TEMPORAL_SERVICES.length * (Number(TEMPORAL_SERVER_SETTINGS.SQL_MAX_CONNS) + Number(TEMPORAL_SERVER_SETTINGS.SQL_VIS_MAX_CONNS));

/** The routing search attributes as deploy/temporal/create-namespace.sh takes them (TEMPORAL_SEARCH_ATTRIBUTES). */
export const SEARCH_ATTRIBUTES_SETTING = Object.entries(ROUTING_SEARCH_ATTRIBUTES)
  .map(([name, type]) => `${name}=${type}`)
  .join(',');

const READY_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 10_000;

export interface TemporalClusterOptions {
  parts: TemporalServerParts;
  /** Where the certificates and each service's log go (kept across restarts). */
  dir: string;
  /** The PostgreSQL that holds the `temporal` and `temporal_visibility` databases (made here when missing). */
  postgres: { host: string; port: number; user: string; password: string };
  /** The Temporal CLI, which registers the namespace (deploy/temporal/create-namespace.sh). */
  cli: string;
  namespace?: string;
  log?: (line: string) => void;
}

export interface TemporalCluster {
  /** The frontend's gRPC address, what TEMPORAL_ADDRESS names. */
  address: string;
  /** How the cluster's own checks connect, with the admin certificate (SDK options). */
  connection: TemporalConnectionOptions;
  /** vip-router's TEMPORAL_* settings for its workers, with the worker's certificate. */
  workerEnv: Record<string, string>;
  /** The same for its APIs, with the API's certificate. */
  apiEnv: Record<string, string>;
  /** The Temporal CLI's settings (the namespace job, an operator), with the admin certificate. */
  cliEnv: Record<string, string>;
  pki: ClusterPki;
  /** Each service's process, to kill and restart in tests. */
  process(service: TemporalService): Launched;
  restart(service: TemporalService): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The cluster's certificates (made once in `dir/pki`), PostgreSQL persistence and visibility set up by
 * deploy/temporal/setup-schema.sh, the four services started one process each with mTLS on the frontend and between
 * them, and the namespace registered by deploy/temporal/create-namespace.sh; resolves once it serves.
 */
export async function startTemporalCluster(options: TemporalClusterOptions): Promise<TemporalCluster> {
  const log = options.log ?? (() => undefined);
  const namespace = options.namespace ?? 'default';
  await fs.mkdir(options.dir, { recursive: true });
  const pki = await clusterPki(path.join(options.dir, 'pki'));
  await runDeployScript('setup-schema.sh', { ...databaseEnv(options.postgres), SQL_TOOL: options.parts.sqlTool });
  const ports = await servicePorts();
  const env = serverEnv(options.postgres, ports, pki);

  const processes = new Map<TemporalService, Launched>();
  const stopping = new Set<TemporalService>();
  const launch = (service: TemporalService) => {
    const logFile = path.join(options.dir, `${service}.log`);
    const child = launchProcess(`temporal ${service}`, options.parts.server, ['start', '--service', service], { env, logFile, keepChars: 0 });
    void child.exited.then(() => {
      if (!stopping.has(service)) log(`temporal ${service} ${child.gone()}; its log: ${logFile}`);
    });
    processes.set(service, child);
  };
  const address = `127.0.0.1:${ports.frontend.grpc}`;
  const connection: TemporalConnectionOptions = {
    address,
    tls: {
      serverNameOverride: FRONTEND_SERVER_NAME,
      serverRootCACertificate: await fs.readFile(pki.ca),
      clientCertPair: { crt: await fs.readFile(pki.admin.cert), key: await fs.readFile(pki.admin.key) },
    },
  };
  const { workerEnv, apiEnv, cliEnv } = clientEnvs(address, namespace, pki);
  const stopOne = async (service: TemporalService) => {
    const child = processes.get(service);
    if (!child) return;
    stopping.add(service);
    await child.stop(STOP_GRACE_MS);
    stopping.delete(service);
  };
  const cluster: TemporalCluster = {
    address,
    connection,
    workerEnv,
    apiEnv,
    cliEnv,
    pki,
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
    // Each service writes the cluster's metadata record when it finds none: started together on a new database, all
    // but one fail on the duplicate key and exit. The first writes it alone, then the others start.
    const [first, ...others] = TEMPORAL_SERVICES;
    launch(first);
    await waitForClusterMetadata(options.postgres, () => processes.get(first)!, path.join(options.dir, `${first}.log`));
    for (const service of others) launch(service);
    await runDeployScript('create-namespace.sh', { ...cliEnv, TEMPORAL_CLI: options.cli, TEMPORAL_NAMESPACE: namespace, TEMPORAL_SEARCH_ATTRIBUTES: SEARCH_ATTRIBUTES_SETTING });
    // A new namespace reaches every frontend's cache within seconds; wait until it serves.
    await waitUntilServing(connection, namespace, READY_TIMEOUT_MS);
  } catch (error) {
    await cluster.stop();
    throw new Error(`${(error as Error).message}; logs in ${options.dir}`, { cause: error });
  }
  log(`temporal cluster: ${TEMPORAL_SERVICES.join(', ')} running as 4 processes, frontend ${address} (mTLS), namespace ${namespace}`);
  return cluster;
}

export type Ports = Record<TemporalService, { grpc: number; membership: number }> & { frontendHttp: number };

/**
 * The environments the cluster gives its clients: vip-router's workers and APIs, and the Temporal CLI (as admin).
 * This and the two below are exported for docker-compose.yml's test, which holds the containers to them.
 */
export function clientEnvs(address: string, namespace: string, pki: ClusterPki): Record<'workerEnv' | 'apiEnv' | 'cliEnv', Record<string, string>> {
  const vipRouter = (certificate: { cert: string; key: string }) => ({
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: namespace,
    TEMPORAL_TLS_CERT: certificate.cert,
    TEMPORAL_TLS_KEY: certificate.key,
    TEMPORAL_TLS_CA: pki.ca,
    TEMPORAL_TLS_SERVER_NAME: FRONTEND_SERVER_NAME,
  });
  return {
    workerEnv: vipRouter(pki.worker),
    apiEnv: vipRouter(pki.api),
    cliEnv: {
      TEMPORAL_ADDRESS: address,
      TEMPORAL_TLS_CLIENT_CERT_PATH: pki.admin.cert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: pki.admin.key,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.ca,
      TEMPORAL_TLS_SERVER_NAME: FRONTEND_SERVER_NAME,
    },
  };
}

/** What Temporal's schema tool and its services need to reach their PostgreSQL. */
export function databaseEnv(postgres: TemporalClusterOptions['postgres']): Record<string, string> {
  return {
    POSTGRES_SEEDS: postgres.host,
    DB_PORT: String(postgres.port),
    POSTGRES_USER: postgres.user,
    POSTGRES_PWD: postgres.password,
    DBNAME: TEMPORAL_SERVER_SETTINGS.DBNAME,
    VISIBILITY_DBNAME: TEMPORAL_SERVER_SETTINGS.VISIBILITY_DBNAME,
  };
}

/** Only what the config template reads (and PATH/HOME): nothing of the caller's environment leaks into it. */
export function serverEnv(postgres: TemporalClusterOptions['postgres'], ports: Ports, pki: ClusterPki): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    ...TEMPORAL_SERVER_SETTINGS,
    ...databaseEnv(postgres),
    LOG_LEVEL: 'warn',
    DYNAMIC_CONFIG_FILE_PATH: path.join(TEMPORAL_DEPLOY_DIR, 'dynamicconfig.yaml'),
    BIND_ON_IP: '127.0.0.1',
    TEMPORAL_BROADCAST_ADDRESS: '127.0.0.1',
    FRONTEND_GRPC_PORT: String(ports.frontend.grpc),
    FRONTEND_HTTP_PORT: String(ports.frontendHttp),
    FRONTEND_MEMBERSHIP_PORT: String(ports.frontend.membership),
    HISTORY_GRPC_PORT: String(ports.history.grpc),
    HISTORY_MEMBERSHIP_PORT: String(ports.history.membership),
    MATCHING_GRPC_PORT: String(ports.matching.grpc),
    MATCHING_MEMBERSHIP_PORT: String(ports.matching.membership),
    WORKER_GRPC_PORT: String(ports.worker.grpc),
    WORKER_MEMBERSHIP_PORT: String(ports.worker.membership),
    TEMPORAL_TLS_SERVER_CA_CERT: pki.ca,
    TEMPORAL_TLS_SERVER_CERT: pki.internode.cert,
    TEMPORAL_TLS_SERVER_KEY: pki.internode.key,
    TEMPORAL_TLS_FRONTEND_CERT: pki.frontend.cert,
    TEMPORAL_TLS_FRONTEND_KEY: pki.frontend.key,
    TEMPORAL_TLS_CLIENT1_CA_CERT: pki.ca,
    TEMPORAL_TLS_CLIENT2_CA_CERT: pki.ca,
  };
}

/** Resolves once the `temporal` database holds the cluster's metadata record; fails if `writer` exits first. */
async function waitForClusterMetadata(postgres: TemporalClusterOptions['postgres'], writer: () => Launched, logFile: string): Promise<void> {
  const db = new pg.Client({ host: postgres.host, port: postgres.port, user: postgres.user, password: postgres.password, database: TEMPORAL_SERVER_SETTINGS.DBNAME });
  await db.connect();
  try {
    await waitUntil('writing the cluster metadata', async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM cluster_metadata_info')).rows[0]!.n > 0, {
      timeoutMs: READY_TIMEOUT_MS,
      intervalMs: 250,
      gone: () => (writer().gone() ? `the first Temporal service ${writer().gone()}` : undefined),
      detail: () => `its log: ${logFile}`,
    });
  } finally {
    await db.end();
  }
}

async function runDeployScript(script: string, env: Record<string, string>): Promise<void> {
  try {
    await execFileAsync('sh', [path.join(TEMPORAL_DEPLOY_DIR, script)], { env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env }, timeout: 240_000 });
  } catch (error) {
    const e = error as Error & { stderr?: string; stdout?: string };
    throw new Error(`deploy/temporal/${script} failed: ${(e.stderr || e.stdout || e.message).trim()}`, { cause: error });
  }
}

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
