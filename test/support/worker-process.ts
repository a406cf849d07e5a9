import { parseEnv } from '../../src/config';
import { createLogger } from '../../src/logger';
import { routeTemporalLogs } from '../../src/temporal';
import { runWorker } from '../../src/worker';

/**
 * A routing worker in its own OS process, for tests that kill it: TEMPORAL_ADDRESS, DATABASE_URL,
 * TEMPORAL_TASK_QUEUE and VIP_TEST_WORKFLOW_BUNDLE come from the environment. Prints "worker running" once polling.
 */
async function main(): Promise<void> {
  const env = parseEnv();
  const bundle = process.env['VIP_TEST_WORKFLOW_BUNDLE'];
  if (!env.TEMPORAL_ADDRESS || !env.DATABASE_URL || !bundle) {
    throw new Error('worker-process needs TEMPORAL_ADDRESS, DATABASE_URL and VIP_TEST_WORKFLOW_BUNDLE');
  }
  routeTemporalLogs(createLogger(process.env['TEST_LOG_LEVEL'] ?? 'silent'));
  await runWorker({
    temporalAddress: env.TEMPORAL_ADDRESS,
    databaseUrl: env.DATABASE_URL,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    workflowBundlePath: bundle,
    onRunning: () => console.log('worker running'),
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
