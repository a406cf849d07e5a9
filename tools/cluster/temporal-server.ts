import { execFile } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { temporalCacheDir } from '../../src/local/temporal-cli';

const execFileAsync = promisify(execFile);

/** The Go toolchain the pinned programs need (both require go >= 1.26.10); `go` fetches it once if PATH has an older one. */
const GO_TOOLCHAIN = 'go1.27.3';
const BUILD_TIMEOUT_MS = 20 * 60_000;

/** A Go program built from a pinned module version with `go get` + `go build`, and kept in the cache. */
interface GoBinarySpec<Name extends string> {
  /** What logs and errors call it. */
  title: string;
  module: string;
  version: string;
  /** Each binary: the package inside the module it is built from, and the variable that names a prebuilt one instead. */
  binaries: Record<Name, { pkg: string; envVar: string }>;
  /** The folder under the cache dir (`VIP_ROUTER_CACHE_DIR`) whose `bin/` keeps the binaries. */
  cacheSubdir: string;
  /**
   * Modules raised above what `module` requires (minimal version selection keeps the higher one): for a version the
   * Go module proxy does not serve. Empty or absent: the build list is exactly that of `go install module/pkg@version`.
   */
  pins?: Record<string, string>;
  /** How long the first build takes on 2 cores, for the log. */
  buildTime: string;
}

/** The Temporal server `npm run cluster` runs: pinned, and built with the Go toolchain it needs. */
export const TEMPORAL_SERVER_VERSION = 'v1.32.2';

/** The server and its SQL schema tool (which embeds the schema of its version). */
export interface TemporalServerParts {
  server: string;
  sqlTool: string;
}

const TEMPORAL_SERVER: GoBinarySpec<'server' | 'sql'> = {
  title: `the Temporal server ${TEMPORAL_SERVER_VERSION}`,
  module: 'go.temporal.io/server',
  version: TEMPORAL_SERVER_VERSION,
  binaries: {
    server: { pkg: 'cmd/server', envVar: 'TEMPORAL_SERVER_PATH' },
    sql: { pkg: 'cmd/tools/sql', envVar: 'TEMPORAL_SQL_TOOL_PATH' },
  },
  cacheSubdir: `temporal-server-${TEMPORAL_SERVER_VERSION}`,
  buildTime: 'about 5 minutes',
};

/** Temporal UI's server (the one the Temporal CLI embeds), with the built UI in the binary. */
export const TEMPORAL_UI_SERVER_VERSION = 'v2.58.1';

const TEMPORAL_UI_SERVER: GoBinarySpec<'ui-server'> = {
  title: `the Temporal UI server ${TEMPORAL_UI_SERVER_VERSION}`,
  module: 'github.com/temporalio/ui-server/v2',
  version: TEMPORAL_UI_SERVER_VERSION,
  binaries: { 'ui-server': { pkg: 'cmd/server', envVar: 'TEMPORAL_UI_SERVER_PATH' } },
  cacheSubdir: `temporal-ui-server-${TEMPORAL_UI_SERVER_VERSION}`,
  // v2.58.1 requires echo v4.16.1 and go.temporal.io/api v1.64.0, which the Go module proxy this project reaches
  // refuses ("not available", 403); it serves the patch releases after them, which stand in.
  pins: { 'github.com/labstack/echo/v4': 'v4.16.4', 'go.temporal.io/api': 'v1.64.1' },
  buildTime: 'about 1.5 minutes',
};

/**
 * Finds the parts, in order: TEMPORAL_SERVER_PATH + TEMPORAL_SQL_TOOL_PATH; the cache
 * (`VIP_ROUTER_CACHE_DIR/temporal-server-<version>`); else builds them there with Go (about 5 minutes on 2 cores,
 * once). Fails with every route tried and why.
 */
export async function resolveTemporalServer(log: (line: string) => void = () => undefined, env: NodeJS.ProcessEnv = process.env): Promise<TemporalServerParts> {
  const { server, sql } = await resolveGoBinaries(TEMPORAL_SERVER, log, env);
  return { server, sqlTool: sql };
}

/**
 * The Temporal UI server binary: TEMPORAL_UI_SERVER_PATH; the cache (`VIP_ROUTER_CACHE_DIR/temporal-ui-server-<version>`);
 * else built there with Go (about 1.5 minutes on 2 cores, once). Fails with every route tried and why.
 */
export async function resolveTemporalUi(log: (line: string) => void = () => undefined, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return (await resolveGoBinaries(TEMPORAL_UI_SERVER, log, env))['ui-server'];
}

