/**
 * Helpers for the tests that run the service's real entries as child processes (test/main.test.ts,
 * test/deploy/production-entries.test.ts), launched and waited on with src/local/processes.ts: JSON over HTTP, and the
 * environment the children inherit.
 */

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
