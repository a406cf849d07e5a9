import type { Queryable } from './pool';

/**
 * Records on the agent's latest assignment in the conversation how their first response went: written after
 * `seconds`, or not within the first-response time (`missed`). Repeating it changes nothing more.
 */
export async function recordFirstResponse(
  db: Queryable,
  response: { conversationId: string; agentId: string; tier: string; seconds: number; missed: boolean },
): Promise<void> {
  await db.query(
    `UPDATE assignments SET first_response_at = clock_timestamp(), first_response_tier = $3, first_response_seconds = $4,
            first_response_missed = $5
      WHERE id = (SELECT max(id) FROM assignments WHERE conversation_id = $1 AND agent_id = $2) AND first_response_at IS NULL`,
    [response.conversationId, response.agentId, response.tier, response.seconds, response.missed],
  );
}

export interface FirstResponseSummary {
  tier: string;
  /** Assignees who wrote to the contact in time. */
  answered: number;
  averageSeconds: number | null;
  maxSeconds: number | null;
  /** Assignees who let the first-response time pass (the conversation moved on). */
  missed: number;
}

/** First responses by tier over the last `minutes` minutes (those the runs decided in that time). */
export async function firstResponsesByTier(db: Queryable, minutes: number): Promise<FirstResponseSummary[]> {
  const { rows } = await db.query<FirstResponseSummary>(
    `SELECT first_response_tier AS tier,
            count(*) FILTER (WHERE NOT first_response_missed)::int AS answered,
            avg(first_response_seconds) FILTER (WHERE NOT first_response_missed)::float AS "averageSeconds",
            max(first_response_seconds) FILTER (WHERE NOT first_response_missed)::float AS "maxSeconds",
            count(*) FILTER (WHERE first_response_missed)::int AS missed
       FROM assignments
      WHERE first_response_at > now() - make_interval(mins => $1)
      GROUP BY first_response_tier
      ORDER BY first_response_tier`,
    [minutes],
  );
  return rows;
}
