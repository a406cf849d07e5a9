import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { run } from 'node:test';
import { spec, tap } from 'node:test/reporters';
import ms from 'ms';
import { resolveTemporalBinary } from '../src/local/temporal-cli';
import { ensureChromium } from '../test/support/chromium';
import { ensurePromtool } from '../test/support/promtool';
import { exportTestServers, startTestServers } from '../test/support/servers';

/**
 * `npm test`: starts one Temporal dev server and one PostgreSQL for the whole run (each test file
 * gets its own database and task queue on them), then runs node's test runner over test/**, two files at a time,
 * the slowest first. Arguments narrow the files: `npm test -- test/api`.
 */
/** A file's path from the repository root, with forward slashes: how files are named in the durations. */
const repoPath = (path: string) => relative(process.cwd(), path).split(sep).join('/');

function testFiles(roots: string[]): string[] {
  const found: string[] = [];
  const walk = (path: string) => {
    if (statSync(path).isDirectory()) for (const entry of readdirSync(path).sort()) walk(join(path, entry));
    else if (path.endsWith('.test.ts')) found.push(repoPath(path));
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

/**
 * Each file's duration in ms, by path from the repository root. Two files at a time finish soonest when the longest
 * start first (the fault suite, minutes long, started last would run on alone), so the run orders files by the
 * durations of earlier runs: those this machine measured (written after every run; VIP_ROUTER_TEST_DURATIONS puts
 * them elsewhere) over the checked-in table, which a fresh clone and CI start from.
 * `cp .cache/test-durations.json test/durations.json` refreshes the table.
 */
const CHECKED_IN_DURATIONS = join('test', 'durations.json');
const MEASURED_DURATIONS = process.env['VIP_ROUTER_TEST_DURATIONS'] ?? join('.cache', 'test-durations.json');

type Durations = Record<string, number>;

function readDurations(path: string): Durations {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Durations) : {};
}

/** Slowest first; a file no run has measured yet goes before all others, since it may be the slowest. */
function slowestFirst(files: string[], durations: Durations): string[] {
  const known = (file: string) => durations[file] ?? Infinity;
  return [...files].sort((a, b) => known(b) - known(a) || a.localeCompare(b));
}

function writeDurations(durations: Durations): void {
  const sorted = Object.fromEntries(Object.entries(durations).sort(([a], [b]) => a.localeCompare(b)));
  mkdirSync(dirname(MEASURED_DURATIONS), { recursive: true });
  writeFileSync(MEASURED_DURATIONS, `${JSON.stringify(sorted, null, 2)}\n`);
}

/**
 * Programs from Debian's package archive that test files need, by the helper module such a file imports: Chromium
 * (the browser tests), promtool (the metrics lint).
 */
const DEBIAN_TOOLS = [
  { helper: "from '../support/chromium'", ensure: ensureChromium },
  { helper: "from '../support/promtool'", ensure: ensurePromtool },
];

async function main(): Promise<number> {
  // The cluster's tests build and run a multi-service Temporal server: npm run test:cluster, not the default run.
  const chosen = process.argv.length > 2 ? testFiles(process.argv.slice(2)) : testFiles(['test']).filter((file) => !file.startsWith('test/tools/cluster'));
  const durations = { ...readDurations(CHECKED_IN_DURATIONS), ...readDurations(MEASURED_DURATIONS) };
  const files = slowestFirst(chosen, durations);
  const log = (line: string) => console.error(`[test] ${line}`);
  const timeoutMs = fileTimeoutMs();
  // Installed before the files run, so parallel test processes never race to install it.
  const testServer = await resolveTemporalBinary('test-server', { log });
  const sources = files.map((file) => readFileSync(file, 'utf8'));
  for (const tool of DEBIAN_TOOLS) {
    if (!sources.some((source) => source.includes(tool.helper))) continue;
    // Found (or installed) once up front, so parallel files never race to install it; when it cannot be, the tests
    // that need it fail saying so and the rest still run.
    await tool.ensure(log).catch((error: unknown) => log(`${(error as Error).message}; the tests that need it will fail`));
  }
  const started = Date.now();
  const servers = await startTestServers(log);
  log(`Temporal ${servers.temporalAddress} and PostgreSQL ready in ${Date.now() - started} ms; ${files.length} test files, slowest first`);
  // The test files' processes inherit this environment (node's runner passes it on).
  Object.assign(process.env, exportTestServers(servers), testServer.type === 'existing-path' ? { TEMPORAL_TEST_SERVER_PATH: testServer.path } : {});
  const stop = new AbortController();
  const abort = () => stop.abort();
  process.once('SIGINT', abort).once('SIGTERM', abort);
  const measured: Durations = {};
  let failed = false;
  try {
    // node's runner API, not `node --test`: the command line sorts the files by name, run() keeps this order.
    const stream = run({ files: files.map((file) => resolve(file)), concurrency: 2, timeout: timeoutMs, signal: stop.signal });
    stream.on('test:fail', () => (failed = true));
    // Each file is a test of its own in the run, named by its path: timed from its start to its end, a cancelled one too.
    const startedAt = new Map<string, number>();
    const isFile = (event: { name: string; file?: string }) => event.file !== undefined && event.name === event.file;
    stream.on('test:dequeue', (event: { name: string; file?: string }) => {
      if (isFile(event)) startedAt.set(event.name, Date.now());
    });
    stream.on('test:complete', (event: { name: string; file?: string }) => {
      const start = startedAt.get(event.name);
      if (isFile(event) && start !== undefined) measured[repoPath(event.name)] = Date.now() - start;
    });
    for await (const line of (process.stdout.isTTY ? stream.compose(new spec()) : stream.compose(tap))) process.stdout.write(line as string);
  } finally {
    await servers.stop();
  }
  writeDurations({ ...readDurations(MEASURED_DURATIONS), ...measured });
  const report = Object.entries(measured).sort(([, a], [, b]) => b - a);
  log(`per file (written to ${MEASURED_DURATIONS}):\n${report.map(([file, duration]) => `  ${(duration / 1000).toFixed(1).padStart(7)} s  ${file}`).join('\n')}`);
  log(`${files.length} files in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return failed || stop.signal.aborted ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
