import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ms from 'ms';
import { resolveTemporalBinary } from '../src/local/temporal-cli';
import { ensureChromium } from '../test/support/chromium';
import { exportTestServers, startTestServers } from '../test/support/servers';

/**
 * `npm test`: starts one Temporal dev server and one PostgreSQL for the whole run (each test file
 * gets its own database and task queue on them), then runs node's test runner over test/**.
 * Arguments narrow the files: `npm test -- test/api`.
 */
function testFiles(roots: string[]): string[] {
  const found: string[] = [];
  const walk = (path: string) => {
    if (statSync(path).isDirectory()) for (const entry of readdirSync(path).sort()) walk(join(path, entry));
    else if (path.endsWith('.test.ts')) found.push(relative(process.cwd(), path));
  };
  for (const root of roots) walk(root);
  return found;
}

/**
 * How long one test file may run before it is cancelled and fails: a hang fails the run instead of stalling it until
 * CI's own limit. The longest files (the fault suite's short run, the production build) take about 4 minutes alone
 * and twice that beside another file on 2 cores. VIP_ROUTER_TEST_FILE_TIMEOUT (e.g. "30m") changes it.
 */
const FILE_TIMEOUT = process.env['VIP_ROUTER_TEST_FILE_TIMEOUT'] ?? '15m';

function fileTimeoutMs(): number {
  const parsed = ms(FILE_TIMEOUT as ms.StringValue);
  if (typeof parsed !== 'number' || !(parsed > 0)) throw new Error(`VIP_ROUTER_TEST_FILE_TIMEOUT is not a duration: "${FILE_TIMEOUT}"`);
  return parsed;
}

/** A test file that drives a browser imports the Chromium helper. */
const usesBrowser = (file: string) => readFileSync(file, 'utf8').includes("from '../support/chromium'");

async function main(): Promise<number> {
  // The cluster's tests build and run a multi-service Temporal server: npm run test:cluster, not the default run.
  const files = process.argv.length > 2 ? testFiles(process.argv.slice(2)) : testFiles(['test']).filter((file) => !file.startsWith(join('test', 'cluster')));
  const log = (line: string) => console.error(`[test] ${line}`);
  const timeoutMs = fileTimeoutMs();
  // Installed before the files run, so parallel test processes never race to install it.
  const testServer = await resolveTemporalBinary('test-server', { log });
  if (files.some(usesBrowser)) {
    // Found (or installed) once up front; when it cannot be, the browser tests fail saying so and the rest still run.
    await ensureChromium(log).catch((error: unknown) => log(`${(error as Error).message}; the browser tests will fail`));
  }
  const started = Date.now();
  const servers = await startTestServers(log);
  log(`Temporal ${servers.temporalAddress} and PostgreSQL ready in ${Date.now() - started} ms; ${files.length} test files`);
  try {
    return await new Promise<number>((done) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', `--test-timeout=${timeoutMs}`, ...files], {
        stdio: 'inherit',
        env: {
          ...process.env,
          ...exportTestServers(servers),
          ...(testServer.type === 'existing-path' ? { TEMPORAL_TEST_SERVER_PATH: testServer.path } : {}),
        },
      });
      const forward = (signal: NodeJS.Signals) => child.kill(signal);
      process.on('SIGINT', forward).on('SIGTERM', forward);
      child.on('exit', (code, signal) => done(code ?? (signal ? 1 : 0)));
    });
  } finally {
    await servers.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
