import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@temporalio/client';
import { NativeConnection, Runtime, Worker, type WorkerInterceptors } from '@temporalio/worker';
import { type AgentSyncSettings, createActivities } from './activities';
import { heartbeatWhileRunning } from './activities/heartbeat-interceptor';
import { ensureAgentSyncSchedule } from './temporal/agent-sync-schedule';
import { ensureRetentionSchedule } from './temporal/retention-schedule';
import { directoryUrlFromEnv, type Env, parseEnv } from './service/config';
import { revokeApiKey } from './db/api-keys';
import { createPool, type Db, migrateDatabase } from './db/pool';
import { dispatchAndNotify, type EndedRuns, reconcile, type RunSignals, temporalEndedRuns, temporalRunSignals } from './assignment/dispatcher';
import { createLogger, type Logger, redactUrl } from './observability/logger';
import type { RespondioClient } from './respondio/client';
import { loadRoutingConfigFile, type RoutingConfig } from './domain/routing-config';
import { RuleVersions } from './db/rule-versions';
import { ApiKeys } from './security/api-key-tokens';
import { type AesGcmCodec, refusingUnencrypted } from './security/codec';
import { agentSyncSettings, dataConverter, payloadCodec, respondioClient, runUntilSignalled, type Service, temporalConnection } from './service/compose';
import { bundleRoutingWorkflows } from './temporal/workflow-bundle';
import { logWithRequest } from './activities/log-context-interceptor';
import { findFreePort } from './local/ports';
import { registry } from './observability/metrics';
import { routeTemporalLogs, temporalMetricsText } from './temporal/runtime';
import { describeTemporalConnection, type TemporalConnectionOptions } from './temporal/connection';

export interface RoutingWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  db: Db;
  /** Encrypts every payload the worker writes to Temporal and decrypts what it reads. */
  codec: AesGcmCodec;
  /**
   * Let runs read payloads that are not encrypted (VIP_ROUTER_CODEC_PLAINTEXT=accept): only while runs started
   * before encryption are still open. Otherwise such a payload, or one under a key the worker lacks, is refused.
   */
  acceptPlaintext?: boolean;
  outbound?: { webhookUrl?: string; webhookSecret?: string };
  /** A bundle prebuilt by `npm run build`; without it the workflows are bundled from source at start. */
  workflowBundlePath?: string;
  http?: typeof fetch;
  directoryUrl?: string;
  /** The key (scope read) the CRM step calls the built-in directory with. */
  directoryApiKey?: string;
  /**
   * The worker's own routing config: recorded at start, and the CRM settings of runs started before rule versions
   * whose own are not recorded. Runs read their rules from the registry by the version they carry.
   */
  routing?: RoutingConfig;
  /** The variables CRM headers may name as `${env:NAME}` (VIP_ROUTER_CRM_ENV); no other is read. */
  crmEnvNames?: readonly string[];
  /** Where those variables are read; the process's environment by default. */
  env?: NodeJS.ProcessEnv;
  /** respond.io, when configured: runs mirror their effects there and a Schedule imports its users as agents. */
  respondio?: RespondioClient;
  agentSync?: AgentSyncSettings & { everyMs: number };
  /**
   * VIP_ROUTER_TRANSCRIPT_RETENTION: set, a Temporal Schedule prunes older transcripts and webhook events; unset, a
   * schedule left by an earlier setting is removed. Left out (tests), the schedule is not touched.
   */
  transcriptRetentionMs?: number | null;
  /** For fault-injection tests. */
  interceptors?: WorkerInterceptors;
  /** How often to make good what a crashed process left owed; 5 s by default. */
  reconcileEveryMs?: number;
  /**
   * Runs kept in memory between their events (VIP_ROUTER_WORKFLOW_CACHE, 1,000, for the service's entries). A
   * cached run costs the worker about 330 kB; one that is not replays its history (a few dozen events) at its next
   * event. Unset, the SDK's default grows with the heap limit (2,310 with a 4 GB heap), and 10,000 conversations
   * waiting for a reply cost 78 kB each.
   */
  maxCachedWorkflows?: number;
}

