import { constants, existsSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { type Browser, chromium } from 'playwright-core';
import { runToEnd } from '../../src/local/processes';

/**
 * The browser tests drive Debian's Chromium through playwright-core (which downloads no browser of its own).
 * `npm test` calls ensureChromium before the test files run when one of them imports this module; the tests
 * themselves only look, and fail when there is none.
 */

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
const APT_INSTALL_TIMEOUT_MS = 10 * 60_000;

/** CHROMIUM_PATH when set (and it must then be there), else the first of Debian's paths that is executable. */
export async function findChromium(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const chosen = env['CHROMIUM_PATH'];
  if (chosen) {
    if (!(await isExecutable(chosen))) throw new Error(`CHROMIUM_PATH=${chosen} is not an executable file`);
    return chosen;
  }
  for (const path of CANDIDATES) if (await isExecutable(path)) return path;
  return undefined;
}

async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/**
 * Chromium's path; when there is none and this is Debian run by root (CI), `apt-get install chromium` first.
 * Anywhere else it says what to install rather than asking for a password.
 */
export async function ensureChromium(log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const found = await findChromium(env);
  if (found) {
    log(`chromium: using ${found}`);
    return found;
  }
  const looked = `looked at ${['CHROMIUM_PATH', ...CANDIDATES].join(', ')}`;
  if (process.getuid?.() !== 0 || !existsSync('/etc/debian_version') || !existsSync('/usr/bin/apt-get')) {
    throw new Error(`no Chromium for the browser tests (${looked}): install Debian's chromium package or set CHROMIUM_PATH`);
  }
  log(`chromium: none found (${looked}); installing Debian's chromium package: apt-get update && apt-get install -y --no-install-recommends chromium`);
  await run('apt-get', ['update'], log);
  await run('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], log);
  const installed = await findChromium(env);
  if (!installed) throw new Error(`apt-get installed chromium, yet none is found (${looked})`);
  log(`chromium: installed ${installed}`);
  return installed;
}

async function run(command: string, args: string[], log: (line: string) => void): Promise<void> {
  await runToEnd(command, args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeoutMs: APT_INSTALL_TIMEOUT_MS }).catch((error: Error) => {
    log(error.message);
    throw error;
  });
}

/** Headless Chromium; as root (CI) without its sandbox, which needs user namespaces root does not get. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = await findChromium();
  if (!executablePath) {
    throw new Error(`no Chromium (looked at CHROMIUM_PATH, ${CANDIDATES.join(', ')}): npm test installs Debian's chromium as root, or set CHROMIUM_PATH`);
  }
  return chromium.launch({ executablePath, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
}
