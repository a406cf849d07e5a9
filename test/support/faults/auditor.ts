import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { ConversationStatus } from '../../../src/domain/conversation';
import { decodeHistoryPayloads } from '../../../src/security/history';
import { workflowIdForContact } from '../../../src/workflows/definitions';
import { testCodec } from '../codec';
import { type Driver, inParallel } from './driver';
import type { Conversation, Expectation } from './ledger';
import type { World } from './topology';

/**
 * The auditor: watches a case while it runs (samples the assignments) and, once everything has settled, checks every
 * conversation the case started against what the service holds (the run's state, PostgreSQL's rows, respond.io's
 * recorded calls, Temporal's runs) and against what its inputs call for.
 */

export interface CaseResult {
  name: string;
  started: number;
  assigned: number;
  queued: number;
  escalated: number;
  closed: number;
  /** Any other final state (asking_email, failed, none…). */
  other: number;
  lost: number;
  duplicated: number;
  stranded: number;
  /** Conversations not in the state their inputs call for. */
  unexpected: number;
  /** Samples that found an agent past their capacity. */
  overCapacity: number;
  /** Service processes that died on their own (restarted, as a supervisor would). */
  crashes: number;
  durationMs: number;
  /** One line per problem found, naming the conversation. */
  problems: string[];
  notes: string[];
}

const TRANSIENT_STATES = new Set(['checking_email', 'fetching_crm', 'assigning']);
/** An activity retried this often once everything settled is stuck, not recovering. */
const STUCK_ATTEMPTS = 3;

interface AgentRow {
  id: string;
  team: string;
  role: string;
  online: boolean;
  capacity: number | null;
  open: number;
}

/** Samples the invariants that must hold at every moment, not only at the end, while a case runs. */
export class Sampler {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  samples = 0;
  failedSamples = 0;
  /** Contacts seen with more than one open assignment. */
  readonly doubleAssigned = new Set<string>();
  readonly overCapacity: string[] = [];

  constructor(private readonly world: World) {}

  /** Samples every `everyMs` from now on (called again, at the new pace). */
  start(everyMs = 500): this {
    clearInterval(this.timer);
    this.timer = setInterval(() => {
      if (!this.running) this.running = this.sample().finally(() => (this.running = undefined));
    }, everyMs);
    return this;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    // One last look.
    await this.sample();
  }

  async sample(): Promise<void> {
    try {
      const { db } = this.world;
      const doubles = await db.query<{ contact_id: string; n: number }>(
        `SELECT contact_id, count(*)::int AS n FROM assignments WHERE released_at IS NULL GROUP BY contact_id HAVING count(*) > 1`,
      );
      for (const row of doubles.rows) this.doubleAssigned.add(row.contact_id);
      const over = await db.query<{ id: string; capacity: number; open: number }>(
        `SELECT a.id, a.capacity, count(s.id)::int AS open FROM agents a JOIN assignments s ON s.agent_id = a.id AND s.released_at IS NULL
          WHERE a.capacity IS NOT NULL GROUP BY a.id, a.capacity HAVING count(s.id) > a.capacity`,
      );
      for (const row of over.rows) this.overCapacity.push(`${new Date().toISOString()} ${row.id}: ${row.open} open, capacity ${row.capacity}`);
      this.samples++;
    } catch {
      // PostgreSQL is down (a case killed it): nothing to sample.
      this.failedSamples++;
    }
  }
}

/** Why a status does not meet an expectation; undefined when it does. */
function mismatch(status: ConversationStatus | undefined, expect: Expectation): string | undefined {
  if (!status) return 'no run';
  const problems: string[] = [];
  if (!expect.states.includes(status.state)) problems.push(`state ${status.state}, expected ${expect.states.join(' or ')}`);
  if (expect.agentIds && !expect.agentIds.includes(status.assignee?.agentId ?? '')) {
    problems.push(`assignee ${status.assignee?.agentId ?? 'none'}, expected ${expect.agentIds.join(' or ')}`);
  }
  if (expect.team && status.assignee?.team !== expect.team) problems.push(`team ${status.assignee?.team ?? 'none'}, expected ${expect.team}`);
  if (expect.customerType !== undefined && (status.customerType ?? null) !== expect.customerType) {
    problems.push(`customerType ${status.customerType ?? 'none'}, expected ${expect.customerType ?? 'none'}`);
  }
  if (expect.reasonIncludes && !(status.reason ?? '').includes(expect.reasonIncludes)) {
    problems.push(`reason "${status.reason ?? ''}", expected it to say "${expect.reasonIncludes}"`);
  }
  for (const step of expect.pathIncludes ?? []) if (!status.path.includes(step)) problems.push(`no ${step} in path`);
  if (expect.invalidReplies !== undefined && status.invalidReplies !== expect.invalidReplies) {
    problems.push(`${status.invalidReplies} invalid replies counted, expected ${expect.invalidReplies}`);
  }
  return problems.length ? problems.join('; ') : undefined;
}

