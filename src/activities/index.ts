import type { Db } from '../db/pool';
import type { RunSignals } from '../assignment/dispatcher';
import type { RespondioClient } from '../respondio/client';
import type { RoutingConfig } from '../domain/routing-config';
import type { RuleVersions } from '../db/rule-versions';
import { type AgentSyncSettings, createAgentSyncActivities } from './agent-sync-activities';
import { createAssignmentActivities } from './assignment';
import { createCalendarActivities } from './calendar';
import { createContactActivities } from './contact-activities';
import { createCrmActivities } from './crm';
import { createMessagingActivities, type OutboundChannel } from './messaging';
import { createPlatformActivities } from './platform';
import { createRetentionActivities } from './retention-activities';

export interface ActivityDeps {
  db: Db;
  http?: typeof fetch;
  env?: NodeJS.ProcessEnv;
  /** The variables CRM headers may name as `${env:NAME}` (VIP_ROUTER_CRM_ENV). */
  crmEnvNames?: readonly string[];
  /** The registry the CRM step reads each run's CRM settings from. */
  ruleVersions: RuleVersions;
  /** This worker's own routing config, for runs whose CRM settings are not recorded. */
  routing?: RoutingConfig;
  outbound?: OutboundChannel;
  /** Where CRM steps without a url of their own find the built-in customer directory. */
  directoryUrl?: string;
  /** The API key the built-in directory is called with. */
  directoryApiKey?: string;
  /** The dispatcher's signals to runs (through a Temporal client). */
  signals: RunSignals;
  /** respond.io's Developer API, when this worker has a token. */
  respondio?: RespondioClient;
  agentSync?: AgentSyncSettings;
}

/** Every side effect of the routing flow, built from its dependencies. */
export function createActivities({
  db,
  http = fetch,
  env = process.env,
  crmEnvNames,
  ruleVersions,
  routing,
  outbound = {},
  directoryUrl,
  directoryApiKey,
  signals,
  respondio,
  agentSync = { teamMap: {}, defaultTeam: 'support', newAgentsOnline: true },
}: ActivityDeps) {
  return {
    ...createContactActivities({ db, respondio }),
    ...createCrmActivities({ fetch: http, env, envNames: crmEnvNames, rules: ruleVersions, current: routing, directoryUrl, directoryApiKey }),
    ...createAssignmentActivities({ db, signals }),
    ...createMessagingActivities({ db, fetch: http, outbound, respondio }),
    ...createPlatformActivities({ db, respondio }),
    ...createAgentSyncActivities({ db, signals, respondio, settings: agentSync }),
    ...createCalendarActivities(),
    ...createRetentionActivities({ db }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { AgentSyncSettings };
