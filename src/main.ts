import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createApp } from './api/app';
import { loadServiceConfig } from './config';
import { createPool, migrateDatabase } from './db/pool';
import { seedDemoDataIfEmpty } from './db/seed';
import { startEmbeddedPostgres } from './infra/embedded-postgres';
import { resolveTemporalBinary } from './infra/temporal-cli';
import { startTemporalDevServer } from './infra/temporal-dev-server';
import { createLogger, redactUrl } from './logger';
import { routeTemporalLogs } from './temporal';
import { createRoutingWorker, prebuiltWorkflowBundle } from './worker';

/**
 * `npm start`: the whole service on one machine. Without TEMPORAL_ADDRESS it runs the Temporal dev
 * server, without DATABASE_URL an embedded PostgreSQL, both keeping their data under .data/.
 */
async function main(): Promise<void> {
  const { env, routing, directoryUrl } = loadServiceConfig();
  const log = createLogger(env.LOG_LEVEL);
  routeTemporalLogs(log);
  const dataDir = resolve(env.VIP_ROUTER_DATA_DIR);
  mkdirSync(dataDir, { recursive: true });
  const stops: Array<() => Promise<unknown>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((error: unknown) => log.warn({ err: error }, 'shutdown step failed'));
  };

  try {
    let databaseUrl = env.DATABASE_URL;
    if (!databaseUrl) {
      log.info('starting embedded PostgreSQL');
      const postgres = await startEmbeddedPostgres({ dataDir: join(dataDir, 'postgres'), handleSignals: false });
      stops.push(() => postgres.stop());
      databaseUrl = postgres.url;
    }

    let temporalAddress = env.TEMPORAL_ADDRESS;
    let temporalUi: string | undefined;
    if (!temporalAddress) {
      const binary = await resolveTemporalBinary('cli', { log: (line) => log.info(line) });
      if (binary.type !== 'existing-path') {
        throw new Error('no Temporal CLI binary could be found or installed; set TEMPORAL_CLI_PATH or TEMPORAL_ADDRESS');
      }
      log.info({ binary: binary.path }, 'starting Temporal dev server');
      const server = await startTemporalDevServer({
        binary: binary.path,
        dbFile: join(dataDir, 'temporal.db'),
        port: env.TEMPORAL_PORT,
        uiPort: env.TEMPORAL_UI_PORT,
        namespace: env.TEMPORAL_NAMESPACE,
      });
      stops.push(() => server.stop());
      temporalAddress = server.address;
      temporalUi = server.uiUrl;
    }

    const db = createPool(databaseUrl);
    stops.push(() => db.end());
    await migrateDatabase(db);
    if (env.VIP_ROUTER_SEED_DEMO === '1' && (await seedDemoDataIfEmpty(db))) log.info('seeded demo agents and directory customers');

    const workerConnection = await NativeConnection.connect({ address: temporalAddress });
    stops.push(() => workerConnection.close());
    const worker = await createRoutingWorker({
      connection: workerConnection,
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue: env.TEMPORAL_TASK_QUEUE,
      db,
      outbound: { webhookUrl: env.OUTBOUND_WEBHOOK_URL, webhookSecret: env.OUTBOUND_WEBHOOK_SECRET },
      workflowBundlePath: prebuiltWorkflowBundle(),
      directoryUrl,
    });
    const clientConnection = await Connection.connect({ address: temporalAddress });
    stops.push(() => clientConnection.close());
    const client = new Client({ connection: clientConnection, namespace: env.TEMPORAL_NAMESPACE });

    const app = createApp({ client, db, routing, taskQueue: env.TEMPORAL_TASK_QUEUE, log });
    const server = await new Promise<import('node:http').Server>((ready, fail) => {
      const listening = app.listen(env.PORT, '0.0.0.0', () => ready(listening)).once('error', fail);
    });
    stops.push(() => new Promise((done) => server.close(done)));

    const running = worker.run();
    log.info({ database: redactUrl(databaseUrl), temporal: temporalAddress }, 'vip-router is running');
    console.log(`\n  vip-router API   http://localhost:${env.PORT}`);
    if (temporalUi) console.log(`  Temporal UI      ${temporalUi}`);
    console.log(`  Temporal server  ${temporalAddress} (namespace ${env.TEMPORAL_NAMESPACE})\n  Ctrl-C stops everything; data stays in ${dataDir}\n`);

    // Worker.run drains on SIGINT/SIGTERM and resolves; then the rest shuts down in reverse order.
    await running;
    log.info('shutting down');
  } finally {
    await stopAll();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
