import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import type { DataConverter, HistoryAndWorkflowId } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { temporalTarget } from '../cli/local';
import type { Env } from '../service/config';
import { ConfigError } from '../domain/routing-config';
import { type AesGcmCodec, CodecError, ENCRYPTED_ENCODING, METADATA_KEY_ID } from '../security/codec';
import { decodeHistoryPayloads } from '../security/history';
import { dataConverter, FAILURE_CONVERTER_PATH, payloadCodec, temporalConnection } from '../service/compose';
import { prebuiltWorkflowBundle } from '../worker';
import { type Divergence, eventIdNamedIn, explainNondeterminism, startAttributes } from './divergence';

/**
 * Replaying a recorded history against today's workflow code, and saying in plain words where and how the code
 * decides differently. Used by `npm run replay` and `npm run debug-replay`.
 */

export type History = temporal.api.history.v1.IHistory;
const { History: HistoryMessage } = temporal.api.history.v1;
const { EventType } = temporal.api.enums.v1;

/** A history that cannot be read, parsed or decrypted (the command's exit 2). Names key ids, never keys. */
export class HistoryLoadError extends Error {
  override name = 'HistoryLoadError';
}

/** Where a command line says the history is: a file, or a run on the Temporal server. */
export type HistorySource = { file: string } | { workflowId: string; runId?: string };

/**
 * `--file <path>` or `--workflow-id <id> [--run-id <id>]`; otherwise the command's exit code, once the usage is
 * printed: 0 for --help, 2 for a wrong command line.
 */
export function historySourceFromArgs(argv: string[], usage: string): HistorySource | number {
  let values: { file?: string; 'workflow-id'?: string; 'run-id'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { file: { type: 'string' }, 'workflow-id': { type: 'string' }, 'run-id': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  const { file, 'workflow-id': workflowId, 'run-id': runId, help } = values;
  if (help) {
    console.log(usage);
    return 0;
  }
  if (file && !workflowId && !runId) return { file };
  if (workflowId && !file) return { workflowId, runId };
  console.error(`give either --file <history.json> or --workflow-id <id> [--run-id <id>]\n\n${usage}`);
  return 2;
}

const GRPC_NOT_FOUND = 5;

/** The history a command line names: read from the file, or fetched from the server an operator command talks to. */
export async function loadHistory(source: HistorySource, env: Env): Promise<LoadedHistory> {
  if ('file' in source) return loadHistoryFile(source.file);
  const target = await temporalTarget(env).catch((error: Error) => {
    throw new HistoryLoadError(error.message);
  });
  const where = `namespace ${target.namespace} on ${target.temporalAddress}`;
  const connection = await Connection.connect(temporalConnection(env, target.temporalAddress)).catch((error: Error) => {
    throw new HistoryLoadError(`cannot reach Temporal (${where}): ${error.message}`);
  });
  try {
    // Asked raw: nothing of the run (its memo is encrypted too) is decoded before the replay's data converter does it.
    await connection.workflowService.describeWorkflowExecution({
      namespace: target.namespace,
      execution: { workflowId: source.workflowId, runId: source.runId },
    });
    const handle = new Client({ connection, namespace: target.namespace }).workflow.getHandle(source.workflowId, source.runId);
    return { history: await handle.fetchHistory(), workflowId: source.workflowId };
  } catch (error) {
    if ((error as { code?: number }).code === GRPC_NOT_FOUND) {
      throw new HistoryLoadError(`no workflow ${source.workflowId}${source.runId ? ` with run ${source.runId}` : ''} in ${where}`);
    }
    throw error;
  } finally {
    await connection.close();
  }
}

/** The keys operator commands use: VIP_ROUTER_CODEC_KEYS(_FILE), else the data dir's file that `npm start` keeps. */
export function operatorCodec(env: Env): () => Promise<AesGcmCodec> {
  return async () => (await payloadCodec({ dataDir: env.VIP_ROUTER_DATA_DIR, generate: false })).codec;
}

export interface LoadedHistory {
  history: History;
  /** From the start event (recent servers record it there); else what the caller named the history. */
  workflowId: string;
}

/**
 * A history as Temporal UI downloads it ("Encoded" or "Decoded") or `temporal workflow show -o json` prints it:
 * `{ "events": [...] }`, or the bare array of events that exports made before 2022.
 */
export async function loadHistoryFile(path: string): Promise<LoadedHistory> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new HistoryLoadError(`cannot read ${path}: ${error.code ?? error.message}`);
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new HistoryLoadError(`${path} is not JSON: ${(error as Error).message}`);
  }
  return parseHistoryExport(json, basename(path, '.json'));
}

