import type { Db } from '../db/pool';
import type { Notify } from '../dispatcher';
import { createAssignmentActivities } from './assignment';
import { createContactActivities } from './contacts';
import { createCrmActivities } from './crm';
import { createMessagingActivities, type OutboundChannel } from './messaging';

export interface ActivityDeps {
  db: Db;
  http?: typeof fetch;
  env?: NodeJS.ProcessEnv;
  outbound?: OutboundChannel;
  /** Where CRM steps without a url of their own find the built-in customer directory. */
  directoryUrl?: string;
  /** Wakes runs the dispatcher assigned (signals through a Temporal client). */
  notify: Notify;
}

/** Every side effect of the routing flow, built from its dependencies. */
export function createActivities({ db, http = fetch, env = process.env, outbound = {}, directoryUrl, notify }: ActivityDeps) {
  return {
    ...createContactActivities({ db }),
    ...createCrmActivities({ fetch: http, env, directoryUrl }),
    ...createAssignmentActivities({ db, notify }),
    ...createMessagingActivities({ db, fetch: http, outbound }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
