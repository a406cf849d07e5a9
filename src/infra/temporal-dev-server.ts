import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { findFreePort } from './ports';
import { stopChild, waitUntilServing } from './processes';

export type SearchAttributeKind = 'Text' | 'Keyword' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

export type TemporalDevServerOptions = {
  /** Path to the `temporal` CLI executable (see `resolveTemporalBinary('cli')`). */
  binary: string;
  /** SQLite file that keeps workflow state across restarts; without it, state dies with the process. */
  dbFile?: string;
  /** gRPC frontend port; 0 or undefined picks a free one. */
  port?: number;
  /** Web UI port (0 picks a free one); null or undefined runs headless. */
  uiPort?: number | null;
  /** Address both the frontend and the UI bind to. */
  ip?: string;
  /** Created at launch besides "default", and the one readiness is checked against. */
  namespace?: string;
  searchAttributes?: Record<string, SearchAttributeKind>;
  /** A codec server the Web UI decodes payloads with (Temporal UI's remote codec protocol). */
  uiCodecEndpoint?: string;
  readyTimeoutMs?: number;
  log?: (line: string) => void;
};

export type TemporalDevServer = {
  address: string;
  namespace: string;
  uiUrl?: string;
  stop(): Promise<void>;
};

const DEFAULT_IP = '127.0.0.1';
const DEFAULT_NAMESPACE = 'default';
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;
const OUTPUT_TAIL_CHARS = 4_000;

export async function startTemporalDevServer(opts: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const ip = opts.ip ?? DEFAULT_IP;
  const namespace = opts.namespace ?? DEFAULT_NAMESPACE;
  const port = opts.port || (await findFreePort(ip));
  const uiPort = opts.uiPort == null ? undefined : opts.uiPort || (await findFreePort(ip));
  const address = `${ip}:${port}`;
  const log = opts.log ?? (() => undefined);

  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port), '--log-level', 'warn'];
  if (uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(uiPort));
  if (uiPort !== undefined && opts.uiCodecEndpoint) args.push('--ui-codec-endpoint', opts.uiCodecEndpoint);
  if (opts.dbFile) {
    await fs.mkdir(path.dirname(path.resolve(opts.dbFile)), { recursive: true });
    args.push('--db-filename', opts.dbFile);
  }
  if (namespace !== DEFAULT_NAMESPACE) args.push('--namespace', namespace);
  for (const [name, kind] of Object.entries(opts.searchAttributes ?? {})) {
    args.push('--search-attribute', `${name}=${kind}`);
  }

  const child = spawn(opts.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = captureOutput(child, log);
  let exitReason: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.on('error', (err) => {
      exitReason = `could not start ${opts.binary}: ${err.message}`;
      resolve();
    });
    child.on('exit', (code, signal) => {
      exitReason = `exited with ${signal ?? code}`;
      resolve();
    });
  });
  // Signals that kill the parent outright skip this; the terminal's Ctrl-C reaches the child through the shared
  // process group, and the service's own SIGINT/SIGTERM handlers are expected to call stop().
  const killOnExit = () => child.kill('SIGTERM');
  process.on('exit', killOnExit);

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      process.off('exit', killOnExit);
      if (exitReason !== undefined) return;
      await stopChild(child, STOP_GRACE_MS);
    })();
    return stopping;
  };

  const exitError = () => {
    const tail = output.tail();
    return new Error(`temporal dev server ${exitReason} before becoming ready${tail ? `:\n${tail}` : ''}`);
  };
  const ready = waitUntilServing(address, namespace, opts.readyTimeoutMs ?? READY_TIMEOUT_MS, () => {
    if (exitReason !== undefined) throw exitError();
  });
  // Whichever of the two loses the race still settles; it must not surface as an unhandled rejection.
  ready.catch(() => undefined);
  try {
    // The probe loop only notices an exit between probes; racing the exit reports it at once.
    await Promise.race([
      ready,
      exited.then(() => {
        throw exitError();
      }),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }

  return { address, namespace, uiUrl: uiPort === undefined ? undefined : `http://${ip}:${uiPort}`, stop };
}

function captureOutput(child: ChildProcess, log: (line: string) => void): { tail(): string } {
  let tail = '';
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      tail = `${tail}${line}\n`.slice(-OUTPUT_TAIL_CHARS);
      if (line.trim()) log(line);
    });
  }
  return { tail: () => tail.trim() };
}
