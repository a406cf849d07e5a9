import fs from 'node:fs/promises';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import type { TemporalConnectionOptions } from '../temporal/connection';
import { findFreePort } from './ports';
import { launch, recordChild, stopOrphan, waitUntil } from './processes';

type SearchAttributeKind = 'Text' | 'Keyword' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

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
  /**
   * Its own process group, stopped by stop() only: a terminal's Ctrl-C then reaches the caller alone, who stops
   * what uses the server first. A server left by a caller killed outright is stopped at the next start on `dbFile`.
   */
  detached?: boolean;
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
const READY_PROBE_TIMEOUT_MS = 2_000;

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

  const pidFile = opts.detached && opts.dbFile ? `${path.resolve(opts.dbFile)}.pid` : undefined;
  if (pidFile) await stopOrphan(pidFile, STOP_GRACE_MS);
  const child = launch('temporal dev server', opts.binary, args, {
    detached: opts.detached,
    keepChars: OUTPUT_TAIL_CHARS,
    onLine: (line) => line.trim() && log(line),
    killOnExit: 'SIGTERM',
  });
  const forget = pidFile ? await recordChild(pidFile, child, opts.binary) : async () => undefined;
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= child.stop(STOP_GRACE_MS).then(forget));

  // The probe loop only notices an exit between probes; racing the exit reports it at once.
  const exited = child.exited.then(async () => {
    await child.closed;
    const tail = child.output().trim();
    throw new Error(`temporal dev server ${child.gone()} before becoming ready${tail ? `:\n${tail}` : ''}`);
  });
  const ready = waitUntilServing(address, namespace, opts.readyTimeoutMs ?? READY_TIMEOUT_MS, child.gone);
  // Whichever of the two loses the race still settles; it must not surface as an unhandled rejection.
  ready.catch(() => undefined);
  exited.catch(() => undefined);
  try {
    await Promise.race([ready, exited]);
  } catch (err) {
    await stop();
    throw err;
  }

  return { address, namespace, uiUrl: uiPort === undefined ? undefined : `http://${ip}:${uiPort}`, stop };
}

/**
 * Resolves once the Temporal frontend at `target` (an address, or connection options with TLS) answers for
 * `namespace` (`temporal-system` exists on any server, before a namespace of ours is registered). `gone` names a
 * reason to give up early, e.g. that the server exited.
 */
export async function waitUntilServing(
  target: string | TemporalConnectionOptions,
  namespace: string,
  timeoutMs: number,
  gone: () => string | undefined = () => undefined,
): Promise<void> {
  const options = typeof target === 'string' ? { address: target } : target;
  await waitUntil(
    `Temporal at ${options.address} serving namespace ${namespace}`,
    async () => {
      const connection = await Connection.connect({ ...options, connectTimeout: READY_PROBE_TIMEOUT_MS });
      try {
        await connection.withDeadline(Date.now() + READY_PROBE_TIMEOUT_MS, () => connection.workflowService.describeNamespace({ namespace }));
        return true;
      } finally {
        await connection.close().catch(() => undefined);
      }
    },
    { timeoutMs, gone },
  );
}
