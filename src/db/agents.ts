import type { Queryable } from './pool';

export type AgentRole = 'agent' | 'manager';

export interface Agent {
  id: string;
  name: string;
  team: string;
  role: AgentRole;
  online: boolean;
  /** Null: the team's default capacity from the routing config. */
  capacity: number | null;
  openConversations: number;
  lastAssignedAt: string | null;
  /** How respond.io names this agent when assigning: the user id from an agent sync, else the email. */
  email: string | null;
  respondioUserId: string | null;
  /** Set when an agent sync no longer found the user in respond.io. */
  removedAt: string | null;
}

const agentColumns = `a.id, a.name, a.team, a.role, a.online, a.capacity, a.last_assigned_at AS "lastAssignedAt",
  a.email, a.respondio_user_id AS "respondioUserId", a.removed_at AS "removedAt",
  (SELECT count(*)::int FROM assignments s WHERE s.agent_id = a.id AND s.released_at IS NULL) AS "openConversations"`;

export async function putAgent(
  db: Queryable,
  agent: {
    id: string;
    name: string;
    team: string;
    role: AgentRole;
    online: boolean;
    capacity?: number | null;
    /** Omitted: kept as it was. */
    email?: string | null;
    respondioUserId?: string | null;
  },
): Promise<Agent> {
  await db.query(`INSERT INTO teams (name) VALUES ($1) ON CONFLICT DO NOTHING`, [agent.team]);
  await db.query(
    `INSERT INTO agents (id, name, team, role, online, capacity, email, respondio_user_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, team = EXCLUDED.team, role = EXCLUDED.role,
       online = EXCLUDED.online, capacity = EXCLUDED.capacity,
       email = CASE WHEN $9 THEN EXCLUDED.email ELSE agents.email END,
       respondio_user_id = CASE WHEN $10 THEN EXCLUDED.respondio_user_id ELSE agents.respondio_user_id END,
       updated_at = now()`,
    [
      agent.id,
      agent.name,
      agent.team,
      agent.role,
      agent.online,
      agent.capacity ?? null,
      agent.email?.toLowerCase() ?? null,
      agent.respondioUserId ?? null,
      agent.email !== undefined,
      agent.respondioUserId !== undefined,
    ],
  );
  const stored = await getAgent(db, agent.id);
  return stored!;
}

export async function patchAgent(
  db: Queryable,
  agentId: string,
  changes: { online?: boolean; capacity?: number },
): Promise<{ before: Agent; after: Agent } | undefined> {
  const before = await getAgent(db, agentId);
  if (!before) return undefined;
  await db.query(
    `UPDATE agents SET online = COALESCE($2, online), capacity = COALESCE($3, capacity), updated_at = now()
      WHERE id = $1`,
    [agentId, changes.online ?? null, changes.capacity ?? null],
  );
  const after = await getAgent(db, agentId);
  return { before, after: after! };
}

export async function getAgent(db: Queryable, agentId: string): Promise<Agent | undefined> {
  const { rows } = await db.query(`SELECT ${agentColumns} FROM agents a WHERE a.id = $1`, [agentId]);
  return rows[0];
}

export async function listAgents(db: Queryable): Promise<Agent[]> {
  const { rows } = await db.query(`SELECT ${agentColumns} FROM agents a ORDER BY a.team, a.id`);
  return rows;
}

export async function countAgents(db: Queryable): Promise<number> {
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM agents`);
  return rows[0].n;
}

