import { Client, type Connection } from '@temporalio/client';
import type { DataConverter, PayloadCodec } from '@temporalio/common';
import type { AgentSyncSettings } from '../activities';
import { webhookDedupeWindowMs } from '../domain/retention-windows';
import type { AppDeps } from '../api/app';
import type { Env } from './config';
import type { Logger } from '../observability/logger';
import { passRequestId } from '../observability/request-scope';
import { createRespondioClient, type RespondioClient } from '../respondio/client';
import { AesGcmCodec, loadCodecKeys, type LoadedCodecKeys } from '../security/codec';
import { temporalConnectionOptions, type TemporalConnectionOptions } from '../temporal/connection';

/** What the entries (npm start, the worker, the API) build alike from the environment. */

export function temporalConnection(env: Env, address: string): TemporalConnectionOptions {
  return temporalConnectionOptions(address, env);
}

/** Absolute, so the worker, the client and the workflow bundle all load the same converter. */
export const FAILURE_CONVERTER_PATH = require.resolve('../temporal/failure-converter');
/** The runs' interceptors (request ids and contacts on their log lines): in the bundle whether prebuilt or made at start. */
const WORKFLOW_INTERCEPTORS_PATH = require.resolve('../workflows/workflow-interceptors');

/** What a workflow bundle of the routing service is made of, prebuilt (npm run build, the tests) or made at start. */
export const ROUTING_BUNDLE = {
  workflowsPath: require.resolve('../workflows'),
  failureConverterPath: FAILURE_CONVERTER_PATH,
  workflowInterceptorModules: [WORKFLOW_INTERCEPTORS_PATH],
};

/** The API's Temporal client: the codec's data converter, and each request's id passed on in a header. */
export function apiClient(connection: Connection, env: Env, codec: AesGcmCodec): Client {
  return new Client({ connection, namespace: env.TEMPORAL_NAMESPACE, dataConverter: dataConverter(codec), interceptors: { workflow: [passRequestId] } });
}

/** Payloads (and failure texts) encrypted with the codec: the server's database never holds names, emails or messages. */
export function dataConverter(codec: PayloadCodec): DataConverter {
  return { payloadCodecs: [codec], failureConverterPath: FAILURE_CONVERTER_PATH };
}

export async function payloadCodec(options: { dataDir?: string; generate: boolean; env?: NodeJS.ProcessEnv }): Promise<{ codec: AesGcmCodec; keys: LoadedCodecKeys }> {
  const keys = await loadCodecKeys({ env: options.env ?? process.env, dataDir: options.dataDir, generate: options.generate });
  return { codec: new AesGcmCodec(keys.keys), keys };
}

/** The respond.io Developer API client, when a token is configured. */
export function respondioClient(env: Env): RespondioClient | undefined {
  return env.RESPONDIO_API_TOKEN ? createRespondioClient({ token: env.RESPONDIO_API_TOKEN, baseUrl: env.RESPONDIO_API_URL }) : undefined;
}

/** What the API takes from the environment: its task queue, the rate limit, respond.io's webhooks and platform, Temporal UI's address. */
export function apiSettings(env: Env): Pick<AppDeps, 'taskQueue' | 'rateLimit' | 'respondio' | 'temporalUiUrl' | 'inbox'> {
  return {
    inbox: { retentionMs: webhookDedupeWindowMs(env.VIP_ROUTER_TRANSCRIPT_RETENTION) },
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    rateLimit: env.VIP_ROUTER_RATE_LIMIT,
    respondio: { signingKeys: env.RESPONDIO_WEBHOOK_SIGNING_KEYS, platform: env.RESPONDIO_API_TOKEN ? 'respondio' : undefined },
    temporalUiUrl: env.TEMPORAL_UI_URL,
  };
}

export function agentSyncSettings(env: Env): AgentSyncSettings & { everyMs: number } {
  return {
    teamMap: env.RESPONDIO_TEAM_MAP,
    defaultTeam: env.RESPONDIO_DEFAULT_TEAM,
    newAgentsOnline: env.RESPONDIO_NEW_AGENTS_ONLINE === '1',
    everyMs: env.RESPONDIO_AGENT_SYNC_INTERVAL,
  };
}

/** A part a process runs: `workerFromEnv()`, `apiFromEnv()`. */
export interface Service {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** What an entry's start calls as each part comes up: the name its "<name> stopped" line gives (none: no line), its stop. */
export type Started = (name: string | undefined, stop: () => Promise<unknown>) => void;

const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
const EXIT_GRACE_MS = 5_000;

/**
 * An entry's whole life: runs `start`, which brings the parts up in order and reports each through `started`; then,
 * on SIGINT or SIGTERM, stops them in the reverse order, one after the other, and exits (with code 1 if a start
 * or a stop failed). A signal while starting waits for the start to end; before any part is up it ends the process at once,
 * there being nothing to drain. The process ends once everything is stopped.
 */
export async function runUntilSignalled(log: Logger, start: (started: Started) => Promise<void>): Promise<void> {
  const parts: Array<{ name: string | undefined; stop: () => Promise<unknown> }> = [];
  let signalled = false;
  let wake = () => undefined as void;
  const onSignal = () => {
    if (signalled) return;
    signalled = true;
    if (parts.length === 0) process.exit(0);
    wake();
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  let failed = false;
  try {
    await start((name, stop) => parts.push({ name, stop }));
    if (!signalled) await new Promise<void>((resolve) => (wake = resolve));
    log.info('shutting down');
  } catch (error) {
    failed = true;
    log.error({ err: error }, 'start failed');
  }
  for (const { name, stop } of parts.reverse()) {
    try {
      await stop();
      if (name) log.info(`${name} stopped`);
    } catch (error) {
      failed = true;
      log.error({ err: error }, `${name ?? 'a part'} did not stop cleanly`);
    }
  }
  process.exitCode = failed ? 1 : 0;
  // Everything is stopped, so the process ends by itself; should a handle still hold it, it ends anyway.
  setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
}
