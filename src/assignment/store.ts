import type pg from 'pg';
import type {
  AssignmentRequest,
  AssignmentResult,
  AssignTarget,
  PlatformUser,
  TransferRequest,
  TransferResult,
} from '../domain/conversation';
import { type Db, inTransaction, type Queryable } from '../db/pool';
import type { Agent } from '../db/agents';
import { type AgentLoad, assignmentOf, chooseForTransfer, type Cursors, gainedRoom, serveQueue, strategyOf } from './policy';

/**
 * Every assignment goes through one dispatcher. It holds one advisory lock, so dispatches never
 * interleave, and serves the queue in order — effective priority (a tier's, risen with the wait when it ages), then
 * the longest waiting — so a regular contact takes the slot a waiting VIP could have had only once aging says so. A partial unique index allows one open
 * assignment per conversation whatever happens around it.
 */
const DISPATCH_LOCK = 0x76697072; // 'vipr'

/**
 * A queue entry's effective priority now (effectivePriority in policy.ts): its tier's priority plus its aging's points
 * for every whole `every` since it joined the queue. now() is the transaction's start: one instant for a whole dispatch.
 */
const EFFECTIVE_PRIORITY = `(priority + coalesce((request->'aging'->>'points')::int
  * floor(greatest(extract(epoch FROM now() - enqueued_at) * 1000, 0) / (request->'aging'->>'every')::float8), 0))::float8`;

/** Who is served first: the highest effective priority, then the longest waiting. */
export const SERVING_ORDER = { effectivePriority: EFFECTIVE_PRIORITY, orderBy: `${EFFECTIVE_PRIORITY} DESC, enqueued_at, conversation_id` };

export interface Dispatched {
  workflowId: string;
  conversationId: string;
  assignment: AssignmentResult;
}

/** Adds (or refreshes) the conversation's queue entry, unless it is already assigned. */
export async function enqueueRequest(db: Queryable, request: AssignmentRequest): Promise<void> {
  await db.query(
    `INSERT INTO queue_entries (conversation_id, workflow_id, contact_id, tier, priority, request)
     SELECT $1, $2, $3, $4, $5, $6
      WHERE NOT EXISTS (SELECT 1 FROM assignments WHERE conversation_id = $1 AND released_at IS NULL)
     ON CONFLICT (conversation_id) DO UPDATE SET request = EXCLUDED.request, priority = EXCLUDED.priority,
       tier = EXCLUDED.tier, updated_at = now()`,
    [request.conversationId, request.workflowId, request.contactId, request.tier, request.priority, JSON.stringify(request)],
  );
}

/**
 * Entries held until a time (outside business hours) wait for it, by the database's clock or by the clock of the run
 * that dispatches (`$1`, when given): that run's timer fired at the opening, so for Temporal the hours are open.
 */
const SERVABLE = `(request->>'notBefore') IS NULL OR (request->>'notBefore')::timestamptz <= GREATEST(now(), $1::timestamptz)`;

/**
 * Serves waiting conversations in order, as far as free capacity goes; returns who got whom. Every run served
 * but `self` (which learns from its own activity's result) is marked to be woken: see pendingWakeUps. `runClock`:
 * the time by the clock of the run that asks (see SERVABLE).
 */