export function parseHistoryExport(json: unknown, name: string): LoadedHistory {
  const exported = Array.isArray(json) ? { events: json } : json;
  const events = (exported as { events?: unknown } | null)?.events;
  if (!Array.isArray(events) || events.length === 0) {
    throw new HistoryLoadError(`${name} holds no history events: expected { "events": [...] } as Temporal UI or temporal workflow show -o json export it`);
  }
  if (!payloadsAreRaw(events)) {
    throw new HistoryLoadError(
      `${name} holds payloads as readable JSON (Temporal UI's "Readable" download), which cannot be replayed: download it as "Encoded" or "Decoded"`,
    );
  }
  let history: History;
  try {
    history = historyFromJSON(exported);
  } catch (error) {
    throw new HistoryLoadError(`${name} is not a Temporal history: ${(error as Error).message}`);
  }
  return { history, workflowId: startAttributes(history)?.workflowId || name };
}

/** Replayable payloads are `{ metadata: { encoding: <base64> }, data: <base64> }`; readable ones are plain values. */
function payloadsAreRaw(events: unknown[]): boolean {
  const base64Ascii = (value: unknown) => typeof value === 'string' && /^[\x20-\x7e]+$/.test(Buffer.from(value, 'base64').toString('latin1'));
  let raw = true;
  const walk = (node: unknown, key?: string): void => {
    if (!raw || node === null || typeof node !== 'object') return;
    if (key === 'payloads' && Array.isArray(node)) {
      raw = node.every((p) => {
        const metadata = (p as { metadata?: Record<string, unknown> } | null)?.metadata;
        return base64Ascii(metadata?.['encoding']) && ['string', 'undefined'].includes(typeof (p as { data?: unknown }).data);
      });
      return;
    }
    for (const [k, v] of Object.entries(node)) walk(v, k);
  };
  walk(events);
  return raw;
}

/** The ids of the codec keys that encrypted the history's payloads. */
export function encryptionKeyIds(history: History): string[] {
  const ids = new Set<string>();
  const walk = (node: unknown): void => {
    if (node === null || typeof node !== 'object' || node instanceof Uint8Array) return;
    const metadata = (node as { metadata?: Record<string, unknown> }).metadata;
    const encoding = metadata?.['encoding'];
    if (encoding instanceof Uint8Array && Buffer.from(encoding).toString() === ENCRYPTED_ENCODING) {
      const keyId = metadata?.[METADATA_KEY_ID];
      ids.add(keyId instanceof Uint8Array ? Buffer.from(keyId).toString() : '(none)');
      return;
    }
    Object.values(node).forEach(walk);
  };
  walk(history.events);
  return [...ids].sort();
}

/**
 * The codec a history needs: none when nothing in it is encrypted; otherwise the loaded keys, checked to decrypt
 * every payload, so a missing or changed key is reported before replaying rather than as a failed workflow task.
 */
