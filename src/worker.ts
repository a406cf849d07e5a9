import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from './activities';
import { loadServiceConfig } from './config';
import { createPool, type Db, migrateDatabase } from './db/pool';
import { createLogger, redactUrl } from './logger';
import { routeTemporalLogs } from './temporal';

export interface RoutingWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  db: Db;
  outbound?: { webhookUrl?: string; webhookSecret?: string };
  /** A bundle prebuilt by `npm run build`; without it the workflows are bundled from source at start. */
  workflowBundlePath?: string;
  http?: typeof fetch;
}

export async function createRoutingWorker(options: RoutingWorkerOptions): Promise<Worker> {
  const bundle = options.workflowBundlePath;
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath: require.resolve('./workflows') }),
    activities: createActivities({ db: options.db, outbound: options.outbound, http: options.http }),
  });
}

/** The bundle `npm run build` writes next to the compiled code, when present. */
export function prebuiltWorkflowBundle(): string | undefined {
  const candidate = join(__dirname, '..', 'workflow-bundle.js');
  return existsSync(candidate) ? candidate : undefined;
}

/** Production entry (`npm run worker`): connects to an existing Temporal server and PostgreSQL. */
async function main(): Promise<void> {
  const { env } = loadServiceConfig();
  const log = createLogger(env.LOG_LEVEL);
  routeTemporalLogs(log);
  if (!env.TEMPORAL_ADDRESS || !env.DATABASE_URL) throw new Error('the worker needs TEMPORAL_ADDRESS and DATABASE_URL (npm start runs everything locally)');
  const db = createPool(env.DATABASE_URL);
  await migrateDatabase(db);
  const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
  const worker = await createRoutingWorker({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    db,
    outbound: { webhookUrl: env.OUTBOUND_WEBHOOK_URL, webhookSecret: env.OUTBOUND_WEBHOOK_SECRET },
    workflowBundlePath: prebuiltWorkflowBundle(),
  });
  log.info({ temporal: env.TEMPORAL_ADDRESS, database: redactUrl(env.DATABASE_URL), taskQueue: env.TEMPORAL_TASK_QUEUE }, 'worker running');
  // Worker.run handles SIGINT/SIGTERM itself: it drains in-flight tasks, then resolves.
  await worker.run();
  await connection.close();
  await db.end();
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