export async function dispatch(db: Db, self?: string, runClock?: number): Promise<Dispatched[]> {
  return inTransaction(db, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [DISPATCH_LOCK]);
    // This dispatch serves whatever capacity there is: what was owed before it is paid. (Only committed rows: an
    // agent change still in flight adds its own row, which waits for the next dispatch.)
    await tx.query(`DELETE FROM dispatch_owed`);
    const { rows: entries } = await tx.query<{ request: AssignmentRequest }>(
      `SELECT request FROM queue_entries
        WHERE ${SERVABLE}
        ORDER BY ${SERVING_ORDER.orderBy}`,
      [runClock === undefined ? null : new Date(runClock).toISOString()],
    );
    if (entries.length === 0) return [];
    // An entry whose conversation got an assignee some other way (a transfer) is no longer waiting.
    const { rows: served } = await tx.query<{ conversation_id: string }>(
      `DELETE FROM queue_entries q USING assignments s
        WHERE s.conversation_id = q.conversation_id AND s.released_at IS NULL RETURNING q.conversation_id`,
    );
    const alreadyServed = new Set(served.map((row) => row.conversation_id));
    const waiting = entries.map((entry) => entry.request).filter((request) => !alreadyServed.has(request.conversationId));
    const cursors = await loadCursors(tx);
    const made: Dispatched[] = [];
    for (const { request, agent, target } of serveQueue(waiting, await loadAgents(tx), cursors, new Date())) {
      made.push({ workflowId: request.workflowId, conversationId: request.conversationId, assignment: assignmentOf(agent, target) });
      await insertAssignment(tx, request, agent, target, request.workflowId !== self);
    }
    await saveCursors(tx, cursors);
    return made;
  });
}