/**
 * Every binary of `spec`, in order: all the env variables set (to executable files); the cache; else built into the
 * cache with `GOTOOLCHAIN=go1.27.3`. Fails with one error that lists every route tried and why it was passed over.
 */
async function resolveGoBinaries<Name extends string>(
  spec: GoBinarySpec<Name>,
  log: (line: string) => void = () => undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Record<Name, string>> {
  const names = Object.keys(spec.binaries) as Name[];
  const tried: string[] = [];
  const fail = () => new Error(`cannot find or build ${spec.title}; tried:\n  - ${tried.join('\n  - ')}`);

  const vars = names.map((name) => spec.binaries[name].envVar);
  if (vars.some((name) => env[name])) {
    // Named binaries are taken all together or not at all: each var set, to an executable file.
    const problems = await Promise.all(
      vars.map(async (name) => (!env[name] ? `${name} not set` : (await isExecutable(env[name])) ? undefined : `${name}=${env[name]} is not an executable file`)),
    );
    if (problems.every((problem) => problem === undefined)) {
      return Object.fromEntries(names.map((name) => [name, env[spec.binaries[name].envVar]])) as Record<Name, string>;
    }
    tried.push(`${vars.join(' + ')}: ${problems.filter(Boolean).join('; ')}`);
  } else tried.push(`${vars.join(', ')}: not set`);

  const home = path.join(temporalCacheDir(env), spec.cacheSubdir);
  const bin = path.join(home, 'bin');
  const cached = Object.fromEntries(names.map((name) => [name, path.join(bin, name)])) as Record<Name, string>;
  if (await allExecutable(cached)) {
    log(`${spec.title}: using ${names.map((name) => cached[name]).join(', ')}`);
    return cached;
  }
  tried.push(`${home}: not built yet`);

  try {
    await execFileAsync('go', ['version'], { env, timeout: 30_000 });
  } catch (error) {
    tried.push(`building with Go: no Go toolchain on PATH (${(error as Error).message.split('\n')[0]})`);
    throw fail();
  }
  log(`${spec.title}: building ${names.map((name) => `${spec.module}/${spec.binaries[name].pkg}`).join(' and ')} with ${GO_TOOLCHAIN} into ${bin} (${spec.buildTime}, once)`);
  await fs.mkdir(bin, { recursive: true });
  // A module of our own that requires the pinned one: `go install pkg@version` cannot raise a dependency (spec.pins).
  const work = await fs.mkdtemp(path.join(home, 'build-'));
  const goEnv = { ...env, GOTOOLCHAIN: GO_TOOLCHAIN, GOFLAGS: '-mod=mod' };
  let partial: string | undefined;
  const go = (args: string[]) => execFileAsync('go', args, { cwd: work, env: goEnv, timeout: BUILD_TIMEOUT_MS, maxBuffer: 64 * 2 ** 20 });
  try {
    // `go get` raises the go line to the pinned module's, so its GODEBUG defaults are those of `go install`.
    await fs.writeFile(path.join(work, 'go.mod'), 'module vip-router.local/build\n\ngo 1.21\n');
    const pins = Object.entries(spec.pins ?? {}).map(([module, version]) => `${module}@${version}`);
    await go(['get', ...names.map((name) => `${spec.module}/${spec.binaries[name].pkg}@${spec.version}`), ...pins]);
    for (const name of names) {
      // Built beside its final name and renamed, so a concurrent or interrupted build never leaves half a binary there.
      partial = `${cached[name]}.${process.pid}.partial`;
      await go(['build', '-o', partial, `${spec.module}/${spec.binaries[name].pkg}`]);
      await fs.rename(partial, cached[name]);
      partial = undefined;
    }
  } catch (error) {
    if (partial) await fs.rm(partial, { force: true });
    const e = error as Error & { stderr?: string };
    tried.push(`building with ${GO_TOOLCHAIN}: ${(e.stderr || e.message).trim().split('\n').slice(-3).join(' / ')}`);
    throw fail();
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
  if (!(await allExecutable(cached))) throw new Error(`the Go build finished, yet ${bin} does not hold ${names.join(' and ')}`);
  log(`${spec.title}: built ${names.map((name) => cached[name]).join(', ')}`);
  return cached;
}

async function allExecutable(files: Record<string, string>): Promise<boolean> {
  return (await Promise.all(Object.values(files).map(isExecutable))).every(Boolean);
}

function isExecutable(file: string): Promise<boolean> {
  return fs.access(file, fsConstants.X_OK).then(
    () => true,
    () => false,
  );
}
