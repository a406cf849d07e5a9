import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createApp } from './api/app';
import { directoryUrlFromEnv, loadServiceConfig } from './config';
import { createPool, migrateDatabase } from './db/pool';
import { seedDemoDataIfEmpty } from './db/seed';
import { startEmbeddedPostgres } from './infra/embedded-postgres';
import { findFreePort } from './infra/ports';
import { resolveTemporalBinary } from './infra/temporal-cli';
import { startTemporalDevServer } from './infra/temporal-dev-server';
import { createLogger, redactUrl } from './logger';
import { writeLocalRuntime } from './runtime-file';
import { ApiKeys, bootstrapApiKeys } from './security/api-keys';
import { agentSyncSettings, apiClient, apiSettings, payloadCodec, respondioClient, temporalConnection } from './service';
import { routeTemporalLogs } from './temporal';
import { describeTemporalConnection } from './temporal-connection';
import { ensureSearchAttributes } from './visibility-setup';
import { createRoutingWorker, prebuiltWorkflowBundle } from './worker';
import { ROUTING_SEARCH_ATTRIBUTES } from './workflows/search-attributes';

/** Keys `npm start` makes anew at each start for its own parts, the previous ones revoked. */
const WORKER_KEY_NAME = 'npm start: worker (built-in directory)';
const UI_CODEC_KEY_NAME = 'npm start: Temporal UI codec';

/**
 * `npm start`: the whole service on one machine. Without TEMPORAL_ADDRESS it runs the Temporal dev
 * server, without DATABASE_URL an embedded PostgreSQL, both keeping their data under .data/.
 */
async function main(): Promise<void> {
  const { env, routing } = loadServiceConfig();
  const log = createLogger(env.LOG_LEVEL);
  routeTemporalLogs(log, { metricsPort: await findFreePort() });
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
    const db = createPool(databaseUrl);
    stops.push(() => db.end());
    await migrateDatabase(db);
    if (env.VIP_ROUTER_SEED_DEMO === '1' && (await seedDemoDataIfEmpty(db))) log.info('seeded demo agents and directory customers');

    const apiKeys = new ApiKeys(db);
    const { created: firstAdminKey } = await bootstrapApiKeys(apiKeys, { bootstrapKey: env.VIP_ROUTER_BOOTSTRAP_API_KEY, createIfNone: true });
    const workerKey = env.VIP_ROUTER_API_KEY ?? (await apiKeys.renew('read', WORKER_KEY_NAME));
    const { codec, keys } = await payloadCodec({ dataDir, generate: true });
    log.info({ codecKeys: codec.keyIds, source: keys.source, path: keys.path }, 'payloads are encrypted before they reach Temporal');
    // Known before listening: the Temporal UI is told where the codec endpoint is when the dev server starts.
    const port = env.PORT || (await findFreePort('0.0.0.0'));
    const apiUrl = `http://localhost:${port}`;

    let temporalAddress = env.TEMPORAL_ADDRESS;
    let temporalUi: string | undefined;
    const corsOrigins = [...env.VIP_ROUTER_CODEC_CORS_ORIGINS];
    if (!temporalAddress) {
      const binary = await resolveTemporalBinary('cli', { log: (line) => log.info(line) });
      if (binary.type !== 'existing-path') {
        throw new Error('no Temporal CLI binary could be found or installed; set TEMPORAL_CLI_PATH or TEMPORAL_ADDRESS');
      }
      log.info({ binary: binary.path }, 'starting Temporal dev server');
      const uiCodecKey = await apiKeys.renew('decode', UI_CODEC_KEY_NAME);
      const server = await startTemporalDevServer({
        binary: binary.path,
        dbFile: join(dataDir, 'temporal.db'),
        port: env.TEMPORAL_PORT,
        uiPort: env.TEMPORAL_UI_PORT,
        namespace: env.TEMPORAL_NAMESPACE,
        uiCodecEndpoint: `http://127.0.0.1:${port}/codec/ui/${uiCodecKey}`,
        searchAttributes: ROUTING_SEARCH_ATTRIBUTES,
      });
      stops.push(() => server.stop());
      temporalAddress = server.address;
      temporalUi = server.uiUrl;
      if (temporalUi) corsOrigins.push(temporalUi, temporalUi.replace('127.0.0.1', 'localhost'));
    }
    const temporal = temporalConnection(env, temporalAddress);

    const workerConnection = await NativeConnection.connect(temporal);
    stops.push(() => workerConnection.close());
    const respondio = respondioClient(env);
    const worker = await createRoutingWorker({
      connection: workerConnection,
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue: env.TEMPORAL_TASK_QUEUE,
      db,
      codec,
      outbound: { webhookUrl: env.OUTBOUND_WEBHOOK_URL, webhookSecret: env.OUTBOUND_WEBHOOK_SECRET },
      workflowBundlePath: prebuiltWorkflowBundle(),
      directoryUrl: directoryUrlFromEnv({ ...env, PORT: port }),
      directoryApiKey: workerKey,
      routing,
      crmEnvNames: env.VIP_ROUTER_CRM_ENV,
      acceptPlaintext: env.VIP_ROUTER_CODEC_PLAINTEXT === 'accept',
      respondio,
      agentSync: agentSyncSettings(env),
      transcriptRetentionMs: env.VIP_ROUTER_TRANSCRIPT_RETENTION ?? null,
      maxCachedWorkflows: env.VIP_ROUTER_WORKFLOW_CACHE,
    });
    const clientConnection = await Connection.connect(temporal);
    stops.push(() => clientConnection.close());
    const client = apiClient(clientConnection, env, codec);
    const searchAttributes = await ensureSearchAttributes(clientConnection, env.TEMPORAL_NAMESPACE, log);

    const { app, inbox } = createApp({
      client,
      db,
      routing,
      log,
      apiKeys,
      ...apiSettings(env),
      temporalUiUrl: env.TEMPORAL_UI_URL ?? temporalUi,
      searchAttributes,
      codec: { codec, corsOrigins },
    });
    const server = await new Promise<import('node:http').Server>((ready, fail) => {
      const listening = app.listen(port, '0.0.0.0', () => ready(listening)).once('error', fail);
    });
    stops.push(() => new Promise((done) => server.close(done)));
    inbox.start();
    stops.push(() => inbox.stop());
    stops.push(
      await writeLocalRuntime(dataDir, {
        pid: process.pid,
        databaseUrl,
        temporalAddress,
        namespace: env.TEMPORAL_NAMESPACE,
        taskQueue: env.TEMPORAL_TASK_QUEUE,
        apiUrl,
      }),
    );

    const running = worker.run();
    log.info(
      { database: redactUrl(databaseUrl), temporal: temporalAddress, connection: describeTemporalConnection(temporal), respondio: respondio ? 'on' : 'off' },
      'vip-router is running',
    );
    console.log(`\n  vip-router API   ${apiUrl}`);
    console.log(`  Operator page    ${apiUrl}/ui   (enter an API key: read to watch, admin to change presence)`);
    if (temporalUi) console.log(`  Temporal UI      ${temporalUi}   (payloads decrypted through the API's codec endpoint)`);
    console.log(`  Temporal server  ${temporalAddress} (namespace ${env.TEMPORAL_NAMESPACE})\n  Ctrl-C stops everything; data stays in ${dataDir}\n`);
    if (firstAdminKey) {
      console.log(`  Your admin API key (shown this once; store it now):\n\n    ${firstAdminKey}\n`);
      console.log(`  curl -H "Authorization: Bearer ${firstAdminKey}" ${apiUrl}/v1/agents\n`);
    }

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
