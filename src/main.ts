import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { apiFromEnv } from './api/server';
import { type Env, loadServiceConfig } from './service/config';
import { createPool, migrateDatabase } from './db/pool';
import { seedDemoDataIfEmpty } from './db/seed';
import { startEmbeddedPostgres } from './local/embedded-postgres';
import { findFreePort } from './local/ports';
import { writeLocalRuntime } from './local/runtime-file';
import { resolveTemporalBinary } from './local/temporal-cli';
import { startTemporalDevServer } from './local/temporal-dev-server';
import { createLogger, type Logger, redactUrl } from './observability/logger';
import { ApiKeys, bootstrapApiKeys } from './security/api-key-tokens';
import { payloadCodec, runUntilSignalled, type Started, temporalConnection } from './service/compose';
import { routeTemporalLogs } from './temporal/runtime';
import { describeTemporalConnection } from './temporal/connection';
import { workerFromEnv } from './worker';
import { ROUTING_SEARCH_ATTRIBUTES } from './workflows/search-attributes';

/** Keys `npm start` makes anew at each start for its own parts, the previous ones revoked. */
const WORKER_KEY_NAME = 'npm start: worker (built-in directory)';
const UI_CODEC_KEY_NAME = 'npm start: Temporal UI codec';

/**
 * `npm start`: the whole service on one machine. Without TEMPORAL_ADDRESS it runs the Temporal dev server, without
 * DATABASE_URL an embedded PostgreSQL, both keeping their data under .data/ and in process groups of their own, so
 * that Ctrl-C stops the API, then the worker (its tasks in flight finish), and only then Temporal and PostgreSQL.
 */
async function main(): Promise<void> {
  // The routing config is checked here, before anything starts; the worker and the API read it again.
  const { env } = loadServiceConfig();
  const log = createLogger(env.LOG_LEVEL);
  routeTemporalLogs(log, { metricsPort: await findFreePort(), shutdownSignals: [] });
  const dataDir = resolve(env.VIP_ROUTER_DATA_DIR);
  mkdirSync(dataDir, { recursive: true });
  await runUntilSignalled(log, (started) => startLocally(env, dataDir, log, started));
}

async function startLocally(env: Env, dataDir: string, log: Logger, started: Started): Promise<void> {
  let databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) {
    log.info('starting embedded PostgreSQL');
    const postgres = await startEmbeddedPostgres({ dataDir: join(dataDir, 'postgres'), detached: true });
    started('PostgreSQL', postgres.stop);
    databaseUrl = postgres.url;
  }
  const keys = await prepareDatabase(env, databaseUrl, log);
  const { codec, keys: codecKeys } = await payloadCodec({ dataDir, generate: true });
  log.info({ codecKeys: codec.keyIds, source: codecKeys.source, path: codecKeys.path }, 'payloads are encrypted before they reach Temporal');
  // Known before listening: the Temporal UI is told where the codec endpoint is when the dev server starts.
  const port = env.PORT || (await findFreePort('0.0.0.0'));
  const apiUrl = `http://localhost:${port}`;

  let temporalAddress = env.TEMPORAL_ADDRESS;
  let temporalUi: string | undefined;
  const corsOrigins = [...env.VIP_ROUTER_CODEC_CORS_ORIGINS];
  try {
    if (!temporalAddress) {
      const binary = await resolveTemporalBinary('cli', { log: (line) => log.info(line) });
      if (binary.type !== 'existing-path') throw new Error('no Temporal CLI binary could be found or installed; set TEMPORAL_CLI_PATH or TEMPORAL_ADDRESS');
      log.info({ binary: binary.path }, 'starting Temporal dev server');
      const server = await startTemporalDevServer({
        binary: binary.path,
        dbFile: join(dataDir, 'temporal.db'),
        port: env.TEMPORAL_PORT,
        uiPort: env.TEMPORAL_UI_PORT,
        namespace: env.TEMPORAL_NAMESPACE,
        uiCodecEndpoint: `http://127.0.0.1:${port}/codec/ui/${await keys.uiCodecKey()}`,
        searchAttributes: ROUTING_SEARCH_ATTRIBUTES,
        detached: true,
      });
      started('Temporal dev server', server.stop);
      temporalAddress = server.address;
      temporalUi = server.uiUrl;
      if (temporalUi) corsOrigins.push(temporalUi, temporalUi.replace('127.0.0.1', 'localhost'));
    }
  } finally {
    await keys.done();
  }

  // What this start adds to the environment the worker and the API read.
  const local: Env = {
    ...env,
    PORT: port,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_UI_URL: env.TEMPORAL_UI_URL ?? temporalUi,
    VIP_ROUTER_API_KEY: keys.workerKey,
    VIP_ROUTER_CODEC_CORS_ORIGINS: corsOrigins,
  };
  const worker = workerFromEnv(local, log, { codec });
  await worker.start();
  started('worker', worker.stop);
  const api = apiFromEnv(local, log, { codec });
  await api.start();
  started('API', api.stop);
  const runtime = { pid: process.pid, databaseUrl, temporalAddress, namespace: env.TEMPORAL_NAMESPACE, taskQueue: env.TEMPORAL_TASK_QUEUE, apiUrl };
  started(undefined, await writeLocalRuntime(dataDir, runtime));

  const temporal = temporalConnection(local, temporalAddress);
  log.info(
    { database: redactUrl(databaseUrl), temporal: temporalAddress, connection: describeTemporalConnection(temporal), respondio: env.RESPONDIO_API_TOKEN ? 'on' : 'off' },
    'vip-router is running',
  );
  console.log(`\n  vip-router API   ${apiUrl}`);
  console.log(`  Operator page    ${apiUrl}/ui   (enter an API key: read to watch, admin to change presence)`);
  if (temporalUi) console.log(`  Temporal UI      ${temporalUi}   (payloads decrypted through the API's codec endpoint)`);
  console.log(`  Temporal server  ${temporalAddress} (namespace ${env.TEMPORAL_NAMESPACE})\n  Ctrl-C stops everything; data stays in ${dataDir}\n`);
  if (keys.firstAdminKey) {
    console.log(`  Your admin API key (shown this once; store it now):\n\n    ${keys.firstAdminKey}\n`);
    console.log(`  curl -H "Authorization: Bearer ${keys.firstAdminKey}" ${apiUrl}/v1/agents\n`);
  }
}

/**
 * The database made ready for a local start: migrated, seeded with the demo when asked, the first admin key made
 * (and shown once), and the keys of npm start's own parts made anew: the worker's for the built-in directory, and
 * Temporal UI's decode-only codec key (when the dev server runs). done() lets go of the pool.
 */
async function prepareDatabase(env: Env, databaseUrl: string, log: Logger) {
  const db = createPool(databaseUrl, 2);
  try {
    await migrateDatabase(db);
    if (env.VIP_ROUTER_SEED_DEMO === '1' && (await seedDemoDataIfEmpty(db))) log.info('seeded demo agents and directory customers');
    const apiKeys = new ApiKeys(db);
    const { created: firstAdminKey } = await bootstrapApiKeys(apiKeys, { bootstrapKey: env.VIP_ROUTER_BOOTSTRAP_API_KEY, createIfNone: true });
    const workerKey = env.VIP_ROUTER_API_KEY ?? (await apiKeys.renew('read', WORKER_KEY_NAME));
    return { firstAdminKey, workerKey, uiCodecKey: () => apiKeys.renew('decode', UI_CODEC_KEY_NAME), done: () => db.end() };
  } catch (error) {
    await db.end();
    throw error;
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
