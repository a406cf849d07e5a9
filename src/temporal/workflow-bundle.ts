import { bundleWorkflowCode, type BundleOptions, DefaultLogger, type Logger } from '@temporalio/worker';
import { ROUTING_BUNDLE } from '../service/compose';

type WebpackConfig = Parameters<NonNullable<BundleOptions['webpackConfigHook']>>[0];

/**
 * The routing workflows bundled with webpack (npm run build, or a worker's start without a prebuilt bundle), and what
 * to log of it in one line, "workflow bundle: 3.0 MB, 121 modules, 4.4 s": the SDK would log webpack's whole report.
 * webpack's errors and warnings still reach `log`. `workflowInterceptorModules` are bundled after the routing's own.
 */
export async function bundleRoutingWorkflows(log: Logger, workflowInterceptorModules: string[] = []): Promise<{ code: string; summary: string }> {
  const started = performance.now();
  let modules = 0;
  const countModules = (config: WebpackConfig): WebpackConfig => ({
    ...config,
    plugins: [
      ...(config.plugins ?? []),
      (compiler) =>
        compiler.hooks.done.tap('vip-router bundle summary', (stats) => {
          modules = stats.compilation.modules.size;
          if (stats.hasWarnings()) log.warn(stats.toString('errors-warnings'));
        }),
    ],
  });
  const { code } = await bundleWorkflowCode({
    ...ROUTING_BUNDLE,
    workflowInterceptorModules: [...ROUTING_BUNDLE.workflowInterceptorModules, ...workflowInterceptorModules],
    logger: new DefaultLogger('WARN', ({ level, message, meta }) => log.log(level, message, meta)),
    webpackConfigHook: countModules,
  });
  const megabytes = (Buffer.byteLength(code) / 1e6).toFixed(1);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  return { code, summary: `workflow bundle: ${megabytes} MB, ${modules} modules, ${seconds} s` };
}