export async function createRoutingWorker(options: RoutingWorkerOptions): Promise<Worker> {
  const bundle = options.workflowBundlePath;
  const converter = dataConverter(options.codec);
  const client = new Client({ connection: options.connection, namespace: options.namespace, dataConverter: converter });
  const signals = temporalRunSignals(client);
  // A start serves what a crash left undone: capacity freed but never dispatched, and wake-ups lost between a
  // dispatch's commit and its signals.
  await dispatchAndNotify(options.db, signals);
  const ruleVersions = new RuleVersions(options.db);
  if (options.routing) await ruleVersions.record(options.routing);
  if (options.respondio && options.agentSync) {
    await ensureAgentSyncSchedule(client, { taskQueue: options.taskQueue, everyMs: options.agentSync.everyMs });
  }
  if (options.transcriptRetentionMs !== undefined) {
    await ensureRetentionSchedule(client, { taskQueue: options.taskQueue, retentionMs: options.transcriptRetentionMs ?? undefined });
  }
  const { workflowModules, ...interceptors } = options.interceptors ?? {};
  const worker = await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    dataConverter: options.acceptPlaintext
      ? converter
      : dataConverter(refusingUnencrypted(options.codec, (reason) => Runtime.instance().logger.warn('a payload was refused', { reason }))),
    // On SIGTERM (a deploy, a scale-down) activities in flight get this long to finish before they are cancelled
    // and retried on another worker; well inside the 60 s grace docker-compose.yml and Kubernetes give the process.
    shutdownGraceTime: SHUTDOWN_GRACE,
    // Beats reach the server every 2 s, well inside the activities' 15 s heartbeat timeout (by default the SDK sends
    // them at 80% of the timeout, one missed beat from a timeout).
    maxHeartbeatThrottleInterval: HEARTBEAT_THROTTLE,
    ...(options.maxCachedWorkflows ? { maxCachedWorkflows: options.maxCachedWorkflows } : {}),
    workflowBundle: bundle ? { codePath: bundle } : { code: await bundleAtStart(workflowModules) },
    interceptors: {
      ...interceptors,
      activity: [heartbeatWhileRunning, logWithRequest, ...(interceptors.activity ?? [])],
    },
    activities: createActivities({
      db: options.db,
      outbound: options.outbound,
      http: options.http,
      directoryUrl: options.directoryUrl,
      directoryApiKey: options.directoryApiKey,
      ruleVersions,
      routing: options.routing,
      crmEnvNames: options.crmEnvNames,
      env: options.env,
      signals,
      respondio: options.respondio,
      agentSync: options.agentSync,
    }),
  });
  reconcileWhileRunning(worker, options.db, signals, temporalEndedRuns(client), options.reconcileEveryMs ?? RECONCILE_EVERY_MS);
  return worker;
}

/** Without a prebuilt bundle: the routing workflows and the given interceptors, bundled now, reported in one line. */
async function bundleAtStart(workflowModules: string[] = []): Promise<string> {
  const { logger } = Runtime.instance();
  const { code, summary } = await bundleRoutingWorkflows(logger, workflowModules);
  logger.info(summary);
  return code;
}

/** At most this long between two heartbeats an activity sends the server. */
const HEARTBEAT_THROTTLE = '2s';

/** How long activities in flight may finish once the worker is asked to stop. */
const SHUTDOWN_GRACE = '10s';

/** How often a worker makes good what a crashed process or an ended run left owed (a dispatch, wake-ups, offline notices, held capacity). */
const RECONCILE_EVERY_MS = 5_000;

function reconcileWhileRunning(worker: Worker, db: Db, signals: RunSignals, endedRuns: EndedRuns, everyMs: number): void {
  const timer = setInterval(() => {
    if (['STOPPING', 'DRAINING', 'DRAINED', 'STOPPED', 'FAILED'].includes(worker.getState())) return clearInterval(timer);
    const { logger } = Runtime.instance();
    reconcile(db, signals, endedRuns).then(
      (released) => {
        if (released.length > 0) logger.warn('released what runs that ended without closing still held', { released });
      },
      (error: unknown) => logger.warn('could not reconcile what the runs are owed', { error: String(error) }),
    );
  }, everyMs);
  timer.unref();
}

/** The bundle `npm run build` writes next to the compiled code, when present. */
export function prebuiltWorkflowBundle(): string | undefined {
  const candidate = join(__dirname, '..', 'workflow-bundle.js');
  return existsSync(candidate) ? candidate : undefined;
}

export interface WorkerServiceOptions extends Omit<RoutingWorkerOptions, 'connection' | 'db'> {
  temporal: TemporalConnectionOptions;
  databaseUrl: string;
  /** Called once the worker polls. */
  onRunning?: () => void;
}

/**
 * A worker with what it holds: its pool (migrated), its connection, and a directory key. Without a key of its own it
 * makes one for its lifetime (it can: it has the database) and revokes it when it stops; a crash leaves a key whose
 * value died with the process. stop() lets tasks in flight finish (SHUTDOWN_GRACE), then lets go of the rest.
 */
