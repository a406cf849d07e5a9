import type { Route } from '../contract';
import { agentRoutes } from './agent-routes';
import { codecRoutes, codecUiRoutes } from './codec-routes';
import { contactRoutes } from './contact-routes';
import { conversationRoutes } from './conversation-routes';
import { directoryRoutes } from './directory-routes';
import { docsRoutes } from './docs-routes';
import { healthRoutes } from './health-routes';
import { metricsRoutes } from './metrics-routes';
import { operatorPageRoutes, operatorRoutes } from './operator-routes';
import { webhookRoutes } from './webhook-routes';

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
