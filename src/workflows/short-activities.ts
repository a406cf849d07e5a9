import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { crmRequest, DATABASE_WORK, LOCAL_DATABASE_WORK, localCrmRequest } from './activity-options';

const DATABASE_ACTIVITIES = [
  'saveContact',
  'saveContactEmail',
  'findLastAgent',
  'requestAssignment',
  'withdrawFromQueue',
  'releaseConversation',
  'transferConversation',
  'adoptPlatformAssignee',
  'recordGivenUpEffect',
  'recordFirstResponse',
  'estimateQueueWait',
] as const;

/** The run's short activities: PostgreSQL work and the CRM request. */
export type ShortActivities = { [K in (typeof DATABASE_ACTIVITIES)[number] | 'fetchCustomerData']: Activities[K] };

/**
 * Decided once, when the run starts (see runFeatures): new runs take their short activities as local activities (inside
 * the workflow task, no activity task round trips: a routed conversation costs one or two workflow tasks); runs recorded
 * before replay them as the activities they were. Each is safe to repeat, as a local activity may be after a crash.
 */
export function shortActivities(local: boolean, crmTimeoutMs: number): ShortActivities {
  const database: Partial<Activities> = local ? proxyLocalActivities<Activities>(LOCAL_DATABASE_WORK) : proxyActivities<Activities>(DATABASE_WORK);
  const crm = local ? proxyLocalActivities<Activities>(localCrmRequest(crmTimeoutMs)) : proxyActivities<Activities>(crmRequest(crmTimeoutMs));
  // The proxies answer property reads only (no keys to spread): each activity is read from them by name.
  const activities = Object.fromEntries(DATABASE_ACTIVITIES.map((name) => [name, database[name]])) as Omit<ShortActivities, 'fetchCustomerData'>;
  return { ...activities, fetchCustomerData: crm.fetchCustomerData };
}