async function insertAssignment(
  tx: pg.PoolClient,
  request: AssignmentRequest,
  agent: AgentLoad,
  target: AssignTarget,
  wakePending = false,
  transferKey?: string,
): Promise<void> {
  await tx.query(
    `INSERT INTO assignments (conversation_id, workflow_id, contact_id, agent_id, strategy, via, note, wake_pending, transfer_key, tier,
                              opened_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      request.conversationId,
      request.workflowId,
      request.contactId,
      agent.id,
      strategyOf(target),
      target.via,
      request.note ?? null,
      wakePending,
      transferKey ?? null,
      request.tier,
      request.openedAt ?? null,
    ],
  );
  await tx.query(`UPDATE agents SET last_assigned_at = clock_timestamp() WHERE id = $1`, [agent.id]);
  await tx.query(`DELETE FROM queue_entries WHERE conversation_id = $1`, [request.conversationId]);
}

async function loadAgents(tx: pg.PoolClient): Promise<AgentLoad[]> {
  const { rows } = await tx.query<Omit<AgentLoad, 'open'>>(
    `SELECT id, name, team, role, online, capacity, last_assigned_at AS "lastAssignedAt" FROM agents ORDER BY id FOR UPDATE`,
  );
  // Counted after the locks are held, in a fresh snapshot: every assignment committed before is visible.
  const counts = await tx.query<{ agent_id: string; open: number }>(
    `SELECT agent_id, count(*)::int AS open FROM assignments WHERE released_at IS NULL GROUP BY agent_id`,
  );
  const openByAgent = new Map(counts.rows.map((row) => [row.agent_id, row.open]));
  return rows.map((row) => ({ ...row, open: openByAgent.get(row.id) ?? 0 }));
}

async function loadCursors(tx: pg.PoolClient): Promise<Cursors> {
  const { rows } = await tx.query<{ team: string; last_agent_id: string }>(`SELECT team, last_agent_id FROM team_cursors FOR UPDATE`);
  return new Map(rows.map((row) => [row.team, row.last_agent_id]));
}

async function saveCursors(tx: pg.PoolClient, cursors: Cursors): Promise<void> {
  for (const [team, agentId] of cursors) {
    await tx.query(
      `INSERT INTO team_cursors (team, last_agent_id) VALUES ($1, $2)
       ON CONFLICT (team) DO UPDATE SET last_agent_id = EXCLUDED.last_agent_id, updated_at = now()
       WHERE team_cursors.last_agent_id <> EXCLUDED.last_agent_id`,
      [team, agentId],
    );
  }
}

/** Open assignments whose run has not been told yet. */
export async function pendingWakeUps(db: Queryable): Promise<Array<{ id: string; workflowId: string }>> {
  const { rows } = await db.query<{ id: string; workflowId: string }>(
    `SELECT id, workflow_id AS "workflowId" FROM assignments WHERE wake_pending AND released_at IS NULL ORDER BY id`,
  );
  return rows;
}

/** Open assignments whose run has not been told its agent went offline. */
export async function pendingOfflineNotices(db: Queryable): Promise<Array<{ id: string; workflowId: string; agentId: string }>> {
  const { rows } = await db.query(
    `SELECT id, workflow_id AS "workflowId", agent_id AS "agentId" FROM assignments
      WHERE offline_notice_pending AND released_at IS NULL ORDER BY id`,
  );
  return rows;
}

export async function markOfflineNoticed(db: Queryable, assignmentIds: string[]): Promise<void> {
  if (assignmentIds.length > 0) {
    await db.query(`UPDATE assignments SET offline_notice_pending = false WHERE id = ANY($1::bigint[])`, [assignmentIds]);
  }
}

export async function isDispatchOwed(db: Queryable): Promise<boolean> {
  const { rowCount } = await db.query(`SELECT 1 FROM dispatch_owed LIMIT 1`);
  return rowCount === 1;
}

/**
 * An agent change (made by `write` in the transaction) committed together with what it owes the runs: a dispatch
 * when the agent gained room, a notice to each run the agent holds when they went offline. Delivered at once by
 * afterAgentChange; if the process dies first, by the next dispatch or a worker's periodic check.
 */
export async function commitAgentChange<T extends { before: Agent | undefined; after: Agent }>(
  db: Db,
  write: (tx: pg.PoolClient) => Promise<T | undefined>,
): Promise<T | undefined> {
  return inTransaction(db, async (tx) => {
    const change = await write(tx);
    if (!change) return undefined;
    await oweAfterAgentChange(tx, change.before, change.after);
    return change;
  });
}

export async function oweAfterAgentChange(tx: Queryable, before: Agent | undefined, after: Agent): Promise<void> {
  if (gainedRoom(before, after)) {
    await tx.query(`INSERT INTO dispatch_owed DEFAULT VALUES`);
  }
  if (before?.online && !after.online) {
    await tx.query(`UPDATE assignments SET offline_notice_pending = true WHERE agent_id = $1 AND released_at IS NULL`, [after.id]);
  }
}

export async function markWoken(db: Queryable, assignmentIds: string[]): Promise<void> {
  if (assignmentIds.length > 0) await db.query(`UPDATE assignments SET wake_pending = false WHERE id = ANY($1::bigint[])`, [assignmentIds]);
}

export async function findOpenAssignment(db: Queryable, conversationId: string): Promise<AssignmentResult | null> {
  const { rows } = await db.query<AssignmentResult>(
    `SELECT s.agent_id AS "agentId", a.name, a.team, s.via, s.strategy
       FROM assignments s JOIN agents a ON a.id = s.agent_id
      WHERE s.conversation_id = $1 AND s.released_at IS NULL`,
    [conversationId],
  );
  return rows[0] ?? null;
}

/** Leaves the queue; if the dispatcher assigned the conversation in the meantime, that assignment. */
export async function withdraw(db: Db, conversationId: string): Promise<AssignmentResult | null> {
  return inTransaction(db, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [DISPATCH_LOCK]);
    await tx.query(`DELETE FROM queue_entries WHERE conversation_id = $1`, [conversationId]);
    return findOpenAssignment(tx, conversationId);
  });
}

/** The run an open assignment or a queue entry belongs to: its workflow id and its conversation (first run id). */
export interface HeldByRun {
  workflowId: string;
  conversationId: string;
}

/**
 * Up to `limit` conversations holding an open assignment or a queue entry whose run was not looked at for `everyMs`,
 * marked looked at now: each worker's check takes other rows, and a row is looked at again only after `everyMs`.
 */
export async function claimRunsToCheck(db: Queryable, limit: number, everyMs: number): Promise<HeldByRun[]> {
  const { rows } = await db.query<HeldByRun>(
    `WITH due_assignments AS (
            SELECT id FROM assignments WHERE released_at IS NULL AND run_checked_at < now() - make_interval(secs => $2)
             ORDER BY run_checked_at LIMIT $1 FOR UPDATE SKIP LOCKED),
          assigned AS (
            UPDATE assignments s SET run_checked_at = now() FROM due_assignments d WHERE s.id = d.id
            RETURNING s.workflow_id, s.conversation_id),
          due_entries AS (
            SELECT conversation_id FROM queue_entries WHERE run_checked_at < now() - make_interval(secs => $2)
             ORDER BY run_checked_at LIMIT $1 FOR UPDATE SKIP LOCKED),
          queued AS (
            UPDATE queue_entries q SET run_checked_at = now() FROM due_entries d WHERE q.conversation_id = d.conversation_id
            RETURNING q.workflow_id, q.conversation_id)
     SELECT DISTINCT workflow_id AS "workflowId", conversation_id AS "conversationId"
       FROM (SELECT * FROM assigned UNION ALL SELECT * FROM queued) AS held`,
    [limit, everyMs / 1000],
  );
  return rows;
}

/**
 * Releases what conversations whose run has ended still hold (their assignment, their queue entry) and owes a
 * dispatch for the room freed; returns the agents whose slot was freed, by conversation.
 */
export async function releaseEnded(db: Db, conversationIds: string[]): Promise<Array<{ conversationId: string; agentId: string }>> {
  if (conversationIds.length === 0) return [];
  return inTransaction(db, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [DISPATCH_LOCK]);
    await tx.query(`DELETE FROM queue_entries WHERE conversation_id = ANY($1::text[])`, [conversationIds]);
    const { rows } = await tx.query<{ conversationId: string; agentId: string }>(
      `UPDATE assignments SET released_at = now() WHERE conversation_id = ANY($1::text[]) AND released_at IS NULL
       RETURNING conversation_id AS "conversationId", agent_id AS "agentId"`,
      [conversationIds],
    );
    if (rows.length > 0) await tx.query(`INSERT INTO dispatch_owed DEFAULT VALUES`);
    return rows;
  });
}

/** Frees the agent's slot (and leaves the queue); releasing twice is harmless. */
export async function releaseAssignment(db: Db, conversationId: string): Promise<string | null> {
  return inTransaction(db, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [DISPATCH_LOCK]);
    await tx.query(`DELETE FROM queue_entries WHERE conversation_id = $1`, [conversationId]);
    const { rows } = await tx.query<{ agent_id: string }>(
      `UPDATE assignments SET released_at = now() WHERE conversation_id = $1 AND released_at IS NULL RETURNING agent_id`,
      [conversationId],
    );
    return rows[0]?.agent_id ?? null;
  });
}

/** The agent who last served this contact within the window, if any. */
export async function lastAgentFor(db: Queryable, contactId: string, withinDays: number): Promise<string | null> {
  const { rows } = await db.query<{ agent_id: string }>(
    `SELECT agent_id FROM assignments WHERE contact_id = $1 AND assigned_at > now() - make_interval(secs => $2)
      ORDER BY assigned_at DESC LIMIT 1`,
    [contactId, withinDays * 86_400],
  );
  return rows[0]?.agent_id ?? null;
}

/**
 * Moves an open conversation to another agent or team in one transaction: the same capacity rules as
 * routing unless forced; the old agent's slot is freed for the queue.
 */
export async function transfer(
  db: Db,
  conversation: Pick<AssignmentRequest, 'conversationId' | 'workflowId' | 'contactId' | 'capacity' | 'onlineOnly'>,
  to: TransferRequest & { target: AssignTarget },
  /** The run's step that asks for this transfer: asked again (a retry after a crash), the transfer already made is answered. */
  key?: string,
): Promise<TransferResult> {
  return inTransaction(db, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [DISPATCH_LOCK]);
    if (key) {
      const { rows } = await tx.query<AssignmentResult>(
        `SELECT s.agent_id AS "agentId", a.name, a.team, s.via, s.strategy
           FROM assignments s JOIN agents a ON a.id = s.agent_id WHERE s.conversation_id = $1 AND s.transfer_key = $2`,
        [conversation.conversationId, key],
      );
      if (rows[0]) return { transferred: true, assignee: rows[0] };
    }
    const current = await findOpenAssignment(tx, conversation.conversationId);
    if (!current) return { transferred: false, reason: 'the conversation has no assignee to transfer from' };
    const request: AssignmentRequest = { ...conversation, tier: 'transfer', priority: 0, targets: [to.target], note: to.reason };
    const choice = chooseForTransfer(request, current.agentId, await loadAgents(tx), await loadCursors(tx), to.force ?? false);
    if (!choice) {
      const where = to.target.kind === 'agent' ? `agent ${to.target.agentId}` : to.target.kind === 'team' ? `team ${to.target.team}` : 'managers';
      return { transferred: false, reason: `nobody available in ${where} (offline, unknown or at capacity)` };
    }
    await tx.query(`UPDATE assignments SET released_at = now() WHERE conversation_id = $1 AND released_at IS NULL`, [conversation.conversationId]);
    await insertAssignment(tx, request, choice.agent, choice.target, false, key);
    return { transferred: true, assignee: assignmentOf(choice.agent, choice.target) };
  });
}

/** Our agent a platform user is (by respond.io user id, else by email), if any. */
export async function agentOfPlatformUser(db: Queryable, user: PlatformUser): Promise<AgentLoad | undefined> {
  const { rows } = await db.query<AgentLoad>(
    `SELECT id, name, team, role, online, capacity, last_assigned_at AS "lastAssignedAt", 0 AS open FROM agents
      WHERE respondio_user_id = $1 OR ($2::text IS NOT NULL AND lower(email) = $2)
      ORDER BY (respondio_user_id = $1) DESC NULLS LAST LIMIT 1`,
    [user.userId ?? null, user.email?.toLowerCase() ?? null],
  );
  return rows[0];
}

/**
 * A person re-assigned the conversation in the platform by hand: it leaves the queue and its old agent, and is
 * counted against the new assignee when they are one of our agents (past capacity and presence: a person chose).
 * Null: an un-assignment, or a user we do not know. Repeating it changes nothing more.
 */
export async function adoptPlatformAssignee(
  db: Db,
  conversation: Pick<AssignmentRequest, 'conversationId' | 'workflowId' | 'contactId'>,
  user: PlatformUser | null,
): Promise<AssignmentResult | null> {
  return inTransaction(db, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [DISPATCH_LOCK]);
    const agent = user ? await agentOfPlatformUser(tx, user) : undefined;
    const current = await findOpenAssignment(tx, conversation.conversationId);
    if (agent && current?.agentId === agent.id) return current;
    await tx.query(`DELETE FROM queue_entries WHERE conversation_id = $1`, [conversation.conversationId]);
    await tx.query(`UPDATE assignments SET released_at = now() WHERE conversation_id = $1 AND released_at IS NULL`, [conversation.conversationId]);
    if (!agent) return null;
    const target: AssignTarget = { kind: 'agent', agentId: agent.id, via: 'dedicated_agent' };
    await tx.query(
      `INSERT INTO assignments (conversation_id, workflow_id, contact_id, agent_id, strategy, via, note)
       VALUES ($1, $2, $3, $4, 'direct', 'platform', 'assigned by hand in the platform')`,
      [conversation.conversationId, conversation.workflowId, conversation.contactId, agent.id],
    );
    await tx.query(`UPDATE agents SET last_assigned_at = clock_timestamp() WHERE id = $1`, [agent.id]);
    return { ...assignmentOf(agent, target), via: 'platform' };
  });
}
