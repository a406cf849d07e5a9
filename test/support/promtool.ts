import { spawn } from 'node:child_process';
import { type DebianTool, ensureTool, findTool } from './debian-tool';

/** Prometheus' own linter of the text format, from Debian's prometheus package. */
const PROMTOOL: DebianTool = { name: 'promtool', debianPackage: 'prometheus', paths: ['/usr/bin/promtool'], pathVariable: 'PROMTOOL_PATH' };

/** promtool's path; as root on Debian (CI), `apt-get install prometheus` first when there is none. */
export const ensurePromtool = (log: (line: string) => void, env: NodeJS.ProcessEnv = process.env) => ensureTool(PROMTOOL, log, env);

/** What `promtool check metrics` finds in a scrape, one finding a line: none when it passes. */
export async function promtoolFindings(scrape: string): Promise<string[]> {
  const promtool = await findTool(PROMTOOL);
  if (!promtool) throw new Error("no promtool (looked at PROMTOOL_PATH, /usr/bin/promtool): npm test installs Debian's prometheus package as root, or set PROMTOOL_PATH");
  return new Promise((done, fail) => {
    const child = spawn(promtool, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', fail);
    child.once('exit', (code) => {
      const findings = output.split('\n').filter((line) => line.trim() !== '');
      // Exit 0 with nothing said: passed; anything else is a finding, even an exit without a line.
      done(code === 0 ? findings : findings.length > 0 ? findings : [`promtool check metrics exited ${code}`]);
    });
    child.stdin.end(scrape);
  });
}
