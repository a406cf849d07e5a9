import { DefaultLogger, type LogLevel, makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import type { Logger } from '../observability/logger';

let installed = false;
let metricsUrl: string | undefined;

/** Buckets of the runs' own histograms (the SDK's defaults are for milliseconds of task latency). */
const WAIT_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600];

/**
 * Routes the SDK's logs (worker, workflow `log`, activity `log`, and the native core's) into the service logger,
 * and, given a port, has the SDK export its metrics (the worker's and those the runs count) in Prometheus' format
 * on 127.0.0.1 there, for this process's GET /metrics to include. Once per process: the first call decides.
 */
export function routeTemporalLogs(logger: Logger, options: { metricsPort?: number; shutdownSignals?: NodeJS.Signals[] } = {}): void {
  if (installed) return;
  installed = true;
  const level = (logger.level.toUpperCase() === 'SILENT' ? 'ERROR' : logger.level.toUpperCase()) as LogLevel;
  const metricsBind = options.metricsPort ? `127.0.0.1:${options.metricsPort}` : undefined;
  Runtime.install({
    // Unset, the SDK's own: those signals shut every worker down. An entry that stops its parts in order passes [].
    ...(options.shutdownSignals ? { shutdownSignals: options.shutdownSignals } : {}),
    logger: new DefaultLogger(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'].includes(level) ? level : 'INFO', (entry) => {
      const method = entry.level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
      logger[method]({ ...entry.meta }, entry.message);
    }),
    telemetryOptions: {
      logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }) },
      ...(metricsBind
        ? {
            metrics: {
              prometheus: {
                bindAddress: metricsBind,
                countersTotalSuffix: true,
                useSecondsForDurations: true,
                histogramBucketOverrides: {
                  vip_router_time_to_assignment_seconds: WAIT_BUCKETS,
                  vip_router_first_response_seconds: WAIT_BUCKETS,
                },
              },
            },
          }
        : {}),
    },
  });
  if (metricsBind) metricsUrl = `http://${metricsBind}/metrics`;
}

/**
 * The SDK labels what the runs count (through its workflow meter) `taskQueue` and `workflowType`; Prometheus names
 * labels in snake_case, and `promtool check metrics` flags any other. A label name is followed by `="` there, which a
 * label's value cannot hold unescaped.
 */
const SNAKE_CASE_LABELS: Record<string, string> = { taskQueue: 'task_queue', workflowType: 'workflow_type' };

function snakeCaseLabels(text: string): string {
  return text.replace(/([{,])(taskQueue|workflowType)="/g, (_, before: string, name: string) => `${before}${SNAKE_CASE_LABELS[name]}="`);
}

/** The SDK's metrics of this process (empty when not exported): what GET /metrics adds to the routing metrics. */
export async function temporalMetricsText(): Promise<string> {
  if (!metricsUrl) return '';
  return fetch(metricsUrl, { signal: AbortSignal.timeout(2_000) }).then(
    async (response) => snakeCaseLabels(await response.text()),
    () => '',
  );
}
