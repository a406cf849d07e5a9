import pg from 'pg';
import { join } from 'node:path';
// The package declares its types only through `exports`, which our `moduleResolution: node` does not read.
import type * as NodePgMigrate from 'node-pg-migrate/dist/bundle/index';
import { LEGACY_LOCK_ID, legacyAppliedMigrations } from './legacy-migrations';

// require(): the package is ESM, which Node >= 20.19 can require.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { PG_MIGRATE_LOCK_ID, runner } = require('node-pg-migrate') as typeof NodePgMigrate;

export type Db = pg.Pool;
export type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

/** Connections each worker and API process keeps at most. */
export const APP_POOL_SIZE = 10;

export function createPool(connectionString: string, max = APP_POOL_SIZE): Db {
  const pool = new pg.Pool({ connectionString, max });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}

const MIGRATIONS_DIR = join(__dirname, 'migrations');

/** node-pg-migrate's record of what it applied (its default name). */
const MIGRATIONS_TABLE = 'pgmigrations';

export interface MigrationReport {
  /** Files postgres-migrations had applied, recorded as applied without running them again. */
  carriedOver: string[];
  /** Files applied now. */
  applied: string[];
}

/**
 * Applies src/db/migrations/NNN_name.sql in order with node-pg-migrate, all pending files in one transaction. A
 * database migrated by postgres-migrations (the tool before) is carried over first. The API and the worker both
 * migrate at start: they take turns on node-pg-migrate's advisory lock, and the second finds nothing left to do.
 */
export async function migrateDatabase(pool: Db): Promise<MigrationReport> {
  const client = await pool.connect();
  const options: NodePgMigrate.RunnerOption = {
    dbClient: client,
    dir: MIGRATIONS_DIR,
    migrationsTable: MIGRATIONS_TABLE,
    direction: 'up',
    singleTransaction: true,
    // This function holds the lock across the carry-over and the run.
    noLock: true,
    log: () => undefined,
  };
  await client.query('SELECT pg_advisory_lock($1)', [PG_MIGRATE_LOCK_ID]);
  try {
    const carriedOver = await carryOverLegacyMigrations(client, options);
    const applied = await runner(options);
    return { carriedOver, applied: applied.map((migration) => migration.name) };
  } finally {
    // A session that cannot unlock is closed instead, which releases the lock.
    const unlockFailure = await client.query('SELECT pg_advisory_unlock($1)', [PG_MIGRATE_LOCK_ID]).then(
      () => undefined,
      (error: Error) => error,
    );
    client.release(unlockFailure);
  }
}

/**
 * Once, before node-pg-migrate's table exists: records the files postgres-migrations applied (checked against its
 * names and hashes) as applied, in one transaction. Its own table stays, so the previous release still starts.
 */
async function carryOverLegacyMigrations(client: pg.PoolClient, options: NodePgMigrate.RunnerOption): Promise<string[]> {
  await client.query('BEGIN');
  try {
    // A process of the previous release may be migrating right now: wait until it is done.
    await client.query('SELECT pg_advisory_xact_lock($1)', [LEGACY_LOCK_ID]);
    const { rows } = await client.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [MIGRATIONS_TABLE]);
    const legacy = rows[0]?.exists ? [] : await legacyAppliedMigrations(client, MIGRATIONS_DIR);
    const marked = legacy.length > 0 ? await runner({ ...options, fake: true, count: legacy.length }) : [];
    const carriedOver = marked.map((migration) => migration.name);
    if (carriedOver.join() !== legacy.join()) throw new Error(`carrying over ${legacy.join(', ')} would have recorded ${carriedOver.join(', ')}`);
    await client.query('COMMIT');
    return carriedOver;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * Runs `work` in a transaction, rolling back on any error. A connection the server ends meanwhile (PostgreSQL
 * restarted, failed over) fails the transaction, not the process: pg emits 'error' on a checked-out client, which
 * the pool does not listen to while it is out; its queries reject on their own, and the client is thrown away.
 */
export async function inTransaction<T>(pool: Db, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let lost: Error | undefined;
  const onError = (error: Error) => void (lost = error);
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    if (!lost) await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.off('error', onError);
    client.release(lost);
  }
}
