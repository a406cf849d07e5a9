import { NativeConnection, Worker } from '@temporalio/worker';
import { parseEnv } from '../../src/service/config';
import { createPool, migrateDatabase } from '../../src/db/pool';
import { createLogger } from '../../src/observability/logger';
import { dataConverter, payloadCodec, temporalConnection } from '../../src/service/compose';
import { routeTemporalLogs } from '../../src/temporal/runtime';
import { createRoutingWorker } from '../../src/worker';
import { benchActivities } from './activities';

/**
 * The benchmark's worker process: the routing worker exactly as `npm run worker` builds it, and beside it, on its
 * own task queue, the reference workflows E and M under the same data converter.
 */
async function main(): Promise<void> {
  const env = parseEnv();
  routeTemporalLogs(createLogger(env.LOG_LEVEL));
  const bundle = process.env['BENCH_WORKFLOW_BUNDLE'];
  const benchBundle = process.env['BENCH_REFERENCE_BUNDLE'];
  if (!env.TEMPORAL_ADDRESS || !env.DATABASE_URL || !bundle || !benchBundle) throw new Error('bench worker: TEMPORAL_ADDRESS, DATABASE_URL and the bundles');
  const { codec } = await payloadCodec({ generate: false });
  const db = createPool(env.DATABASE_URL, 20);
  await migrateDatabase(db);
  const connection = await NativeConnection.connect(temporalConnection(env, env.TEMPORAL_ADDRESS));
  const routing = await createRoutingWorker({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    db,
    codec,
    workflowBundlePath: bundle,
    directoryUrl: `${env.VIP_ROUTER_API_URL}/v1/directory/customers?email={{email}}`,
    directoryApiKey: env.VIP_ROUTER_API_KEY,
    maxCachedWorkflows: env.VIP_ROUTER_WORKFLOW_CACHE,
  });
  const reference = await Worker.create({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: `${env.TEMPORAL_TASK_QUEUE}-reference`,
    workflowBundle: { codePath: benchBundle },
    activities: benchActivities,
    dataConverter: dataConverter(codec),
  });
  const running = Promise.all([routing.run(), reference.run()]);
  console.log('bench worker running');
  await running;
  await connection.close();
  await db.end();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
