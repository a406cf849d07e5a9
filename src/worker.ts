import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerInterceptors } from '@temporalio/worker';
import { createActivities } from './activities';
import { directoryUrlFromEnv, parseEnv } from './config';
import { createPool, type Db, migrateDatabase } from './db/pool';
import { createLogger, redactUrl } from './logger';
import { routeTemporalLogs } from './temporal';
import { dispatchAndNotify, signalAssignmentChanged } from './dispatcher';

export interface RoutingWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  db: Db;
  outbound?: { webhookUrl?: string; webhookSecret?: string };
  /** A bundle prebuilt by `npm run build`; without it the workflows are bundled from source at start. */
  workflowBundlePath?: string;
  http?: typeof fetch;
  directoryUrl?: string;
  /** For fault-injection tests. */
  interceptors?: WorkerInterceptors;
}

export async function createRoutingWorker(options: RoutingWorkerOptions): Promise<Worker> {
  const bundle = options.workflowBundlePath;
  const client = new Client({ connection: options.connection, namespace: options.namespace });
  const notify = signalAssignmentChanged(client);
  // A start serves what a crash left undone: capacity freed but never dispatched, and wake-ups lost between a
  // dispatch's commit and its signals.
  await dispatchAndNotify(options.db, notify);
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath: require.resolve('./workflows') }),
    interceptors: options.interceptors,
    activities: createActivities({
      db: options.db,
      outbound: options.outbound,
      http: options.http,
      directoryUrl: options.directoryUrl,
      notify,
    }),
  });
}

/** The bundle `npm run build` writes next to the compiled code, when present. */
export function prebuiltWorkflowBundle(): string | undefined {
  const candidate = join(__dirname, '..', 'workflow-bundle.js');
  return existsSync(candidate) ? candidate : undefined;
}

export interface WorkerProcessOptions {
  temporalAddress: string;
  databaseUrl: string;
  namespace: string;
  taskQueue: string;
  workflowBundlePath?: string;
  directoryUrl?: string;
  outbound?: { webhookUrl?: string; webhookSecret?: string };
  interceptors?: WorkerInterceptors;
  /** Called once the worker polls. */
  onRunning?: () => void;
}

/** A worker process's whole life: connect, run until SIGINT/SIGTERM (Worker.run drains in-flight tasks), disconnect. */
export async function runWorker(options: WorkerProcessOptions): Promise<void> {
  const db = createPool(options.databaseUrl);
  try {
    await migrateDatabase(db);
    const connection = await NativeConnection.connect({ address: options.temporalAddress });
    try {
      const worker = await createRoutingWorker({ ...options, connection, db });
      const running = worker.run();
      options.onRunning?.();
      await running;
    } finally {
      await connection.close();
    }
  } finally {
    await db.end();
  }
}

/** Production entry (`npm run worker`): connects to an existing Temporal server and PostgreSQL. */
async function main(): Promise<void> {
  // The worker needs no routing config: each run carries the rules it started with.
  const env = parseEnv();
  const log = createLogger(env.LOG_LEVEL);
  routeTemporalLogs(log);
  const { TEMPORAL_ADDRESS: temporalAddress, DATABASE_URL: databaseUrl } = env;
  if (!temporalAddress || !databaseUrl) throw new Error('the worker needs TEMPORAL_ADDRESS and DATABASE_URL (npm start runs everything locally)');
  await runWorker({
    temporalAddress,
    databaseUrl,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    workflowBundlePath: prebuiltWorkflowBundle(),
    directoryUrl: directoryUrlFromEnv(env),
    outbound: { webhookUrl: env.OUTBOUND_WEBHOOK_URL, webhookSecret: env.OUTBOUND_WEBHOOK_SECRET },
    onRunning: () => log.info({ temporal: temporalAddress, database: redactUrl(databaseUrl), taskQueue: env.TEMPORAL_TASK_QUEUE }, 'worker running'),
  });
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
