import type { Queryable } from './pool';

/**
 * Claims a call to the platform for one step of a run; false when that step's call already went through (a
 * retried activity after a crash must not repeat a call the platform does not de-duplicate).
 */
export async function beginPlatformCall(
  db: Queryable,
  call: { conversationId: string; key: string; contactId: string; kind: string; request: unknown },
): Promise<boolean> {
  await db.query(
    `INSERT INTO platform_calls (conversation_id, call_key, contact_id, kind, request) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (conversation_id, call_key) DO NOTHING`,
    [call.conversationId, call.key, call.contactId, call.kind, JSON.stringify(call.request)],
  );
  const { rows } = await db.query(`SELECT completed_at FROM platform_calls WHERE conversation_id = $1 AND call_key = $2`, [
    call.conversationId,
    call.key,
  ]);
  return rows[0]?.completed_at == null;
}

/** `status` null: taken as done without respond.io's answer. */
export async function completePlatformCall(db: Queryable, conversationId: string, key: string, status: number | null): Promise<void> {
  await db.query(`UPDATE platform_calls SET completed_at = now(), status = $3 WHERE conversation_id = $1 AND call_key = $2`, [
    conversationId,
    key,
    status,
  ]);
}

/** A newer conversation of the contact replaced this one: the platform effects still pending for it are dropped. */
export async function markSuperseded(db: Queryable, conversationId: string, contactId: string): Promise<void> {
  await db.query(`INSERT INTO superseded_conversations (conversation_id, contact_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
    conversationId,
    contactId,
  ]);
}

export async function isSuperseded(db: Queryable, conversationId: string): Promise<boolean> {
  const { rowCount } = await db.query(`SELECT 1 FROM superseded_conversations WHERE conversation_id = $1`, [conversationId]);
  return rowCount === 1;
}

export interface GivenUpEffect {
  conversationId: string;
  contactId: string;
  /** message, assignee or close. */
  effect: string;
  reason: string;
  givenUpAt: string;
}

/** An effect given up after its time bound; recorded once per step of the run. */
export async function recordGivenUpEffect(
  db: Queryable,
  effect: { conversationId: string; key: string; contactId: string; effect: string; reason: string },
): Promise<void> {
  await db.query(
    `INSERT INTO given_up_effects (conversation_id, effect_key, contact_id, effect, reason) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (conversation_id, effect_key) DO NOTHING`,
    [effect.conversationId, effect.key, effect.contactId, effect.effect, effect.reason],
  );
}

/** The latest effects given up, newest first. */
export async function recentGivenUpEffects(db: Queryable, limit: number): Promise<GivenUpEffect[]> {
  const { rows } = await db.query<GivenUpEffect>(
    `SELECT conversation_id AS "conversationId", contact_id AS "contactId", effect, reason, given_up_at AS "givenUpAt"
       FROM given_up_effects ORDER BY given_up_at DESC LIMIT $1`,
    [limit],
  );
  return rows.map((row) => ({ ...row, givenUpAt: new Date(row.givenUpAt).toISOString() }));
}

/**
 * What the platform records keep past a conversation, pruned by the transcript retention: completed calls (their
 * requests hold comment texts), superseded conversations and given-up effects older than `olderThanMs`. A pending
 * effect is bounded to a few hours, so nothing younger than a day is pruned, whatever the retention.
 */
export async function prunePlatformRecords(
  db: Queryable,
  olderThanMs: number,
): Promise<{ platformCalls: number; supersededConversations: number; givenUpEffects: number }> {
  const afterMs = Math.max(olderThanMs, 24 * 3_600_000);
  const count = async (sql: string) => (await db.query(sql, [afterMs])).rowCount ?? 0;
  const before = `now() - make_interval(secs => $1 / 1000.0)`;
  return {
    platformCalls: await count(`DELETE FROM platform_calls WHERE completed_at IS NOT NULL AND completed_at < ${before}`),
    supersededConversations: await count(`DELETE FROM superseded_conversations WHERE superseded_at < ${before}`),
    givenUpEffects: await count(`DELETE FROM given_up_effects WHERE given_up_at < ${before}`),
  };
}
