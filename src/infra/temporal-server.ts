import { execFile } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { temporalCacheDir } from './temporal-cli';

const execFileAsync = promisify(execFile);

/** The Temporal server `npm run cluster` runs: pinned, and built with the Go toolchain it needs. */
export const TEMPORAL_SERVER_VERSION = 'v1.32.2';
const GO_TOOLCHAIN = 'go1.27.3';
const MODULE = 'go.temporal.io/server';
const BUILD_TIMEOUT_MS = 20 * 60_000;

/** The server and its SQL schema tool (which embeds the schema of its version). */
export interface TemporalServerParts {
  server: string;
  sqlTool: string;
}

/**
 * Finds the parts, in order: TEMPORAL_SERVER_PATH + TEMPORAL_SQL_TOOL_PATH; the cache
 * (`VIP_ROUTER_CACHE_DIR/temporal-server-<version>`); else builds them there with `go install` (about 5 minutes on 2
 * cores, once). Fails with every route tried and why.
 */
export async function resolveTemporalServer(log: (line: string) => void = () => undefined, env: NodeJS.ProcessEnv = process.env): Promise<TemporalServerParts> {
  const tried: string[] = [];
  const { TEMPORAL_SERVER_PATH: server, TEMPORAL_SQL_TOOL_PATH: sqlTool } = env;
  if (server || sqlTool) {
    if (server && sqlTool && (await usable({ server, sqlTool }))) return { server, sqlTool };
    tried.push('TEMPORAL_SERVER_PATH and TEMPORAL_SQL_TOOL_PATH: set, but not both, or not executable files');
  } else tried.push('TEMPORAL_SERVER_PATH, TEMPORAL_SQL_TOOL_PATH: not set');

  const home = path.join(temporalCacheDir(env), `temporal-server-${TEMPORAL_SERVER_VERSION}`);
  const cached = { server: path.join(home, 'bin', 'server'), sqlTool: path.join(home, 'bin', 'sql') };
  if (await usable(cached)) {
    log(`temporal server: using ${cached.server} (${TEMPORAL_SERVER_VERSION})`);
    return cached;
  }
  tried.push(`${home}: not built yet`);

  try {
    await execFileAsync('go', ['version'], { timeout: 30_000 });
  } catch (error) {
    tried.push(`go install: no Go toolchain on PATH (${(error as Error).message.split('\n')[0]})`);
    throw new Error(`cannot find or build the Temporal server ${TEMPORAL_SERVER_VERSION}; tried:\n  - ${tried.join('\n  - ')}`);
  }
  log(`temporal server: building ${MODULE} ${TEMPORAL_SERVER_VERSION} and its SQL tool with ${GO_TOOLCHAIN} into ${home} (about 5 minutes, once)`);
  const goEnv = { ...env, GOTOOLCHAIN: GO_TOOLCHAIN, GOBIN: path.join(home, 'bin'), GOFLAGS: '-mod=mod' };
  try {
    for (const cmd of ['cmd/server', 'cmd/tools/sql']) {
      await execFileAsync('go', ['install', `${MODULE}/${cmd}@${TEMPORAL_SERVER_VERSION}`], { env: goEnv, timeout: BUILD_TIMEOUT_MS, maxBuffer: 64 * 2 ** 20 });
    }
  } catch (error) {
    const e = error as Error & { stderr?: string };
    tried.push(`go install with ${GO_TOOLCHAIN}: ${(e.stderr || e.message).trim().split('\n').slice(-3).join(' / ')}`);
    throw new Error(`cannot find or build the Temporal server ${TEMPORAL_SERVER_VERSION}; tried:\n  - ${tried.join('\n  - ')}`);
  }
  if (!(await usable(cached))) throw new Error(`go install finished, yet ${home} does not hold the server and the SQL tool`);
  log(`temporal server: built ${cached.server}`);
  return cached;
}

async function usable(parts: TemporalServerParts): Promise<boolean> {
  const ok = (check: Promise<unknown>) =>
    check.then(
      () => true,
      () => false,
    );
  const [server, sqlTool] = await Promise.all([ok(fs.access(parts.server, fsConstants.X_OK)), ok(fs.access(parts.sqlTool, fsConstants.X_OK))]);
  return server && sqlTool;
}
