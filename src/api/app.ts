import type { Client } from '@temporalio/client';
import express from 'express';
import type { Db } from '../db/pool';
import type { Logger } from '../logger';
import type { RoutingConfig } from '../routing-config';
import { RuleVersions } from '../rule-versions';
import type { ApiKeys } from '../security/api-keys';
import { temporalRunSignals } from '../assignment/dispatcher';
import type { RoutingInput } from '../domain';
import type { PayloadCodec } from '@temporalio/common';
import { allow, KeyCheck, type KeyCheckOptions } from './auth';
import { Conversations } from './conversations';
import { errorHandler, HttpError, unknownRoute } from './errors';
import { type RateLimit, RateLimiter } from './rate-limit';
import { requestLog } from './request-log';
import { unstorableTextAt } from './storable-text';
import { agentRoutes } from './routes/agents';
import { codecCors, codecRouter } from './routes/codec';
import { conversationRoutes } from './routes/conversations';
import { directoryRoutes } from './routes/directory';
import { docsRoutes } from './routes/docs';
import { metricsRoutes } from './routes/metrics';
import { operatorPageRoutes, operatorRoutes } from './routes/operator';
import { healthRoutes } from './routes/health';
import { webhookRoutes } from './routes/webhooks';
import { WebhookInbox, type WebhookInboxOptions } from './webhook-inbox';
import { contactIdOfWorkflow } from '../workflows/definitions';

export interface AppDeps {
  client: Client;
  db: Db;
  routing: RoutingConfig;
  taskQueue: string;
  log: Logger;
  apiKeys: ApiKeys;
  /** Per API key; unset: no limit. */
  rateLimit?: RateLimit;
  /** How failed authentications are limited per client address, and key reads at once. */
  keyCheck?: KeyCheckOptions;
  /** respond.io: the signing keys of its webhooks, and whether new runs mirror their effects there. */
  respondio?: { signingKeys: readonly string[]; platform?: RoutingInput['platform'] };
  /** The namespace has the routing search attributes (see ensureSearchAttributes). */
  searchAttributes?: boolean;
  inbox?: Partial<Pick<WebhookInboxOptions, 'pollMs' | 'effectTimeoutMs' | 'echoWindowMs' | 'retentionMs'>>;
  /** The payload codec served to Temporal UI and the CLI (`/codec/encode`, `/codec/decode`), and who may call it from a browser. */
  codec?: { codec: PayloadCodec; corsOrigins: string[] };
  /** Temporal UI's address as a browser reaches it: the operator page links each conversation to its history there. */
  temporalUiUrl?: string;
}

/** Text PostgreSQL cannot store, or nesting no route takes, is refused at the door: before a run starts or a row is written. */
const refuseUnstorableText: express.RequestHandler = (req, _res, next) => {
  const problem = unstorableTextAt(req.body, 16);
  if (problem) throw new HttpError(400, 'validation_failed', 'the request is invalid', [problem]);
  next();
};

/** The codec endpoint with its key in the path is Temporal UI's: it reads histories, it never writes payloads. */
const decodeOnly: express.RequestHandler = () => {
  throw new HttpError(403, 'forbidden', 'a codec endpoint with its key in the path only decodes; encode with the key in an Authorization header');
};

export interface Api {
  app: express.Express;
  /** Applies accepted respond.io events; its owner starts and stops it with the server. */
  inbox: WebhookInbox;
}

/**
 * The HTTP API; listening is the caller's business. Health checks and the signed webhook are open; every other
 * route needs an API key whose scope allows it.
 */
export function createApp({ client, db, routing, taskQueue, log, apiKeys, rateLimit, keyCheck: keyCheckOptions, respondio, searchAttributes, inbox: inboxOptions, codec, temporalUiUrl }: AppDeps): Api {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  const conversations = new Conversations(client, taskQueue, routing, new RuleVersions(db), { db, platform: respondio?.platform, searchAttributes });
  const inbox = new WebhookInbox({ db, conversations, log, ...inboxOptions });
  const keyCheck = new KeyCheck(apiKeys, keyCheckOptions);
  app.use(requestLog(log));
  app.use(healthRoutes({ db, client }));
  app.use(docsRoutes());
  app.use(operatorPageRoutes());
  app.use(metricsRoutes({ db, keyCheck }));
  // Before the JSON parser: the signature is checked over the raw bytes.
  app.use(webhookRoutes({ inbox, signingKeys: respondio?.signingKeys ?? [], log }));

  if (codec) {
    // CORS first: a browser's preflight carries no key. Temporal UI's endpoint has its key in the path, and decodes only.
    const cors = codecCors(codec.corsOrigins);
    const decoders = allow('codec', 'decode');
    app.use('/codec/ui/:key', cors, keyCheck.fromPath(), codecRouter(codec.codec, { allowed: { encode: decodeOnly, decode: decoders } }));
    app.use('/codec', cors, keyCheck.bearer(), codecRouter(codec.codec, { allowed: { encode: allow('codec'), decode: decoders } }));
  }

  // Keys are checked before bodies are read: an unauthenticated caller learns nothing about the API.
  app.use('/v1', keyCheck.bearer(rateLimit ? new RateLimiter(rateLimit) : undefined));
  app.use(express.json({ limit: '100kb' }));
  app.use(refuseUnstorableText);
  app.use(conversationRoutes({ conversations, db }));
  const signals = temporalRunSignals(client, (workflowId, error) => log.warn({ err: error, workflowId, contactId: contactIdOfWorkflow(workflowId) }, 'could not signal a conversation'));
  app.use(agentRoutes({ db, signals }));
  app.use(operatorRoutes({ db, client, routing, taskQueue, temporalUiUrl }));
  app.use(directoryRoutes({ db }));

  app.use(unknownRoute);
  app.use(errorHandler(log));
  return { app, inbox };
}
