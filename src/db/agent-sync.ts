import { oweAfterAgentChange } from '../assignment/store';
import { type Agent, type AgentRole, getAgent } from './agents';
import { type Db, inTransaction } from './pool';

/** A respond.io user as an agent: who they are and where they work; presence and capacity are not theirs to say. */
export interface PlatformAgent {
  userId: string;
  name: string;
  email: string | null;
  team: string;
  role: AgentRole;
}

export interface AgentSyncResult {
  added: string[];
  updated: string[];
  /** No longer in the workspace: taken offline. */
  removed: string[];
  /** Back in the workspace after a removal; still offline until an operator says otherwise. */
  restored: string[];
  unchanged: number;
  /** Emails another agent already holds: left as they were. */
  emailConflicts: string[];
  /** Every agent that changed, before and after, for what the change sets off. */
  changes: Array<{ before: Agent | undefined; after: Agent }>;
}

const SYNC_LOCK = 0x76697073; // 'vips'

/**
 * Brings the agents in line with the workspace's users in one transaction: new users added, names, emails, teams
 * and roles updated, users gone taken offline. An agent made by hand with the same email is linked, not duplicated.
 */
export async function syncPlatformAgents(db: Db, users: PlatformAgent[], options: { newAgentsOnline: boolean }): Promise<AgentSyncResult> {
  return inTransaction(db, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [SYNC_LOCK]);
    const result: AgentSyncResult = { added: [], updated: [], removed: [], restored: [], unchanged: 0, emailConflicts: [], changes: [] };
    for (const user of users) {
      const { rows } = await tx.query<{ id: string }>(
        `SELECT id FROM agents WHERE respondio_user_id = $1
         UNION ALL
         SELECT id FROM agents WHERE respondio_user_id IS NULL AND $2::text IS NOT NULL AND lower(email) = lower($2)
         LIMIT 1`,
        [user.userId, user.email],
      );
      const before = rows[0] ? await getAgent(tx, rows[0].id) : undefined;
      const id = before?.id ?? `respondio-${user.userId}`;
      await tx.query(`INSERT INTO teams (name) VALUES ($1) ON CONFLICT DO NOTHING`, [user.team]);
      let email = user.email?.toLowerCase() ?? null;
      if (email && email !== before?.email) {
        const { rowCount } = await tx.query(`SELECT 1 FROM agents WHERE lower(email) = $1 AND id <> $2`, [email, id]);
        if (rowCount) {
          result.emailConflicts.push(email);
          email = before?.email ?? null;
        }
      }
      await tx.query(
        `INSERT INTO agents (id, name, team, role, online, capacity, email, respondio_user_id)
         VALUES ($1, $2, $3, $4, $5, NULL, $6, $7)
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, team = EXCLUDED.team, role = EXCLUDED.role,
           email = EXCLUDED.email, respondio_user_id = EXCLUDED.respondio_user_id, removed_at = NULL, updated_at = now()`,
        [id, user.name, user.team, user.role, options.newAgentsOnline, email, user.userId],
      );
      const after = (await getAgent(tx, id))!;
      await oweAfterAgentChange(tx, before, after);
      if (!before) result.added.push(id);
      else if (before.removedAt) result.restored.push(id);
      else if (before.name !== after.name || before.team !== after.team || before.role !== after.role || before.email !== after.email || before.respondioUserId !== after.respondioUserId) {
        result.updated.push(id);
      } else {
        result.unchanged++;
        continue;
      }
      result.changes.push({ before, after });
    }
    const { rows: gone } = await tx.query<{ id: string }>(
      `SELECT id FROM agents WHERE respondio_user_id IS NOT NULL AND removed_at IS NULL AND NOT (respondio_user_id = ANY($1::text[]))`,
      [users.map((user) => user.userId)],
    );
    for (const { id } of gone) {
      const before = await getAgent(tx, id);
      await tx.query(`UPDATE agents SET online = false, removed_at = now(), updated_at = now() WHERE id = $1`, [id]);
      const after = (await getAgent(tx, id))!;
      await oweAfterAgentChange(tx, before, after);
      result.removed.push(id);
      result.changes.push({ before, after });
    }
    return result;
  });
}

export async function countPlatformAgents(db: Db): Promise<number> {
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM agents WHERE respondio_user_id IS NOT NULL AND removed_at IS NULL`);
  return rows[0].n;
}