export async function codecForHistory(history: History, loadCodec: () => Promise<AesGcmCodec>): Promise<AesGcmCodec | undefined> {
  const keyIds = encryptionKeyIds(history);
  if (keyIds.length === 0) return undefined;
  const named = keyIds.map((id) => `"${id}"`).join(', ');
  const codec = await loadCodec().catch((error: unknown) => {
    if (error instanceof ConfigError) throw new HistoryLoadError(`the history's payloads are encrypted with key ${named} and no key can decrypt them: ${error.message}`);
    throw error;
  });
  const missing = keyIds.filter((id) => !codec.keyIds.includes(id));
  if (missing.length > 0) {
    throw new HistoryLoadError(
      `the history's payloads are encrypted with key ${missing.map((id) => `"${id}"`).join(', ')}, which is not among the codec keys loaded ` +
        `(${codec.keyIds.join(', ')}): add it to VIP_ROUTER_CODEC_KEYS, or download the history decoded`,
    );
  }
  try {
    await decodeHistoryPayloads(HistoryMessage.decode(HistoryMessage.encode(history).finish()), codec);
  } catch (error) {
    if (error instanceof CodecError) throw new HistoryLoadError(`the history cannot be decrypted: ${error.message}`);
    throw error;
  }
  return codec;
}

/** What replaying needs to read the history: the codec's keys, when it is encrypted, and the failure converter. */
export function replayDataConverter(codec?: AesGcmCodec): DataConverter {
  return codec ? dataConverter(codec) : { failureConverterPath: FAILURE_CONVERTER_PATH };
}

export interface ReplayOptions {
  workflowId: string;
  codec?: AesGcmCodec;
  /** A prebuilt bundle; by default the one `npm run build` wrote beside compiled code, else the source is bundled. */
  workflowBundlePath?: string;
}

export type ReplayVerdict =
  | { outcome: 'same' }
  | { outcome: 'nondeterministic'; divergence: Divergence }
  /** The code threw while replaying (not a nondeterminism): a workflow task failed. */
  | { outcome: 'failed'; message: string };

/**
 * Replays the history on the current workflow code. On a nondeterminism whose message names no event (Core names
 * the activity types, not the event), shorter prefixes of the history are replayed by the same worker to find the
 * workflow task whose commands differ: a prefix cut at a task's start replays every task before it.
 */
export async function replayHistory(history: History, options: ReplayOptions): Promise<ReplayVerdict> {
  const events = history.events ?? [];
  const taskStarts = events.flatMap((e, i) => (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED ? [i] : []));
  const bundle = options.workflowBundlePath ?? prebuiltWorkflowBundle();
  const workerOptions: ReplayWorkerOptions = {
    dataConverter: replayDataConverter(options.codec),
    ...(bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath: require.resolve('../workflows') }),
  };
  const errors: Array<Error | undefined> = [];
  let divergingTaskStart: number | undefined;
  async function* attempts(): AsyncGenerator<HistoryAndWorkflowId> {
    yield { workflowId: options.workflowId, history };
    const first = errors[0];
    if (!(first instanceof DeterminismViolationError) || eventIdNamedIn(first.message) !== undefined) return;
    // Task k's commands are checked by the prefix cut at task k+1's start; the whole history checks the last task.
    const cut = (k: number) => (k + 1 < taskStarts.length ? taskStarts[k + 1]! + 1 : events.length);
    let [low, high] = [0, Math.max(taskStarts.length - 1, 0)];
    while (low < high) {
      const mid = (low + high) >> 1;
      yield { workflowId: options.workflowId, history: { events: events.slice(0, cut(mid)) } };
      if (errors.at(-1)) high = mid;
      else low = mid + 1;
    }
    divergingTaskStart = taskStarts[low];
  }
  for await (const result of Worker.runReplayHistories(workerOptions, attempts())) errors.push(result.error);

  const error = errors[0];
  if (!error) return { outcome: 'same' };
  if (error instanceof DeterminismViolationError) return { outcome: 'nondeterministic', divergence: explainNondeterminism(error, history, divergingTaskStart) };
  return { outcome: 'failed', message: error.message };
}