export function workerService(options: WorkerServiceOptions): Service & { ended(): Promise<void> } {
  let db: Db | undefined;
  let connection: NativeConnection | undefined;
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  let minted: string | undefined;
  return {
    async start() {
      db = createPool(options.databaseUrl);
      await migrateDatabase(db);
      let directoryApiKey = options.directoryApiKey;
      if (!directoryApiKey) {
        const { key, record } = await new ApiKeys(db).create('read', `worker ${hostname()} pid ${process.pid} (built-in directory)`);
        directoryApiKey = key;
        minted = record.id;
      }
      connection = await NativeConnection.connect(options.temporal);
      worker = await createRoutingWorker({ ...options, directoryApiKey, connection, db });
      running = worker.run();
      options.onRunning?.();
    },
    /** When the worker stops by itself (the SDK's shutdown signals, when a process leaves them on). */
    ended: async () => running,
    async stop() {
      if (worker && worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection?.close();
      if (db && minted) await revokeApiKey(db, minted).catch(() => undefined);
      await db?.end();
    },
  };
}

/**
 * The worker the environment describes (TEMPORAL_*, DATABASE_URL, ROUTING_CONFIG, VIP_ROUTER_*, RESPONDIO_*): what
 * `npm run worker` runs, and `npm start` beside its API (with the codec it made).
 */
export function workerFromEnv(env: Env, log: Logger, given: { codec?: AesGcmCodec } = {}): Service {
  let service: Service | undefined;
  return {
    async start() {
      const { TEMPORAL_ADDRESS: temporalAddress, DATABASE_URL: databaseUrl } = env;
      if (!temporalAddress || !databaseUrl) throw new Error('the worker needs TEMPORAL_ADDRESS and DATABASE_URL (npm start runs everything locally)');
      const temporal = temporalConnection(env, temporalAddress);
      const { codec, keys } = given.codec ? { codec: given.codec, keys: undefined } : await payloadCodec({ generate: false });
      const respondio = respondioClient(env);
      service = workerService({
        temporal,
        databaseUrl,
        namespace: env.TEMPORAL_NAMESPACE,
        taskQueue: env.TEMPORAL_TASK_QUEUE,
        codec,
        workflowBundlePath: prebuiltWorkflowBundle(),
        directoryUrl: directoryUrlFromEnv(env),
        directoryApiKey: env.VIP_ROUTER_API_KEY,
        // Each run keeps the rules it started with (by their version); this worker's own are recorded too.
        routing: loadRoutingConfigFile(resolve(env.ROUTING_CONFIG)),
        crmEnvNames: env.VIP_ROUTER_CRM_ENV,
        acceptPlaintext: env.VIP_ROUTER_CODEC_PLAINTEXT === 'accept',
        outbound: { webhookUrl: env.OUTBOUND_WEBHOOK_URL, webhookSecret: env.OUTBOUND_WEBHOOK_SECRET },
        respondio,
        agentSync: agentSyncSettings(env),
        transcriptRetentionMs: env.VIP_ROUTER_TRANSCRIPT_RETENTION ?? null,
        maxCachedWorkflows: env.VIP_ROUTER_WORKFLOW_CACHE,
      });
      await service.start();
      log.info(
        {
          temporal: temporalAddress,
          connection: describeTemporalConnection(temporal),
          database: redactUrl(databaseUrl),
          taskQueue: env.TEMPORAL_TASK_QUEUE,
          codecKeys: codec.keyIds,
          ...(keys ? { codecKeySource: keys.source } : {}),
          respondio: respondio ? env.RESPONDIO_API_URL : 'off',
        },
        'worker running',
      );
    },
    stop: async () => service?.stop(),
  };
}

/** Production entry (`npm run worker`): connects to an existing Temporal server and PostgreSQL. */
async function main(): Promise<void> {
  const env = parseEnv();
  const log = createLogger(env.LOG_LEVEL);
  routeTemporalLogs(log, { metricsPort: await findFreePort(), shutdownSignals: [] });
  await serveWorkerMetrics(env.VIP_ROUTER_METRICS_PORT).then(
    (server) => log.info({ port: (server.address() as { port: number }).port }, 'worker metrics at GET /metrics'),
    // Routing goes on without its metrics rather than not at all.
    (error: unknown) => log.error({ err: error, port: env.VIP_ROUTER_METRICS_PORT }, 'cannot serve the worker metrics'),
  );
  await runUntilSignalled(log, async (started) => {
    const worker = workerFromEnv(env, log);
    await worker.start();
    started('worker', worker.stop);
  });
}

/** The worker's GET /metrics: its routing metrics (CRM, respond.io) and the SDK's, the runs' own counts among them. */
export async function serveWorkerMetrics(port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') return void res.writeHead(404).end();
    Promise.all([registry.metrics(), temporalMetricsText()]).then(
      ([ours, sdk]) => res.writeHead(200, { 'content-type': registry.contentType }).end(`${ours}\n${sdk}`),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((listening, failed) => server.listen(port, listening).once('error', failed));
  server.unref();
  return server;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
