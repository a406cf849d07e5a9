import type { ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';
import type { TemporalConnectionOptions } from '../temporal-connection';

const READY_PROBE_TIMEOUT_MS = 2_000;
const READY_RETRY_MS = 200;

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited (at once if it already has). */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  const escalation = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(escalation);
}

/**
 * Polls `check` until it answers true (a throw counts as not yet). Gives up after `timeoutMs`, or as soon as `gone`
 * names a reason (e.g. the process that should answer has exited); `detail` adds what explains a failure.
 */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  { timeoutMs, intervalMs = 500, gone = () => undefined, detail = () => '' }: { timeoutMs: number; intervalMs?: number; gone?: () => string | undefined; detail?: () => string },
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reason = gone();
    if (reason) throw new Error(`${reason} before ${what}${detail()}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s${detail()}`);
    await new Promise((tick) => setTimeout(tick, intervalMs));
  }
}

/**
 * Resolves once the Temporal frontend at `target` (an address, or connection options with TLS) answers for
 * `namespace` (`temporal-system` exists on any server, before a namespace of ours is registered). `assertAlive` throws
 * to give up early, e.g. when the server exited.
 */
export async function waitUntilServing(
  target: string | TemporalConnectionOptions,
  namespace: string,
  timeoutMs: number,
  assertAlive: () => void = () => undefined,
): Promise<void> {
  const options = typeof target === 'string' ? { address: target } : target;
  const address = options.address;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    assertAlive();
    if (Date.now() > deadline) {
      throw new Error(`Temporal at ${address} did not serve namespace ${namespace} within ${timeoutMs} ms`, { cause: lastError });
    }
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ ...options, connectTimeout: READY_PROBE_TIMEOUT_MS });
      const conn = connection;
      await conn.withDeadline(Date.now() + READY_PROBE_TIMEOUT_MS, () => conn.workflowService.describeNamespace({ namespace }));
      return;
    } catch (err) {
      lastError = err;
    } finally {
      await connection?.close().catch(() => undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, READY_RETRY_MS));
  }
}
