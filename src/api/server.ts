import type { Server } from 'node:http';
import { resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { type Env, parseEnv } from '../service/config';
import { createPool, type Db, migrateDatabase } from '../db/pool';
import { createLogger, type Logger, redactUrl } from '../observability/logger';
import { ApiKeys, bootstrapApiKeys } from '../security/api-key-tokens';
import type { AesGcmCodec } from '../security/codec';
import { apiClient, apiSettings, payloadCodec, runUntilSignalled, type Service, temporalConnection } from '../service/compose';
import { describeTemporalConnection } from '../temporal/connection';
import { ensureSearchAttributes } from '../temporal/search-attribute-setup';
import { loadRoutingConfigFile } from '../domain/routing-config';
import { createApp } from './app';

/**
 * The API the environment describes (PORT, TEMPORAL_*, DATABASE_URL, VIP_ROUTER_*, RESPONDIO_*): what `npm run api`
 * runs, and `npm start` beside its worker (with the codec it made). stop() lets requests in flight finish, then the
 * webhook inbox, then lets go of Temporal and the database.
 */
export function apiFromEnv(env: Env, log: Logger, given: { codec?: AesGcmCodec } = {}): Service {
  let db: Db | undefined;
  let connection: Connection | undefined;
  let server: Server | undefined;
  let inbox: { stop(): Promise<void> } | undefined;
  return {
    async start() {
      if (!env.TEMPORAL_ADDRESS || !env.DATABASE_URL) throw new Error('the API needs TEMPORAL_ADDRESS and DATABASE_URL (npm start runs everything locally)');
      const routing = loadRoutingConfigFile(resolve(env.ROUTING_CONFIG));
      const temporal = temporalConnection(env, env.TEMPORAL_ADDRESS);
      const codec = given.codec ?? (await payloadCodec({ generate: false })).codec;
      db = createPool(env.DATABASE_URL);
      await migrateDatabase(db);
      const apiKeys = new ApiKeys(db);
      const { anyActive } = await bootstrapApiKeys(apiKeys, {
        bootstrapKey: env.VIP_ROUTER_BOOTSTRAP_API_KEY,
        uiCodecKey: env.VIP_ROUTER_UI_CODEC_KEY,
        createIfNone: false,
      });
      if (!anyActive) log.warn('no API key exists: every /v1 route answers 401 until one is made (npm run api-key -- create --scope admin)');
      connection = await Connection.connect(temporal);
      const client = apiClient(connection, env, codec);
      const searchAttributes = await ensureSearchAttributes(connection, env.TEMPORAL_NAMESPACE, log);
      const app = createApp({
        client,
        db,
        routing,
        log,
        apiKeys,
        ...apiSettings(env),
        searchAttributes,
        codec: { codec, corsOrigins: env.VIP_ROUTER_CODEC_CORS_ORIGINS },
      });
      server = await new Promise<Server>((listening, failed) => {
        const bound = app.app.listen(env.PORT, () => listening(bound)).once('error', failed);
      });
      app.inbox.start();
      inbox = app.inbox;
      log.info(
        { port: env.PORT, temporal: env.TEMPORAL_ADDRESS, connection: describeTemporalConnection(temporal), database: redactUrl(env.DATABASE_URL) },
        'API listening',
      );
    },
    async stop() {
      const listening = server;
      if (listening) await new Promise<void>((closed) => listening.close(() => closed()));
      await inbox?.stop();
      await connection?.close();
      await db?.end();
    },
  };
}

/** Production entry (`npm run api`): the HTTP API against an existing Temporal server and PostgreSQL. */
async function main(): Promise<void> {
  const env = parseEnv();
  const log = createLogger(env.LOG_LEVEL);
  await runUntilSignalled(log, async (started) => {
    const api = apiFromEnv(env, log);
    await api.start();
    started('API', api.stop);
  });
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
