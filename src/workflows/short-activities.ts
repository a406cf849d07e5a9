import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { crmRequest, DATABASE_WORK, LOCAL_DATABASE_WORK, localCrmRequest } from './activity-options';

const STEP_NAMES = [
  'saveContact',
  'saveContactEmail',
  'findLastAgent',
  'requestAssignment',
  'withdrawFromQueue',
  'releaseConversation',
  'transferConversation',
  'adoptPlatformAssignee',
  'recordGivenUpEffect',
] as const;

/** The run's short steps: PostgreSQL work and the CRM request. */
export type Steps = { [K in (typeof STEP_NAMES)[number] | 'fetchCustomerData']: Activities[K] };

/**
 * Decided once, when the run starts (see runFeatures): new runs take their short steps as local activities (inside the workflow
 * task, no activity task round trips: a routed conversation costs one or two workflow tasks); runs recorded before
 * replay them as the activities they were. Every step is safe to repeat, as a local activity may be after a crash.
 */
export function runSteps(local: boolean, crmTimeoutMs: number): Steps {
  const database: Partial<Activities> = local ? proxyLocalActivities<Activities>(LOCAL_DATABASE_WORK) : proxyActivities<Activities>(DATABASE_WORK);
  const crm = local ? proxyLocalActivities<Activities>(localCrmRequest(crmTimeoutMs)) : proxyActivities<Activities>(crmRequest(crmTimeoutMs));
  // The proxies answer property reads only (no keys to spread): each step is read from them by name.
  const steps = Object.fromEntries(STEP_NAMES.map((name) => [name, database[name]])) as Omit<Steps, 'fetchCustomerData'>;
  return { ...steps, fetchCustomerData: crm.fetchCustomerData };
}
