import { type Db, inTransaction, type Queryable } from './pool';

/**
 * The row a send to respond.io is claimed on: a transcript message (a message or a note), or a platform call (the
 * close). Each has the same three claim columns, and its own record that the send went through.
 */
export type SendTarget = { table: 'messages'; id: string } | { table: 'platform_calls'; conversationId: string; key: string };

function rowOf(target: SendTarget): { where: string; params: string[]; confirmed: string } {
  return target.table === 'messages'
    ? { where: 'id = $1', params: [target.id], confirmed: 'platform_message_id IS NOT NULL' }
    : { where: 'conversation_id = $1 AND call_key = $2', params: [target.conversationId, target.key], confirmed: 'completed_at IS NOT NULL' };
}

export type SendClaim =
  /** The send went through already (its record is there): nothing to do. */
  | { state: 'confirmed' }
  /** This attempt may send, until its lease runs out. */
  | { state: 'claimed'; unconfirmedSince: Date | null }
  /** Another attempt holds a live lease: it may be sending right now. */
  | { state: 'held'; unconfirmedSince: Date; retryInMs: number };

/**
 * Claims the send for `attempt` for `leaseMs`, committed before any request. `unconfirmedSince` is when an earlier
 * attempt, never confirmed nor released, began: what it sent since then may already be at respond.io.
 */
export async function claimSend(db: Db, target: SendTarget, attempt: string, leaseMs: number): Promise<SendClaim> {
  const { where, params, confirmed } = rowOf(target);
  const n = params.length;
  return inTransaction(db, async (client) => {
    const { rows } = await client.query(
      `SELECT ${confirmed} AS confirmed, send_attempt AS "attempt", send_claimed_at AS "claimedAt",
              GREATEST(0, CEIL(EXTRACT(EPOCH FROM (send_lease_until - clock_timestamp())) * 1000))::int AS "leftMs"
         FROM ${target.table} WHERE ${where} FOR UPDATE`,
      params,
    );
    const row = rows[0] as { confirmed: boolean; attempt: string | null; claimedAt: Date | null; leftMs: number | null } | undefined;
    if (!row) throw new Error(`no ${target.table} row to claim a send on`);
    if (row.confirmed) return { state: 'confirmed' };
    if (row.attempt !== null && row.attempt !== attempt && (row.leftMs ?? 0) > 0) {
      return { state: 'held', unconfirmedSince: row.claimedAt!, retryInMs: row.leftMs! };
    }
    await client.query(
      `UPDATE ${target.table}
          SET send_attempt = $${n + 1}, send_claimed_at = COALESCE(send_claimed_at, clock_timestamp()),
              send_lease_until = clock_timestamp() + $${n + 2} * interval '1 millisecond'
        WHERE ${where}`,
      [...params, attempt, leaseMs],
    );
    return { state: 'claimed', unconfirmedSince: row.claimedAt };
  });
}

/**
 * Ends `attempt`'s lease. `sent: 'no'`: respond.io refused or never got the request, so nothing of this claim went
 * out and the claim is dropped. `sent: 'unknown'`: the request is over but may have taken effect, so the next
 * attempt may start at once and looks at respond.io first.
 */
export async function endSendLease(db: Queryable, target: SendTarget, attempt: string, sent: 'no' | 'unknown'): Promise<void> {
  const { where, params } = rowOf(target);
  const n = params.length;
  const set = sent === 'no' ? 'send_attempt = NULL, send_claimed_at = NULL, send_lease_until = NULL' : 'send_lease_until = clock_timestamp()';
  await db.query(`UPDATE ${target.table} SET ${set} WHERE ${where} AND send_attempt = $${n + 1}`, [...params, attempt]);
}
