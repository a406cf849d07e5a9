import { patched } from '@temporalio/workflow';
import type { RoutingInput } from '../domain/conversation';
import { BUSINESS_HOURS, EARLY_EMAIL, EFFECTS_GIVEN_UP_RECORDED, FIRST_RESPONSE_TIMER, INPUT_CHECKED, LOCAL_ACTIVITIES, MESSAGES_AFTER_ROUTING, MIRROR_TO_PLATFORM, QUEUE_NOTICES, REOPEN_WHILE_CLOSING, SEARCH_ATTRIBUTES, SHIFT_TIMES_RECORDED } from './patches';

/** Which of the patched changes this run takes: new runs all of them, runs recorded before each one not. */
export interface Features {
  localActivities: boolean;
  searchAttributes: boolean;
  earlyEmail: boolean;
  messagesMemo: boolean;
  mirror: boolean;
  shiftTimesRecorded: boolean;
  inputChecked: boolean;
  reopenWhileClosing: boolean;
  givenUpRecorded: boolean;
  firstResponse: boolean;
  businessHours: boolean;
  /** Queued contacts are told they wait: only runs whose rules turn it on record the marker. */
  queueNotices: boolean;
}

/**
 * Asks every patch once, in the run's first workflow task, always in this order. Asked later instead, at the
 * moment a change is first used, the answer could differ between the run and its replay: a local activity that
 * completed in one workflow task when the run was recorded is resolved within the previous one when it is replayed,
 * and the code after it (a patch asked there) meets the history one task early.
 */
export function runFeatures({ platform, searchAttributes, config }: RoutingInput): Features {
  // Read with care: the input is checked only once the features are known (a crafted one may lack any field).
  const hasShifts = Object.values(config?.teams ?? {}).some((team) => team?.shift !== undefined);
  const hasBusinessHours = [config, config?.regular, ...(Array.isArray(config?.tiers) ? config.tiers : [])].some((holder) => holder?.businessHours !== undefined && holder.businessHours !== 'always');
  const hasFirstResponse = [...(config?.tiers ?? []), config?.regular, config?.escalation].some((place) => place?.firstResponse !== undefined);
  return {
    localActivities: patched(LOCAL_ACTIVITIES),
    searchAttributes: searchAttributes === true && patched(SEARCH_ATTRIBUTES),
    earlyEmail: patched(EARLY_EMAIL),
    messagesMemo: patched(MESSAGES_AFTER_ROUTING),
    mirror: platform !== undefined && patched(MIRROR_TO_PLATFORM),
    shiftTimesRecorded: hasShifts && patched(SHIFT_TIMES_RECORDED),
    inputChecked: patched(INPUT_CHECKED),
    reopenWhileClosing: patched(REOPEN_WHILE_CLOSING),
    givenUpRecorded: patched(EFFECTS_GIVEN_UP_RECORDED),
    firstResponse: hasFirstResponse && patched(FIRST_RESPONSE_TIMER),
    businessHours: hasBusinessHours && patched(BUSINESS_HOURS),
    queueNotices: config?.queue?.notifyContact === true && patched(QUEUE_NOTICES),
  };
}
