import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

export interface NestedRun {
  code: number | null;
  output: string;
  ms: number;
}

/**
 * `npm test -- <dir>` (scripts/test.ts) as a nested run, reporting as npm test does (not under this runner's own
 * context). The run's durations go to a file of the caller's choosing, never to this checkout's own.
 */
export function runNpmTest(dir: string, env: { VIP_ROUTER_TEST_DURATIONS: string } & NodeJS.ProcessEnv): Promise<NestedRun> {
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'test.ts'), dir], {
      cwd: ROOT,
      env: { ...process.env, NODE_TEST_CONTEXT: undefined, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('exit', (code) => {
      clearTimeout(killer);
      done({ code, output, ms: Date.now() - started });
    });
  });
}
