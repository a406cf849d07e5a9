import { Client, Connection } from '@temporalio/client';
import { loadServiceConfig } from '../config';
import { createPool, migrateDatabase } from '../db/pool';
import { createLogger, redactUrl } from '../logger';
import { createApp } from './app';

/** Production entry (`npm run api`): the HTTP API against an existing Temporal server and PostgreSQL. */
async function main(): Promise<void> {
  // Until the server listens there is nothing to drain: a stop request just ends the process.
  let stop: () => void = () => process.exit(0);
  process.once('SIGINT', () => stop());
  process.once('SIGTERM', () => stop());
  const { env, routing } = loadServiceConfig();
  const log = createLogger(env.LOG_LEVEL);
  if (!env.TEMPORAL_ADDRESS || !env.DATABASE_URL) throw new Error('the API needs TEMPORAL_ADDRESS and DATABASE_URL (npm start runs everything locally)');
  const db = createPool(env.DATABASE_URL);
  await migrateDatabase(db);
  const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
  const client = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
  const app = createApp({ client, db, routing, taskQueue: env.TEMPORAL_TASK_QUEUE, log });
  const server = app.listen(env.PORT, () => {
    log.info({ port: env.PORT, temporal: env.TEMPORAL_ADDRESS, database: redactUrl(env.DATABASE_URL!) }, 'API listening');
  });
  stop = () => {
    server.close(() => {
      connection
        .close()
        .then(() => db.end())
        .catch((error: unknown) => {
          log.error({ err: error }, 'shutdown failed');
          process.exitCode = 1;
        });
    });
  };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
