import { temporal } from '@temporalio/proto';

type History = temporal.api.history.v1.IHistory;

/** Saying in plain words where and how today's workflow code decides differently from a recorded history. */

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const { EventType } = temporal.api.enums.v1;

export const PATCH_HINT = 'A change to the workflow that in-flight runs replay differently must go behind patched() (see README).';

interface EventSummary {
  id: number;
  /** `ActivityTaskScheduled`, not `EVENT_TYPE_ACTIVITY_TASK_SCHEDULED`. */
  type: string;
  /** The activity type, timer, signal or marker the event is about. */
  subject?: string;
}

export interface Divergence {
  /** The history's event at which the code decides differently. */
  event: EventSummary;
  /** What the code did there instead, in plain words. */
  codeDid: string;
  /** Events event.id-2 … event.id+2. */
  around: EventSummary[];
  /** Core's own message. */
  sdkMessage: string;
}

const MISMATCH = /(?<what>[A-Z][A-Za-z ]*?) of [a-z ]*event '(?<recorded>[^']*)' does not match (?<codeWhat>[a-z ]+?) of (?<command>[a-z ]*command) '(?<issued>[^']*)'/;
const NO_COMMAND = /No command scheduled for event/;
const PATCH_REMOVED = /patch marker encountered for change (?<patch>\S+), but there is no corresponding change command/;

/**
 * Reads Core's nondeterminism message (`[TMPRL1100] Nondeterminism error: …`) against the history. The event is
 * the one the message names; else, within the diverging workflow task (the index of its WorkflowTaskStarted event,
 * as replayHistory finds it), the first command event about what the message quotes, else its first command event.
 */
export function explainNondeterminism(error: Error | string, history: History, divergingTaskStart?: number): Divergence {
  const raw = typeof error === 'string' ? error : error.message;
  const sdkMessage = /\[TMPRL1100\].*?(?=", source:|$)/s.exec(raw)?.[0] ?? raw.replace(/^.*Details: /s, '');
  const events = history.events ?? [];
  const mismatch = MISMATCH.exec(sdkMessage)?.groups;

  let event: HistoryEvent | undefined;
  const namedId = eventIdNamedIn(sdkMessage);
  if (namedId !== undefined) event = events.find((e) => num(e.eventId) === namedId);
  if (!event && divergingTaskStart !== undefined) {
    const end = events.findIndex((e, i) => i > divergingTaskStart && e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED);
    const commands = events.slice(divergingTaskStart + 1, end < 0 ? events.length : end).filter(isCommandEvent);
    const quoted = mismatch?.['recorded'];
    event = commands.find((e) => quoted !== undefined && JSON.stringify(commandAttributes(e)).includes(JSON.stringify(quoted))) ?? commands[0];
  }
  event ??= events.at(-1)!;

  const summary = summarize(event, events);
  const index = events.indexOf(event);
  let codeDid: string;
  if (mismatch?.['what'] === 'Activity type') codeDid = `scheduled activity ${mismatch['issued']} there instead`;
  else if (mismatch) codeDid = `issued a command with ${mismatch['codeWhat']} '${mismatch['issued']}' there, where the history has '${mismatch['recorded']}'`;
  else if (NO_COMMAND.test(sdkMessage)) codeDid = 'issued no command for it: the code no longer takes this step here';
  else if (PATCH_REMOVED.test(sdkMessage)) codeDid = `does not call patched('${PATCH_REMOVED.exec(sdkMessage)?.groups?.['patch']}') there: the patch was removed while runs that recorded it may still be open`;
  else codeDid = 'issued a different command there';
  return {
    event: summary,
    codeDid,
    around: events.slice(Math.max(0, index - 2), index + 3).map((e) => summarize(e, events)),
    sdkMessage,
  };
}

/** The report `npm run replay` prints for a nondeterminism. */
export function formatDivergence(workflowId: string, history: History, { event, codeDid, around, sdkMessage }: Divergence): string {
  const describe = (e: EventSummary) => `${e.type}${e.subject ? ` (${e.subject})` : ''}`;
  const width = Math.max(...around.map((e) => e.type.length));
  return [
    `${workflowId} (${history.events?.length ?? 0} events) does not replay on the current code: it diverges at event ${event.id}.`,
    `  the history has: event ${event.id}, ${describe(event)}`,
    `  the code:        ${codeDid}`,
    '  around it:',
    ...around.map((e) => `  ${e.id === event.id ? '>' : ' '} ${String(e.id).padStart(5)}  ${e.type.padEnd(width)}  ${e.subject ?? ''}`.trimEnd()),
    `  the SDK says: ${sdkMessage}`,
    PATCH_HINT,
  ].join('\n');
}

export function eventIdNamedIn(message: string): number | undefined {
  const id = /HistoryEvent\(id: (\d+)/.exec(message)?.[1];
  return id === undefined ? undefined : Number(id);
}

/** Event ids are Longs in a parsed history. */
function num(value: { toString(): string } | null | undefined): number {
  return value === null || value === undefined ? 0 : Number(value.toString());
}

function typeName(event: HistoryEvent): string {
  const name = EventType[event.eventType ?? 0] ?? String(event.eventType);
  return name
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_, _sep, c: string) => c.toUpperCase());
}

export function startAttributes(history: History) {
  return history.events?.[0]?.workflowExecutionStartedEventAttributes;
}

const COMMAND_EVENTS = new Set<number>([
  EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
  EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,
  EventType.EVENT_TYPE_TIMER_STARTED,
  EventType.EVENT_TYPE_TIMER_CANCELED,
  EventType.EVENT_TYPE_MARKER_RECORDED,
  EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
  EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
  EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
  EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
  EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
]);

function isCommandEvent(event: HistoryEvent): boolean {
  return COMMAND_EVENTS.has(event.eventType ?? 0);
}

/** The event's attributes without its payloads: what a command is about, not what it carries. */
function commandAttributes(event: HistoryEvent): Record<string, unknown> {
  const key = Object.keys(event).find((k) => k.endsWith('EventAttributes') && (event as Record<string, unknown>)[k]);
  const attributes = ((key && (event as Record<string, unknown>)[key]) ?? {}) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(attributes).filter(([name]) => !['input', 'details', 'header', 'result'].includes(name)));
}

/** Core writes a patch marker's details as plain JSON `{ id, deprecated }`, never through the codec. */
function patchId(data: Uint8Array | null | undefined): string {
  try {
    return String(JSON.parse(Buffer.from(data ?? []).toString('utf8')).id);
  } catch {
    return '(unreadable id)';
  }
}

function summarize(event: HistoryEvent, events: HistoryEvent[]): EventSummary {
  return { id: num(event.eventId), type: typeName(event), subject: subjectOf(event, events) };
}

function subjectOf(event: HistoryEvent, events: HistoryEvent[]): string | undefined {
  const scheduled = (id: { toString(): string } | null | undefined) =>
    events.find((e) => num(e.eventId) === num(id))?.activityTaskScheduledEventAttributes?.activityType?.name ?? undefined;
  const activity =
    event.activityTaskScheduledEventAttributes?.activityType?.name ??
    scheduled(
      (
        event.activityTaskStartedEventAttributes ??
        event.activityTaskCompletedEventAttributes ??
        event.activityTaskFailedEventAttributes ??
        event.activityTaskTimedOutEventAttributes ??
        event.activityTaskCanceledEventAttributes ??
        event.activityTaskCancelRequestedEventAttributes
      )?.scheduledEventId,
    );
  if (activity) return `activity ${activity}`;
  const timer = (event.timerStartedEventAttributes ?? event.timerFiredEventAttributes ?? event.timerCanceledEventAttributes)?.timerId;
  if (timer) return `timer ${timer}`;
  const signal = event.workflowExecutionSignaledEventAttributes?.signalName;
  if (signal) return `signal ${signal}`;
  const marker = event.markerRecordedEventAttributes;
  if (marker?.markerName === 'core_patch') return `patch ${patchId(marker.details?.['patch-data']?.payloads?.[0]?.data)}`;
  if (marker?.markerName) return `marker ${marker.markerName}`;
  const update = event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name;
  if (update) return `update ${update}`;
  return undefined;
}