/**
 * Waits until every conversation is as expected and no accepted webhook event waits to be applied, or the deadline
 * passes (the audit then says what is not). Returns how long it took.
 */
export async function settle(driver: Driver, deadlineMs: number): Promise<number> {
  const started = Date.now();
  const pending = new Set(driver.ledger.conversations.keys());
  for (;;) {
    const ids = [...pending];
    await inParallel(ids, 6, async (contactId) => {
      const conversation = driver.ledger.conversations.get(contactId)!;
      if (!mismatch(await driver.status(contactId), conversation.expect)) pending.delete(contactId);
    });
    const waitingEvents = await driver.world.db
      .query(`SELECT count(*)::int AS n FROM webhook_events WHERE status = 'pending'`)
      .then((r) => r.rows[0].n as number, () => 1);
    if ((pending.size === 0 && waitingEvents === 0) || Date.now() - started > deadlineMs) return Date.now() - started;
    await new Promise((done) => setTimeout(done, 1_000));
  }
}

/** What the dispatcher keeps of a waiting conversation's request: where it may go. */
interface QueuedRequest {
  targets: Array<{ kind: string; team?: string; agentId?: string; role?: string }>;
  excludeAgentIds?: string[];
}

interface Rows {
  open: Map<string, Array<{ conversation_id: string; agent_id: string }>>;
  queued: Map<string, Array<{ conversation_id: string; request: QueuedRequest }>>;
  transcript: Map<string, Array<{ direction: string; external_id: string; body: string }>>;
  events: Map<string, { event_type: string; contact_id: string; status: string; outcome: string | null; attempts: number }>;
  agents: AgentRow[];
  dispatchOwed: boolean;
}

function groupBy<T>(rows: T[], key: (row: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const row of rows) map.set(key(row), [...(map.get(key(row)) ?? []), row]);
  return map;
}

async function loadRows(world: World): Promise<Rows> {
  const { db } = world;
  const open = await db.query(`SELECT contact_id, conversation_id, agent_id FROM assignments WHERE released_at IS NULL`);
  const queued = await db.query(`SELECT contact_id, conversation_id, request FROM queue_entries`);
  const transcript = await db.query(`SELECT contact_id, direction, external_id, body FROM messages ORDER BY id`);
  const events = await db.query(`SELECT event_id, event_type, contact_id, status, outcome, attempts FROM webhook_events`);
  const agents = await db.query<AgentRow>(
    `SELECT a.id, a.team, a.role, a.online, a.capacity,
            (SELECT count(*)::int FROM assignments s WHERE s.agent_id = a.id AND s.released_at IS NULL) AS open
       FROM agents a`,
  );
  const owed = await db.query(`SELECT 1 FROM dispatch_owed`);
  return {
    open: groupBy(open.rows, (r) => r.contact_id),
    queued: groupBy(queued.rows, (r) => r.contact_id),
    transcript: groupBy(transcript.rows, (r) => r.contact_id),
    events: new Map(events.rows.map((r) => [r.event_id, r])),
    agents: agents.rows,
    dispatchOwed: owed.rowCount === 1,
  };
}

/** Agents a waiting conversation could be given right now: the dispatcher should have served it. */
function roomFor(request: QueuedRequest, agents: AgentRow[]): string[] {
  const excluded = new Set(request.excludeAgentIds ?? []);
  return agents
    .filter((a) => a.online && !excluded.has(a.id) && a.capacity !== null && a.open < a.capacity)
    .filter((a) =>
      request.targets.some((t) => (t.kind === 'team' ? a.team === t.team : t.kind === 'agent' ? a.id === t.agentId : a.role === t.role)),
    )
    .map((a) => a.id);
}

