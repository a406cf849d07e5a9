import { Connection } from '@temporalio/client';
import { loadServiceConfig } from '../config';
import { createPool, migrateDatabase } from '../db/pool';
import { createLogger, redactUrl } from '../logger';
import { ApiKeys, bootstrapApiKeys } from '../security/api-keys';
import { apiClient, apiSettings, payloadCodec, temporalConnection } from '../service';
import { describeTemporalConnection } from '../temporal-connection';
import { ensureSearchAttributes } from '../visibility-setup';
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
  const temporal = temporalConnection(env, env.TEMPORAL_ADDRESS);
  const { codec } = await payloadCodec({ generate: false });
  const db = createPool(env.DATABASE_URL);
  await migrateDatabase(db);
  const apiKeys = new ApiKeys(db);
  const { anyActive } = await bootstrapApiKeys(apiKeys, {
    bootstrapKey: env.VIP_ROUTER_BOOTSTRAP_API_KEY,
    uiCodecKey: env.VIP_ROUTER_UI_CODEC_KEY,
    createIfNone: false,
  });
  if (!anyActive) log.warn('no API key exists: every /v1 route answers 401 until one is made (npm run api-key -- create --scope admin)');
  const connection = await Connection.connect(temporal);
  const client = apiClient(connection, env, codec);
  const searchAttributes = await ensureSearchAttributes(connection, env.TEMPORAL_NAMESPACE, log);
  const { app, inbox } = createApp({
    client,
    db,
    routing,
    log,
    apiKeys,
    ...apiSettings(env),
    searchAttributes,
    codec: { codec, corsOrigins: env.VIP_ROUTER_CODEC_CORS_ORIGINS },
  });
  const server = app.listen(env.PORT, () => {
    log.info(
      { port: env.PORT, temporal: env.TEMPORAL_ADDRESS, connection: describeTemporalConnection(temporal), database: redactUrl(env.DATABASE_URL!) },
      'API listening',
    );
  });
  inbox.start();
  stop = () => {
    server.close(() => {
      inbox
        .stop()
        .then(() => connection.close())
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
