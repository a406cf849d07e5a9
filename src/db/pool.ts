import pg from 'pg';
import { join } from 'node:path';
import { migrate } from 'postgres-migrations';

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

/** Applies src/db/migrations/NNN_name.sql in order; already-applied files are checked by hash. */
export async function migrateDatabase(pool: Db): Promise<void> {
  const client = await pool.connect();
  try {
    await migrate({ client }, join(__dirname, 'migrations'));
  } finally {
    client.release();
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
