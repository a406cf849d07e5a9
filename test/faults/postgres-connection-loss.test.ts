import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { envWithout, TEST_RUNNER_VARS } from '../support/processes';
import { launch, waitUntil } from '../../src/local/processes';
import { acquireTestServers, createScratchDatabase } from '../support/servers';

/**
 * The fault suite's PostgreSQL case, narrowed to its cause: when PostgreSQL goes away (killed, restarted, failed
 * over) while a process holds a transaction (every dispatch, release, withdrawal, transfer and agent change does),
 * the process must lose the transaction, not its life. pg emits 'error' on a client checked out of the pool, and a
 * client checked out has no listener of the pool's.
 */
describe('a transaction whose PostgreSQL connection is cut', () => {
  let release: () => Promise<void> = async () => undefined;
  let databaseUrl: string;

  before(async () => {
    const acquired = await acquireTestServers();
    release = acquired.release;
    databaseUrl = await createScratchDatabase(acquired.servers.databaseUrl);
  });
  after(() => release());

  it('rolls back and leaves the process running (src/db/pool.ts inTransaction)', async () => {
    const child = launch('transaction', process.execPath, ['--import', 'tsx', join(__dirname, '..', 'support', 'faults', 'transaction-child.ts')], { cwd: process.cwd(), env: {
      ...envWithout(TEST_RUNNER_VARS),
      DATABASE_URL: databaseUrl,
    } });
    try {
      const backend = await waitUntil('the child is inside its transaction', async () => /backend (\d+)/.exec(child.output())?.[1], { timeoutMs: 20_000, detail: () => child.output() });
      const admin = new pg.Client({ connectionString: databaseUrl });
      await admin.connect();
      try {
        // What a PostgreSQL restart does to every connection: the server ends it.
        await admin.query('SELECT pg_terminate_backend($1)', [Number(backend)]);
      } finally {
        await admin.end();
      }
      const exit = await child.exited;
      assert.deepEqual(
        { exit, survived: child.output().includes('alive') },
        { exit: { code: 0, signal: null }, survived: true },
        `the process died with the connection:\n${child.output()}`,
      );
    } finally {
      if (!child.exit) child.child.kill('SIGKILL');
    }
  });
});
