import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Context } from '@temporalio/activity';
import type { ActivityInboundCallsInterceptor, WorkerInterceptors } from '@temporalio/worker';
import { directoryUrlFor, parseEnv } from '../../src/service/config';
import { launch, waitUntil } from '../../src/local/processes';
import { createLogger } from '../../src/observability/logger';
import { routeTemporalLogs } from '../../src/temporal/runtime';
import { payloadCodec, respondioClient, temporalConnection } from '../../src/service/compose';
import { workerService } from '../../src/worker';
import type { Harness } from './harness';

/**
 * A routing worker in its own OS process, for tests that kill it: TEMPORAL_ADDRESS, DATABASE_URL,
 * TEMPORAL_TASK_QUEUE and VIP_TEST_WORKFLOW_BUNDLE come from the environment, VIP_ROUTER_API_URL (where the
 * built-in directory is) optionally. Prints "worker running" once polling.
 *
 * VIP_TEST_CRASH_AFTER_ACTIVITY=<activity type> makes the process SIGKILL itself as soon as an activity of that
 * type has done its work and returned a non-null result, before the result reaches the server: a crash between
 * the commit and the report.
 */
async function main(): Promise<void> {
  const env = parseEnv();
  const bundle = process.env['VIP_TEST_WORKFLOW_BUNDLE'];
  if (!env.TEMPORAL_ADDRESS || !env.DATABASE_URL || !bundle) {
    throw new Error('worker-process needs TEMPORAL_ADDRESS, DATABASE_URL and VIP_TEST_WORKFLOW_BUNDLE');
  }
  routeTemporalLogs(createLogger(process.env['TEST_LOG_LEVEL'] ?? 'silent'));
  const { codec } = await payloadCodec({ generate: false });
  const worker = workerService({
    temporal: temporalConnection(env, env.TEMPORAL_ADDRESS),
    databaseUrl: env.DATABASE_URL,
    codec,
    directoryApiKey: env.VIP_ROUTER_API_KEY,
    respondio: respondioClient(env),
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    workflowBundlePath: bundle,
    // Only when told: a test worker never asks whatever happens to listen on the production default port.
    directoryUrl: env.VIP_ROUTER_API_URL ? directoryUrlFor(env.VIP_ROUTER_API_URL) : undefined,
    interceptors: crashAfter(process.env['VIP_TEST_CRASH_AFTER_ACTIVITY']),
    onRunning: () => console.log('worker running'),
  });
  await worker.start();
  // The SDK's own signal handling (SIGINT, SIGTERM) stops it: the worker drains, then the rest is let go of.
  await worker.ended();
  await worker.stop();
}

function crashAfter(activityType: string | undefined): WorkerInterceptors | undefined {
  if (!activityType) return undefined;
  const crashing = (ctx: Context): { inbound: ActivityInboundCallsInterceptor } => ({
    inbound: {
      async execute(input, next) {
        const result = await next(input);
        if (result !== null && result !== undefined && ctx.info.activityType === activityType) {
          process.kill(process.pid, 'SIGKILL');
          await new Promise(() => undefined); // never report, however late the signal lands
        }
        return result;
      },
    },
  });
  return { activity: [crashing] };
}

export type WorkerProcess = ChildProcess;

export interface WorkerProcessEnv {
  temporalAddress: string;
  databaseUrl: string;
  taskQueue: string;
  workflowBundlePath: string;
  /** The harness's codec keys: the worker encrypts and decrypts as the harness's client does. */
  codecKeys: string;
  /** The harness API, whose built-in directory the CRM step asks when the routing config names no CRM url. */
  apiUrl?: string;
  /** The key the CRM step calls the built-in directory with. */
  apiKey?: string;
  /** See VIP_TEST_CRASH_AFTER_ACTIVITY above. */
  crashAfterActivity?: string;
  /** respond.io (a stand-in) for the runs that mirror their effects there. */
  respondio?: { baseUrl: string; token: string };
}

/** What a worker process needs to serve a harness: its servers, database, task queue, codec keys and directory. */
export function harnessWorkerEnv(h: Harness): WorkerProcessEnv {
  return {
    temporalAddress: h.servers.temporalAddress,
    databaseUrl: h.databaseUrl,
    taskQueue: h.taskQueue,
    workflowBundlePath: h.servers.workflowBundlePath,
    codecKeys: h.codecKeys,
    apiKey: h.workerKey,
    apiUrl: h.baseUrl,
  };
}

/** Starts this file as a worker process; resolves once it polls. */
export async function spawnWorkerProcess(options: WorkerProcessEnv): Promise<WorkerProcess> {
  const worker = launch('worker', process.execPath, ['--import', 'tsx', __filename], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: options.temporalAddress,
      DATABASE_URL: options.databaseUrl,
      TEMPORAL_TASK_QUEUE: options.taskQueue,
      VIP_TEST_WORKFLOW_BUNDLE: options.workflowBundlePath,
      VIP_ROUTER_CODEC_KEYS: options.codecKeys,
      ...(options.apiUrl ? { VIP_ROUTER_API_URL: options.apiUrl } : {}),
      ...(options.apiKey ? { VIP_ROUTER_API_KEY: options.apiKey } : {}),
      ...(options.crashAfterActivity ? { VIP_TEST_CRASH_AFTER_ACTIVITY: options.crashAfterActivity } : {}),
      ...(options.respondio ? { RESPONDIO_API_TOKEN: options.respondio.token, RESPONDIO_API_URL: options.respondio.baseUrl } : {}),
    },
    keepChars: 4_000,
  });
  await waitUntil('the worker process running', async () => worker.output().includes('worker running'), {
    timeoutMs: 30_000,
    intervalMs: 50,
    gone: worker.gone,
    detail: worker.output,
  });
  return worker.child;
}

/** Sends the signal unless the process is gone already, and waits for it to exit. */
export async function stopWorkerProcess(child: WorkerProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
