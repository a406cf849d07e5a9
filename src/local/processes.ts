import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import readline from 'node:readline';

/**
 * The one process launcher and the one polling wait of the repository: `npm start` runs its PostgreSQL and Temporal
 * dev server with them, the tools their cluster, and the tests the service's entries.
 */

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface LaunchOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /**
   * Its own process group: a terminal's Ctrl-C (SIGINT to the foreground group) does not reach it, so the parent
   * stops it when its turn comes. `process.kill(-pid, …)` signals the group.
   */
  detached?: boolean;
  uid?: number;
  gid?: number;
  /** stdout and stderr appended to this file as they come. */
  logFile?: string;
  /** Each line of stdout and stderr, as it comes. */
  onLine?: (line: string) => void;
  /** How much of the output `output()` keeps (the last characters); 1 MB unless said. */
  keepChars?: number;
  /**
   * Sent to it if this process exits first (process.exit, an uncaught error). A parent killed outright runs no
   * handler at all: see recordChild.
   */
  killOnExit?: NodeJS.Signals;
}

export interface Launched {
  name: string;
  child: ChildProcess;
  /** stdout and stderr so far (the last `keepChars`), interleaved. */
  output(): string;
  /** Resolves when the process has exited, or could not be started (then `startError` says why). */
  exited: Promise<Exit>;
  /** Resolves once its output is read to the end (after exited; later if a process it started holds its stdout). */
  closed: Promise<void>;
  /** Set once the process has exited. */
  exit?: Exit;
  startError?: Error;
  /** Why it is gone (`exited with SIGKILL`, `could not start …`), or undefined while it runs. */
  gone(): string | undefined;
  /** `signal` (SIGTERM unless said), then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs: number, signal?: NodeJS.Signals): Promise<void>;
}

const KEEP_CHARS = 1_000_000;

export function launch(name: string, command: string, args: string[], options: LaunchOptions = {}): Launched {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: options.detached ?? false,
    uid: options.uid,
    gid: options.gid,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keepChars = options.keepChars ?? KEEP_CHARS;
  let output = '';
  const file = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : undefined;
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.on('data', (chunk: Buffer) => {
      if (keepChars > 0) output = (output + chunk.toString('utf8')).slice(-keepChars);
      file?.write(chunk);
    });
    const onLine = options.onLine;
    if (onLine) readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => onLine(line));
  }
  const closed = new Promise<void>((done) => {
    child.once('close', () => done());
    child.once('error', () => child.pid === undefined && done());
  });
  void closed.then(() => file?.end());
  if (options.killOnExit) {
    const kill = () => child.kill(options.killOnExit);
    process.on('exit', kill);
    void closed.then(() => process.off('exit', kill));
  }
  const launched: Launched = {
    name,
    child,
    output: () => output,
    closed,
    exited: new Promise((done) => {
      child.once('error', (error) => {
        // Spawning failed (no such file, no permission): no 'exit' follows.
        if (child.pid !== undefined) return;
        launched.startError = error;
        launched.exit = { code: null, signal: null };
        done(launched.exit);
      });
      child.once('exit', (code, signal) => {
        launched.exit = { code, signal };
        done(launched.exit);
      });
    }),
    gone: () => {
      if (launched.startError) return `could not start ${command}: ${launched.startError.message}`;
      if (launched.exit) return `exited with ${launched.exit.signal ?? launched.exit.code}`;
      return undefined;
    },
    stop: (graceMs, signal = 'SIGTERM') => stopChild(child, graceMs, signal),
  };
  return launched;
}

/**
 * Runs `command` to its end: resolves with its output when it exits with 0, else fails with the output's last
 * `keepChars` (4,000 unless said). Killed after `timeoutMs`.
 */
export async function runToEnd(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs: number; keepChars?: number }): Promise<string> {
  const run = launch(command, command, args, { env: options.env, keepChars: options.keepChars ?? 4_000 });
  const timer = setTimeout(() => run.child.kill('SIGKILL'), options.timeoutMs);
  const exit = await run.exited;
  await run.closed;
  clearTimeout(timer);
  if (run.startError) throw new Error(`${command} could not start: ${run.startError.message}`, { cause: run.startError });
  if (exit.code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${exit.signal ?? exit.code}: ${run.output().trim()}`);
  return run.output();
}

/** `signal` (SIGTERM unless said), then SIGKILL after `graceMs`; resolves once the child has exited (at once if it has). */
async function stopChild(child: ChildProcess, graceMs: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill(signal);
  const escalation = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(escalation);
}

/** Thrown by a probe when waiting longer cannot help (say the process that should answer has exited): waitUntil fails at once. */
export class Hopeless extends Error {}

interface WaitOptions {
  timeoutMs: number;
  /** 200 ms unless said. */
  intervalMs?: number;
  /** A reason to give up at once (the process that should answer has exited), checked before each probe. */
  gone?: () => string | undefined;
  /** Added to the failure's message: what explains it (a process's output, the last state seen). */
  detail?: () => string;
}

/**
 * Calls `probe` until it answers a value other than undefined or false, and returns that value. A probe that throws
 * counts as not yet (its last error is shown if the deadline passes), unless it throws Hopeless.
 */
export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined | false>, options: WaitOptions): Promise<T> {
  const { timeoutMs, intervalMs = 200, gone = () => undefined, detail = () => '' } = options;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const reason = gone();
    if (reason) throw new Error(`${reason} before ${what}${suffix(detail())}`);
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      if (error instanceof Hopeless) throw new Error(`${what}: ${error.message}${suffix(detail())}`, { cause: error });
      last = error;
    }
    if (Date.now() > deadline) {
      const why = last === undefined ? '' : ` (last: ${last instanceof Error ? last.message : String(last)})`;
      throw new Error(`${what}: not within ${timeoutMs / 1000} s${why}${suffix(detail())}`, { cause: last });
    }
    await new Promise((tick) => setTimeout(tick, intervalMs));
  }
}

const suffix = (text: string) => (text ? `\n${text}` : '');

interface ChildRecord {
  parent: number;
  child: number;
  command: string;
}

/**
 * A detached child outlives a parent killed outright (SIGKILL, an abort of node itself). Its pid is kept in `file`
 * with its parent's, so the next start can stop what such a parent left (`stopOrphan`); the returned function
 * forgets it once it is stopped.
 */
export async function recordChild(file: string, launched: Launched, command: string): Promise<() => Promise<void>> {
  if (launched.child.pid === undefined) return async () => undefined;
  const record: ChildRecord = { parent: process.pid, child: launched.child.pid!, command };
  await writeFile(file, `${JSON.stringify(record)}\n`);
  return () => rm(file, { force: true });
}

/**
 * Stops the child recorded in `file` if its parent is gone and it still runs (the same program: a pid can be reused),
 * with `signal`, then SIGKILL after `graceMs`. A child whose parent still runs is left alone: it is in use.
 */
export async function stopOrphan(file: string, graceMs: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const record = await readFile(file, 'utf8').then(
    (text) => JSON.parse(text) as ChildRecord,
    () => undefined,
  );
  if (!record) return;
  if (isAlive(record.parent)) return;
  const cmdline = await readFile(`/proc/${record.child}/cmdline`, 'utf8').catch(() => '');
  if (cmdline.split('\0')[0] === record.command) {
    process.kill(record.child, signal);
    await waitUntil(`the orphaned ${record.command} (pid ${record.child}) to stop`, async () => !isAlive(record.child), { timeoutMs: graceMs }).catch(() => {
      if (isAlive(record.child)) process.kill(record.child, 'SIGKILL');
    });
  }
  await rm(file, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
