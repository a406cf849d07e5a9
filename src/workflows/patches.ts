/**
 * Changes of the workflow that runs recorded before them would replay differently, each behind `patched(id)`:
 * new runs take the new path and record the marker, runs recorded before it replay the old one. Listed here so the
 * versions in force read in one place; a patch is deprecated (`deprecatePatch`) and then removed once no run that
 * predates it can still be open (after the namespace's retention).
 */

/** Effects are mirrored to the messaging platform (respond.io): assignee and close. */
export const MIRROR_TO_PLATFORM = 'mirror-to-platform';
/** An email the contact wrote before the question is used; other early messages are recorded, not dropped. */
export const EARLY_EMAIL = 'email-from-earlier-message';
/** The run tells the API (memo) when it reads no more messages, so they stop being signalled. */
export const MESSAGES_AFTER_ROUTING = 'no-messages-after-routing';
/** Shift times are read through a local activity (recorded), not computed from the worker's time-zone data. */
export const SHIFT_TIMES_RECORDED = 'shift-times-recorded';
/** The short database activities and the CRM request run as local activities: no activity task round trips. */
export const LOCAL_ACTIVITIES = 'local-steps';
/** The run keeps its search attributes (RoutingState, Tier, CustomerType, AssigneeId, Escalated) current. */
export const SEARCH_ATTRIBUTES = 'search-attributes';
/** The run's input and its message signals are checked with the API's schemas: a run the API would not start fails. */
export const INPUT_CHECKED = 'input-checked';
/** A run whose conversation ended says so (memo) and drops the close's effects when a newer conversation opens. */
export const REOPEN_WHILE_CLOSING = 'reopen-while-closing';
/** An effect on the platform given up after its time bound is recorded for the operator (a local activity). */
export const EFFECTS_GIVEN_UP_RECORDED = 'effects-given-up-recorded';
/** An assignee who does not write to the contact within the tier's first-response time loses the conversation. */
export const FIRST_RESPONSE_TIMER = 'first-response-timer';
/** Outside business hours the contact is told when the team opens, and (`wait`) held in the queue until then. */
export const BUSINESS_HOURS = 'business-hours';
/** A queued contact is told they wait, and roughly how long (routing.yaml queue.notifyContact). */
export const QUEUE_NOTICES = 'queue-notices';
