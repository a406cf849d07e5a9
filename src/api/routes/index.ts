import type { Route } from '../contract';
import { agentRoutes } from './agents';
import { codecRoutes, codecUiRoutes } from './codec';
import { contactRoutes } from './contacts';
import { conversationRoutes } from './conversations';
import { directoryRoutes } from './directory';
import { docsRoutes } from './docs';
import { healthRoutes } from './health';
import { metricsRoutes } from './metrics';
import { operatorPageRoutes, operatorRoutes } from './operator';
import { webhookRoutes } from './webhooks';

/** Every operation of the API, in the order the OpenAPI document lists them; `createApp` mounts each group. */
export const apiRoutes: ReadonlyArray<Route<never>> = [
  ...conversationRoutes,
  ...contactRoutes,
  ...agentRoutes,
  ...operatorRoutes,
  ...directoryRoutes,
  ...webhookRoutes,
  ...codecRoutes,
  ...codecUiRoutes,
  ...healthRoutes,
  ...metricsRoutes,
  ...docsRoutes,
  ...operatorPageRoutes,
];
