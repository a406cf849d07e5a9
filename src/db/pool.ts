import pg from 'pg';
import { join } from 'node:path';
import { migrate } from 'postgres-migrations';

export type Db = pg.Pool;
export type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

export function createPool(connectionString: string, max = 10): Db {
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

/** Runs `work` in a transaction, rolling back on any error. */
export async function inTransaction<T>(pool: Db, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
