import type { Client } from '@temporalio/client';
import express from 'express';
import type { Db } from '../db/pool';
import type { Logger } from '../logger';
import type { RoutingConfig } from '../routing-config';
import { signalAssignmentChanged } from '../dispatcher';
import { Conversations } from './conversations';
import { errorHandler, unknownRoute } from './errors';
import { agentRoutes } from './routes/agents';
import { conversationRoutes } from './routes/conversations';
import { directoryRoutes } from './routes/directory';
import { healthRoutes } from './routes/health';

export interface AppDeps {
  client: Client;
  db: Db;
  routing: RoutingConfig;
  taskQueue: string;
  log: Logger;
}

/** The HTTP API of SPEC.md; listening is the caller's business. */
export function createApp({ client, db, routing, taskQueue, log }: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(express.json({ limit: '100kb' }));

  const conversations = new Conversations(client, taskQueue, routing);
  app.use(healthRoutes({ db, client }));
  app.use(conversationRoutes({ conversations, db }));
  const notify = signalAssignmentChanged(client, (workflowId, error) => log.warn({ err: error, workflowId }, 'could not wake a conversation'));
  app.use(agentRoutes({ db, client, notify, log }));
  app.use(directoryRoutes({ db }));

  app.use(unknownRoute);
  app.use(errorHandler(log));
  return app;
}
