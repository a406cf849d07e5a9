import { constants, existsSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { runToEnd } from '../../src/local/processes';

/**
 * A program some tests need from Debian's package archive (Chromium, promtool). `npm test` calls ensureTool before
 * the test files run when one of them needs it; the tests themselves only look (findTool), and fail when it is not
 * there.
 */
export interface DebianTool {
  /** What the messages call it. */
  name: string;
  /** The Debian package that installs it. */
  debianPackage: string;
  /** Where the package puts it, first found wins. */
  paths: string[];
  /** A variable naming another executable, for machines without the package. */
  pathVariable: string;
}

const APT_INSTALL_TIMEOUT_MS = 10 * 60_000;

/** The path the variable names when set (and it must then be there), else the first of the package's that is executable. */
export async function findTool(tool: DebianTool, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const chosen = env[tool.pathVariable];
  if (chosen) {
    if (!(await isExecutable(chosen))) throw new Error(`${tool.pathVariable}=${chosen} is not an executable file`);
    return chosen;
  }
  for (const path of tool.paths) if (await isExecutable(path)) return path;
  return undefined;
}

async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/**
 * The tool's path; when there is none and this is Debian run by root (CI), `apt-get install` of its package first.
 * Anywhere else it says what to install rather than asking for a password.
 */
export async function ensureTool(tool: DebianTool, log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const found = await findTool(tool, env);
  const label = tool.debianPackage;
  if (found) {
    log(`${label}: using ${found}`);
    return found;
  }
  const looked = `looked at ${[tool.pathVariable, ...tool.paths].join(', ')}`;
  if (process.getuid?.() !== 0 || !existsSync('/etc/debian_version') || !existsSync('/usr/bin/apt-get')) {
    throw new Error(`no ${tool.name} for the tests (${looked}): install Debian's ${tool.debianPackage} package or set ${tool.pathVariable}`);
  }
  log(`${label}: none found (${looked}); installing Debian's ${tool.debianPackage} package: apt-get update && apt-get install -y --no-install-recommends ${tool.debianPackage}`);
  await run('apt-get', ['update'], log);
  await run('apt-get', ['install', '-y', '--no-install-recommends', tool.debianPackage], log);
  const installed = await findTool(tool, env);
  if (!installed) throw new Error(`apt-get installed ${tool.debianPackage}, yet no ${tool.name} is found (${looked})`);
  log(`${label}: installed ${installed}`);
  return installed;
}

async function run(command: string, args: string[], log: (line: string) => void): Promise<void> {
  await runToEnd(command, args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeoutMs: APT_INSTALL_TIMEOUT_MS }).catch((error: Error) => {
    log(error.message);
    throw error;
  });
}