/** Runs per workflow id on the case's task queue: a trigger that started two runs shows here. */
async function runsByWorkflowId(world: World): Promise<Map<string, number>> {
  const runs = new Map<string, number>();
  for await (const execution of world.client.workflow.list({ query: `TaskQueue = "${world.taskQueue}"` })) {
    if (!execution.workflowId.startsWith('conversation-')) continue;
    runs.set(execution.workflowId, (runs.get(execution.workflowId) ?? 0) + 1);
  }
  return runs;
}

/** Activities a run has been retrying: a run stuck on a failing activity is stranded. */
async function stuckActivities(world: World, contactId: string): Promise<string[]> {
  try {
    const description = await world.client.workflow.getHandle(workflowIdForContact(contactId)).describe();
    return (description.raw.pendingActivities ?? [])
      .filter((activity) => (activity.attempt ?? 0) >= STUCK_ATTEMPTS)
      .map((activity) => `${activity.activityType?.name} at attempt ${activity.attempt}: ${activity.lastFailure?.message ?? ''}`);
  } catch {
    return [];
  }
}

/**
 * Why a run that exists answers no query: its workflow task keeps failing (a nondeterminism, say), or no worker
 * takes it. The workflow task's own failure message, from the history.
 */
async function whyUnanswered(world: World, contactId: string): Promise<string> {
  try {
    const handle = world.client.workflow.getHandle(workflowIdForContact(contactId));
    const description = await handle.describe();
    const events = (await handle.fetchHistory()).events ?? [];
    const failed = events.filter((e) => e.workflowTaskFailedEventAttributes).at(-1)?.workflowTaskFailedEventAttributes;
    const attempt = description.raw.pendingWorkflowTask?.attempt;
    const task = failed ? `its workflow task fails: ${failed.failure?.message ?? failed.cause}` : 'no workflow task failure recorded';
    return `the run (${description.status.name}) answers no query; ${task}${attempt ? ` (workflow task attempt ${attempt})` : ''}`;
  } catch (error) {
    return `the run answers no query, nor describe: ${(error as Error).message}`;
  }
}

/**
 * The run's history, decrypted, where `npm run replay -- --file` and Temporal UI's "Import" take it: the evidence
 * for a conversation the audit found wrong.
 */
async function saveHistory(world: World, contactId: string): Promise<string | undefined> {
  try {
    const workflowId = workflowIdForContact(contactId);
    const history = await decodeHistoryPayloads(await world.client.workflow.getHandle(workflowId).fetchHistory(), testCodec(world.infra.codecKeys));
    const dir = join(world.dir, 'histories');
    await mkdir(dir, { recursive: true });
    const path = join(dir, `${workflowId}.json`);
    await writeFile(path, `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 1)}\n`);
    return path;
  } catch {
    return undefined;
  }
}

/** Histories saved per case, at most: enough to reproduce, not a dump of hundreds. */
const SAVED_HISTORIES = 20;

function count<T>(items: T[], key: (item: T) => string): Map<string, number> {
  const map = new Map<string, number>();
  for (const item of items) map.set(key(item), (map.get(key(item)) ?? 0) + 1);
  return map;
}

/** Outbound messages (and notes, and closes) respond.io received more often than the run sent them. */
function duplicateOutbound(world: World, contactId: string, transcript: Array<{ direction: string; body: string }>): string[] {
  const identifier = `id:${contactId}`;
  const calls = world.infra.respondio.calls.filter((c) => c.identifier === identifier && c.status === 200);
  const problems: string[] = [];
  const compare = (what: string, sent: string[], stored: string[]) => {
    const storedCounts = count(stored, (text) => text);
    for (const [text, times] of count(sent, (t) => t)) {
      const expected = storedCounts.get(text) ?? 0;
      if (times > expected) problems.push(`${what} "${text.slice(0, 40)}" reached respond.io ${times} times, the run sent it ${expected} time(s)`);
    }
  };
  const bodyText = (body: unknown, path: 'message' | 'comment') =>
    path === 'message' ? String((body as { message?: { text?: string } })?.message?.text ?? '') : String((body as { text?: string })?.text ?? '');
  compare(
    'message',
    calls.filter((c) => c.method === 'POST' && c.path.endsWith('/message')).map((c) => bodyText(c.body, 'message')),
    transcript.filter((m) => m.direction === 'outbound').map((m) => m.body),
  );
  compare(
    'note',
    calls.filter((c) => c.method === 'POST' && c.path.endsWith('/comment')).map((c) => bodyText(c.body, 'comment')),
    transcript.filter((m) => m.direction === 'note').map((m) => m.body),
  );
  const closes = calls.filter((c) => c.method === 'POST' && c.path.endsWith('/conversation/status')).length;
  if (closes > 1) problems.push(`the conversation was closed at respond.io ${closes} times`);
  return problems;
}

