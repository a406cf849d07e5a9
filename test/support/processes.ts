import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';

/**
 * Helpers for the tests that run the service's real entries as child processes (test/start.test.ts,
 * test/production.test.ts): the child itself with its output and exit, polling until a deadline, JSON over HTTP,
 * and the environment the children inherit.
 */

const POLL_MS = 100;

/**
 * Env vars the service reads that would steer a child away from what a test sets up (PORT and LOG_LEVEL
 * included: a test that wants them sets them after dropping the inherited ones).
 */
export const STEERING_VARS: readonly string[] = [
  'PORT',
  'DATABASE_URL',
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_TASK_QUEUE',
  'VIP_ROUTER_API_URL',
  'VIP_ROUTER_SEED_DEMO',
  'ROUTING_CONFIG',
  'OUTBOUND_WEBHOOK_URL',
  'OUTBOUND_WEBHOOK_SECRET',
  'LOG_LEVEL',
  'VIP_ROUTER_BOOTSTRAP_API_KEY',
  'VIP_ROUTER_API_KEY',
  'VIP_ROUTER_CODEC_KEYS',
  'VIP_ROUTER_CODEC_KEYS_FILE',
  'RESPONDIO_API_TOKEN',
  'RESPONDIO_API_URL',
  'RESPONDIO_WEBHOOK_SIGNING_KEYS',
];

/** Env vars node's test runner sets for the test process, which a plain `node` entry should not inherit. */
export const TEST_RUNNER_VARS: readonly string[] = ['NODE_OPTIONS', 'NODE_TEST_CONTEXT'];

/** A copy of `env` (the test process' own by default) without the named vars. */
export function envWithout(names: readonly string[], env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const copy = { ...env };
  for (const name of names) delete copy[name];
  return copy;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Proc {
  name: string;
  child: ChildProcess;
  /** stdout and stderr so far, interleaved. */
  output(): string;
  exited: Promise<Exit>;
  /** Set once the process has exited. */
  exit?: Exit;
}

/**
 * Spawns `command` with stdout and stderr captured. `detached` puts it in its own process group, so the caller can
 * signal the whole tree with `process.kill(-pid, …)` (a group SIGINT is what Ctrl-C sends).
 */
export function run(
  name: string,
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  options: { detached?: boolean } = {},
): Proc {
  const child = spawn(command, args, { cwd, env, detached: options.detached ?? false, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const proc: Proc = {
    name,
    child,
    output: () => output,
    exited: new Promise((done) => {
      child.once('exit', (code, signal) => {
        proc.exit = { code, signal };
        done({ code, signal });
      });
    }),
  };
  return proc;
}

/** Thrown by a probe when waiting longer cannot help (a process exited): waitFor fails at once. */
export class Hopeless extends Error {}

/**
 * Calls `probe` every 100 ms until it returns a value other than undefined, and returns that value. A probe that
 * throws is retried (its last error is shown if the deadline passes), unless it throws Hopeless. `context` adds to
 * the failure message (say the children's output).
 */
export async function waitFor<T>(what: string, deadlineMs: number, probe: () => Promise<T | undefined>, context = () => ''): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      if (error instanceof Hopeless) assert.fail(`${what}: ${error.message}\n${context()}`);
      last = error;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? last.message : String(last ?? 'condition never held');
      assert.fail(`${what}: not within ${deadlineMs} ms (${why})\n${context()}`);
    }
    await new Promise((tick) => setTimeout(tick, POLL_MS));
  }
}

/**
 * An HTTP request with an optional JSON body and API key; the response body parsed as JSON, or its text when it is
 * not JSON.
 */
export async function request(url: string, method = 'GET', body?: unknown, apiKey?: string): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (apiKey) headers['authorization'] = `Bearer ${apiKey}`;
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (the Temporal UI's HTML, an error page): keep the text for the failure message
  }
  return { status: response.status, body: parsed };
}
