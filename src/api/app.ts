import type { Client } from '@temporalio/client';
import express from 'express';
import type { Db } from '../db/pool';
import type { Logger } from '../observability/logger';
import type { RoutingConfig } from '../domain/routing-config';
import { RuleVersions } from '../db/rule-versions';
import type { ApiKeys } from '../security/api-key-tokens';
import { temporalRunSignals } from '../assignment/dispatcher';
import type { RoutingInput } from '../domain/conversation';
import type { PayloadCodec } from '@temporalio/common';
import { KeyCheck, type KeyCheckOptions } from './auth';
import { mount } from './contract';
import { Conversations } from './conversation-runs';
import { errorHandler, HttpError, unknownRoute } from './errors';
import { openApiDocument } from './openapi';
import { type RateLimit, RateLimiter } from './rate-limit';
import { requestLog } from './request-log';
import { unstorableTextAt } from './storable-text';
import { agentRoutes } from './routes/agent-routes';
import { codecCors, codecRoutes, codecUiRoutes } from './routes/codec-routes';
import { contactRoutes } from './routes/contact-routes';
import { conversationRoutes } from './routes/conversation-routes';
import { directoryRoutes } from './routes/directory-routes';
import { docsRoutes, swaggerUiFiles } from './routes/docs-routes';
import { metricsRegistry, metricsRoutes } from './routes/metrics-routes';
import { operatorPageFiles, operatorPageRoutes, operatorRoutes } from './routes/operator-routes';
import { healthRoutes } from './routes/health-routes';
import { webhookRoutes } from './routes/webhook-routes';
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
  app.use(mount(healthRoutes, { db, client }));
  app.use(mount(docsRoutes, { document: JSON.stringify(openApiDocument()) }));
  app.use('/docs', swaggerUiFiles);
  app.use(mount(operatorPageRoutes, undefined));
  app.use('/ui', ...operatorPageFiles);
  app.use(mount(metricsRoutes, { metrics: metricsRegistry(db) }, { authenticate: keyCheck.bearer() }));
  // Before the JSON parser: the signature is checked over the raw bytes.
  app.use(mount(webhookRoutes, { inbox, signingKeys: respondio?.signingKeys ?? [], log }));

  if (codec) {
    // CORS first: a browser's preflight carries no key. Temporal UI's endpoint has its key in the path, and decodes only.
    const cors = codecCors(codec.corsOrigins);
    app.use('/codec/ui/:key', cors, keyCheck.fromPath(), mount(codecUiRoutes, codec, { under: '/codec/ui/{key}' }));
    app.use('/codec', cors, keyCheck.bearer(), mount(codecRoutes, codec, { under: '/codec' }));
  }

  // Keys are checked before bodies are read: an unauthenticated caller learns nothing about the API.
  app.use('/v1', keyCheck.bearer(rateLimit ? new RateLimiter(rateLimit) : undefined));
  app.use(express.json({ limit: '100kb' }));
  app.use(refuseUnstorableText);
  app.use(mount(conversationRoutes, { conversations, db }));
  app.use(mount(contactRoutes, { conversations, db }));
  const signals = temporalRunSignals(client, (workflowId, error) => log.warn({ err: error, workflowId, contactId: contactIdOfWorkflow(workflowId) }, 'could not signal a conversation'));
  app.use(mount(agentRoutes, { db, signals }));
  app.use(mount(operatorRoutes, { db, client, routing, taskQueue, temporalUiUrl }));
  app.use(mount(directoryRoutes, { db }));

  app.use(unknownRoute);
  app.use(errorHandler(log));
  return { app, inbox };
}
