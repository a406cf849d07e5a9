import type { Queryable } from './pool';

/** One agent a conversation was given to, and how (`via`: the chain step, a transfer, a hand-over, by hand). */
export interface PathStep {
  via: string;
  agentId: string;
  assignedAt: string;
  releasedAt: string | null;
}

/** Each conversation's assignments, oldest first, by conversation id (the routing run's first run id). */
export async function assignmentPaths(db: Queryable, conversations: Array<{ contactId: string; conversationId: string }>): Promise<Map<string, PathStep[]>> {
  const paths = new Map<string, PathStep[]>();
  if (conversations.length === 0) return paths;
  // By contact first: assignments_by_contact finds the rows; a contact's earlier conversations are then left out.
  const { rows } = await db.query<PathStep & { conversationId: string }>(
    `SELECT conversation_id AS "conversationId", via, agent_id AS "agentId", assigned_at AS "assignedAt", released_at AS "releasedAt"
       FROM assignments
      WHERE contact_id = ANY($1::text[]) AND conversation_id = ANY($2::text[])
      ORDER BY assigned_at, id`,
    [[...new Set(conversations.map((c) => c.contactId))], conversations.map((c) => c.conversationId)],
  );
  for (const { conversationId, ...step } of rows) {
    const path = paths.get(conversationId) ?? [];
    path.push(step);
    paths.set(conversationId, path);
  }
  return paths;
}

export interface TimeToAssignment {
  tier: string;
  /** The start of the minute (ISO). */
  minute: string;
  conversations: number;
  averageSeconds: number;
  maxSeconds: number;
}

/**
 * Time from opening to the first assignment, per tier and minute, for conversations first assigned in the last
 * `minutes` minutes. A later assignment of the same conversation (re-routed, transferred, handed over) is not a
 * first one; transfers and assignments made by hand in the platform carry no opening time and are left out.
 */
export async function timeToAssignmentByMinute(db: Queryable, minutes: number): Promise<TimeToAssignment[]> {
  const { rows } = await db.query<TimeToAssignment>(
    `SELECT tier, date_trunc('minute', assigned_at) AS minute, count(*)::int AS conversations,
            avg(EXTRACT(EPOCH FROM assigned_at - opened_at))::float AS "averageSeconds",
            max(EXTRACT(EPOCH FROM assigned_at - opened_at))::float AS "maxSeconds"
       FROM assignments s
      WHERE assigned_at > now() - make_interval(mins => $1) AND opened_at IS NOT NULL AND tier IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM assignments e
                         WHERE e.contact_id = s.contact_id AND e.conversation_id = s.conversation_id AND e.id < s.id)
      GROUP BY tier, minute
      ORDER BY tier, minute`,
    [minutes],
  );
  return rows.map((row) => ({ ...row, minute: new Date(row.minute).toISOString() }));
}