/** A case's result before anything is counted. */
export function emptyResult(name: string, durationMs: number): CaseResult {
  return {
    name,
    started: 0,
    assigned: 0,
    queued: 0,
    escalated: 0,
    closed: 0,
    other: 0,
    lost: 0,
    duplicated: 0,
    stranded: 0,
    unexpected: 0,
    overCapacity: 0,
    crashes: 0,
    durationMs,
    problems: [],
    notes: [],
  };
}

/** Checks every conversation of the case; each conversation counts at most once per column. */
export async function audit(name: string, driver: Driver, sampler: Sampler, durationMs: number): Promise<CaseResult> {
  const { world, ledger } = driver;
  const rows = await loadRows(world);
  const runs = await runsByWorkflowId(world);
  const result: CaseResult = {
    ...emptyResult(name, durationMs),
    overCapacity: sampler.overCapacity.length,
    crashes: world.unexpectedExits().length,
    notes: [...ledger.notes],
    problems: [...ledger.problems],
  };
  const accepted = new Set(ledger.triggers.map((t) => t.contactId));
  for (const w of ledger.webhooks) if (w.eventType === 'conversation.opened') accepted.add(w.contactId);
  result.started = accepted.size;

  let saved = 0;
  const statuses = new Map<string, ConversationStatus | undefined>();
  await inParallel([...ledger.conversations.keys()], 6, async (contactId) => statuses.set(contactId, await driver.status(contactId)));

  for (const conversation of ledger.conversations.values()) {
    const { contactId } = conversation;
    const status = statuses.get(contactId);
    const lost: string[] = [];
    const duplicated: string[] = [];
    const stranded: string[] = [];
    const say = (list: string[], problem: string) => list.push(problem);

    switch (status?.state) {
      case 'assigned':
        result.assigned++;
        break;
      case 'queued':
        result.queued++;
        break;
      case 'escalated':
        result.escalated++;
        break;
      case 'closed':
        result.closed++;
        break;
      default:
        result.other++;
    }

    // Lost: accepted, yet without effect.
    const runCount = runs.get(workflowIdForContact(contactId)) ?? 0;
    if (accepted.has(contactId) && runCount === 0) say(lost, 'the trigger was accepted but no run exists');
    if (runCount > 0 && !status) say(stranded, await whyUnanswered(world, contactId));
    const transcript = rows.transcript.get(contactId) ?? [];
    const inbound = new Set(transcript.filter((m) => m.direction === 'inbound').map((m) => m.external_id));
    for (const message of ledger.messages.filter((m) => m.contactId === contactId)) {
      if (!inbound.has(message.messageId)) say(lost, `message ${message.messageId} was accepted (${message.status} from ${message.via}) but is not in the transcript`);
    }
    for (const event of ledger.webhooks.filter((w) => w.contactId === contactId)) {
      const row = rows.events.get(event.eventId);
      if (!row) say(lost, `webhook ${event.eventType} ${event.eventId} was answered ${event.status} but never recorded`);
      else if (row.status === 'failed') say(lost, `webhook ${event.eventType} ${event.eventId} was given up: ${row.outcome ?? ''}`);
      else if (row.status === 'pending') say(stranded, `webhook ${event.eventType} ${event.eventId} still waits to be applied (attempt ${row.attempts})`);
      if (event.messageId && !inbound.has(event.messageId)) say(lost, `webhook message ${event.messageId} was accepted but is not in the transcript`);
    }
    if (ledger.closes.some((c) => c.contactId === contactId) && status?.state !== 'closed') {
      say(lost, `a close was accepted but the conversation is ${status?.state ?? 'gone'}`);
    }

    // Duplicated: two runs, two open assignments, a message sent twice.
    if (runCount > 1) say(duplicated, `${runCount} runs for one conversation`);
    if (sampler.doubleAssigned.has(contactId)) say(duplicated, 'two open assignments at once');
    for (const problem of duplicateOutbound(world, contactId, transcript)) say(duplicated, problem);

    // Stranded: in a state nothing will move.
    const open = rows.open.get(contactId) ?? [];
    const queued = rows.queued.get(contactId) ?? [];
    if (status) {
      const runId = status.conversationId;
      if (TRANSIENT_STATES.has(status.state)) say(stranded, `still ${status.state} after everything settled`);
      if (status.state === 'failed') say(stranded, `failed: ${status.reason ?? ''}`);
      if (status.state === 'assigned' || status.state === 'escalated') {
        if (!open.some((a) => a.conversation_id === runId && a.agent_id === status.assignee?.agentId)) {
          say(stranded, `${status.state} to ${status.assignee?.agentId} in the run, but no open assignment row says so (rows: ${JSON.stringify(open)})`);
        }
      } else if (open.length > 0) {
        say(stranded, `${status.state} in the run, but holds an open assignment to ${open.map((a) => a.agent_id).join(', ')}`);
      }
      if (status.state === 'queued') {
        const entry = queued.find((q) => q.conversation_id === runId);
        if (!entry) say(stranded, 'queued in the run, but has no queue entry');
        else {
          const room = roomFor(entry.request, rows.agents);
          if (room.length > 0) say(stranded, `queued although ${room.join(', ')} has room`);
        }
      } else if (queued.length > 0 && status.state !== 'assigning') {
        say(stranded, `${status.state} in the run, but still has a queue entry`);
      }
      for (const activity of await stuckActivities(world, contactId)) say(stranded, `stuck on ${activity}`);
    }

    const wrong = mismatch(status, conversation.expect);
    if (lost.length) result.lost++;
    if (duplicated.length) result.duplicated++;
    if (stranded.length) result.stranded++;
    if (wrong) result.unexpected++;
    const all = [...lost.map((p) => `lost: ${p}`), ...duplicated.map((p) => `duplicated: ${p}`), ...stranded.map((p) => `stranded: ${p}`)];
    if (wrong) all.push(`not as expected: ${wrong}`);
    if (all.length > 0 && runCount > 0 && saved < SAVED_HISTORIES) {
      const path = await saveHistory(world, contactId);
      if (path) {
        saved++;
        all.push(`history: ${path}`);
      }
    }
    for (const problem of all) result.problems.push(`${describe(conversation)}: ${problem}`);
  }

  // Whole-case checks: owed work nobody will do, runs nobody asked for, an agent past capacity.
  if (rows.dispatchOwed) result.problems.push('a dispatch is still owed after everything settled');
  for (const workflowId of runs.keys()) {
    const contactId = workflowId.slice('conversation-'.length);
    if (!ledger.conversations.has(contactId)) result.problems.push(`a run nobody started: ${workflowId}`);
  }
  for (const agent of rows.agents) {
    if (agent.capacity !== null && agent.open > agent.capacity) result.problems.push(`agent ${agent.id} ends with ${agent.open} open, capacity ${agent.capacity}`);
  }
  for (const over of sampler.overCapacity.slice(0, 5)) result.problems.push(`over capacity: ${over}`);
  if (sampler.samples === 0) result.problems.push('the sampler never took a sample');
  const exits = world.unexpectedExits();
  for (const exit of exits) result.problems.push(`process exit nobody asked for: ${firstErrorLine(exit)}`);
  result.notes.push(`${sampler.samples} samples of the assignments (${sampler.failedSamples} while PostgreSQL was down)`);
  const saw = [...ledger.senderSaw].map(([what, times]) => `${what} ×${times}`);
  if (saw.length) result.notes.push(`senders saw (and retried): ${saw.join('; ')}`);
  // A dependency down is a 503 to retry; a 500 is a fault of ours nobody explained.
  for (const [what, times] of ledger.senderSaw) if (/: 500\b/.test(what)) result.problems.push(`a sender saw an internal error: ${what} ×${times}`);
  return result;
}

/** `worker-2 exited with 1: Error: read ECONNRESET … Emitted 'error' event on Client instance at …`: the lines that say why. */
function firstErrorLine(exit: string): string {
  const [head] = exit.split(':');
  const why = exit
    .split('\n')
    .filter((line) => /Error|error|Emitted|throw/.test(line) && !/^\s+at /.test(line))
    .slice(0, 3)
    .map((line) => line.trim())
    .join(' / ');
  return `${head}: ${why || exit.slice(0, 200)}`;
}

function describe(conversation: Conversation): string {
  return `${conversation.label} ${conversation.contactId}`;
}
