import { type Browser, chromium } from 'playwright-core';
import { type DebianTool, ensureTool, findTool } from './debian-tool';

/** The browser tests drive Debian's Chromium through playwright-core (which downloads no browser of its own). */
const CHROMIUM: DebianTool = { name: 'Chromium', debianPackage: 'chromium', paths: ['/usr/bin/chromium', '/usr/bin/chromium-browser'], pathVariable: 'CHROMIUM_PATH' };

const findChromium = (env: NodeJS.ProcessEnv = process.env) => findTool(CHROMIUM, env);

/** Chromium's path; as root on Debian (CI), `apt-get install chromium` first when there is none. */
export const ensureChromium = (log: (line: string) => void, env: NodeJS.ProcessEnv = process.env) => ensureTool(CHROMIUM, log, env);

/** Headless Chromium; as root (CI) without its sandbox, which needs user namespaces root does not get. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = await findChromium();
  if (!executablePath) {
    throw new Error(`no Chromium (looked at CHROMIUM_PATH, ${CHROMIUM.paths.join(', ')}): npm test installs Debian's chromium as root, or set CHROMIUM_PATH`);
  }
  return chromium.launch({ executablePath, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
}
