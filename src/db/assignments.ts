import type pg from 'pg';
import type { AssignmentResult, AssignTarget } from '../workflows/types';
import { type Db, inTransaction, isUniqueViolation, type Queryable } from './pool';

export interface AssignRequest {
  conversationId: string;
  workflowId: string;
  contactId: string;
  targets: AssignTarget[];
  onlineOnly: boolean;
  note?: string;
}

interface Candidate {
  id: string;
  name: string;
  team: string;
  role: string;
  capacity: number;
  lastAssignedAt: Date | null;
  open: number;
}

/**
 * Assigns the conversation to the first available agent along the chain, in one transaction.
 * Every candidate row is locked in id order (no deadlocks between concurrent runs), so two runs can
 * never both take an agent's last free slot; the partial unique index makes a retried call return the
 * assignment it already made instead of making a second one.
 */
export async function assignFirstAvailable(db: Db, request: AssignRequest): Promise<AssignmentResult | null> {
  try {
    return await inTransaction(db, (tx) => assignInTransaction(tx, request));
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    return findOpenAssignment(db, request.conversationId);
  }
}

async function assignInTransaction(tx: pg.PoolClient, request: AssignRequest): Promise<AssignmentResult | null> {
  const existing = await findOpenAssignment(tx, request.conversationId);
  if (existing) return existing;

  const candidates = await lockCandidates(tx, request);
  for (const target of request.targets) {
    const available = candidates
      .filter((agent) => matchesTarget(agent, target) && agent.open < agent.capacity)
      .sort(target.kind === 'agent' ? () => 0 : byStrategy(target.strategy));
    const chosen = available[0];
    if (!chosen) continue;
    const strategy = target.kind === 'agent' ? 'direct' : target.strategy;
    await tx.query(
      `INSERT INTO assignments (conversation_id, workflow_id, contact_id, agent_id, strategy, via, note)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [request.conversationId, request.workflowId, request.contactId, chosen.id, strategy, target.via, request.note ?? null],
    );
    await tx.query(`UPDATE agents SET last_assigned_at = clock_timestamp() WHERE id = $1`, [chosen.id]);
    await tx.query(`DELETE FROM queue_entries WHERE conversation_id = $1`, [request.conversationId]);
    return { agentId: chosen.id, name: chosen.name, team: chosen.team, via: target.via, strategy };
  }
  return null;
}

async function lockCandidates(tx: pg.PoolClient, request: AssignRequest): Promise<Candidate[]> {
  const agentIds = request.targets.flatMap((t) => (t.kind === 'agent' ? [t.agentId] : []));
  const teams = request.targets.flatMap((t) => (t.kind === 'team' ? [t.team] : []));
  const roles = request.targets.flatMap((t) => (t.kind === 'role' ? [t.role] : []));
  const locked = await tx.query(
    `SELECT id, name, team, role, capacity, last_assigned_at AS "lastAssignedAt"
       FROM agents
      WHERE (id = ANY($1) OR team = ANY($2) OR role = ANY($3)) AND (online OR NOT $4)
      ORDER BY id
        FOR UPDATE`,
    [agentIds, teams, roles, request.onlineOnly],
  );
  if (locked.rows.length === 0) return [];
  // Counted after the locks are held, in a fresh snapshot: every assignment committed by a run that
  // held these locks before us is visible.
  const counts = await tx.query(
    `SELECT agent_id, count(*)::int AS open FROM assignments
      WHERE released_at IS NULL AND agent_id = ANY($1) GROUP BY agent_id`,
    [locked.rows.map((row) => row.id)],
  );
  const openByAgent = new Map<string, number>(counts.rows.map((row) => [row.agent_id, row.open]));
  return locked.rows.map((row) => ({ ...row, open: openByAgent.get(row.id) ?? 0 }));
}

function matchesTarget(agent: Candidate, target: AssignTarget): boolean {
  switch (target.kind) {
    case 'agent':
      return agent.id === target.agentId;
    case 'team':
      return agent.team === target.team;
    case 'role':
      return agent.role === target.role;
  }
}

const neverAssignedFirst = (agent: Candidate) => agent.lastAssignedAt?.getTime() ?? -Infinity;

function byStrategy(strategy: 'least_open' | 'round_robin') {
  return (a: Candidate, b: Candidate): number => {
    if (strategy === 'least_open' && a.open !== b.open) return a.open - b.open;
    const idle = neverAssignedFirst(a) - neverAssignedFirst(b);
    if (idle !== 0 && !Number.isNaN(idle)) return idle;
    return a.id.localeCompare(b.id);
  };
}

async function findOpenAssignment(db: Queryable, conversationId: string): Promise<AssignmentResult | null> {
  const { rows } = await db.query(
    `SELECT s.agent_id AS "agentId", a.name, a.team, s.via, s.strategy
       FROM assignments s JOIN agents a ON a.id = s.agent_id
      WHERE s.conversation_id = $1 AND s.released_at IS NULL`,
    [conversationId],
  );
  return rows[0] ?? null;
}

/** Frees the agent's slot; releasing twice is harmless. */
export async function releaseAssignment(db: Queryable, conversationId: string): Promise<string | null> {
  const { rows } = await db.query(
    `UPDATE assignments SET released_at = now() WHERE conversation_id = $1 AND released_at IS NULL RETURNING agent_id`,
    [conversationId],
  );
  return rows[0]?.agent_id ?? null;
}
