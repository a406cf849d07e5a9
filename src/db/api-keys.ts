import type { Queryable } from './pool';

export type ApiKeyScope = 'admin' | 'integration' | 'read' | 'codec' | 'decode' | 'metrics';

export interface ApiKeyRecord {
  id: string;
  name: string;
  scope: ApiKeyScope;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

const columns = `id, name, scope, created_at AS "createdAt", last_used_at AS "lastUsedAt", revoked_at AS "revokedAt"`;

export async function insertApiKey(db: Queryable, key: { id: string; name: string; scope: ApiKeyScope; keyHash: string }): Promise<ApiKeyRecord> {
  const { rows } = await db.query(
    `INSERT INTO api_keys (id, name, scope, key_hash) VALUES ($1, $2, $3, $4) RETURNING ${columns}`,
    [key.id, key.name, key.scope, key.keyHash],
  );
  return rows[0];
}

/** Stores a key whose value the operator chose (the bootstrap key); a key already stored is left as it is and returned. */
export async function ensureApiKey(db: Queryable, key: { id: string; name: string; scope: ApiKeyScope; keyHash: string }): Promise<ApiKeyRecord> {
  await db.query(
    `INSERT INTO api_keys (id, name, scope, key_hash) VALUES ($1, $2, $3, $4) ON CONFLICT (key_hash) DO NOTHING`,
    [key.id, key.name, key.scope, key.keyHash],
  );
  const { rows } = await db.query(`SELECT ${columns} FROM api_keys WHERE key_hash = $1`, [key.keyHash]);
  return rows[0];
}

/** The active key with this hash, marked as used now. */
export async function useApiKey(db: Queryable, keyHash: string): Promise<ApiKeyRecord | undefined> {
  const { rows } = await db.query(
    `UPDATE api_keys SET last_used_at = now() WHERE key_hash = $1 AND revoked_at IS NULL RETURNING ${columns}`,
    [keyHash],
  );
  return rows[0];
}

export async function listApiKeys(db: Queryable): Promise<ApiKeyRecord[]> {
  const { rows } = await db.query(`SELECT ${columns} FROM api_keys ORDER BY created_at, id`);
  return rows;
}

export async function countActiveApiKeys(db: Queryable): Promise<number> {
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM api_keys WHERE revoked_at IS NULL`);
  return rows[0].n;
}

/** Revokes by id; true when a key was active. */
export async function revokeApiKey(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, [id]);
  return rowCount === 1;
}

/** Revokes every active key of this name but `keep`: for keys a process makes anew at each start. */
export async function revokeApiKeysNamed(db: Queryable, name: string, keep: string): Promise<void> {
  await db.query(`UPDATE api_keys SET revoked_at = now() WHERE name = $1 AND id <> $2 AND revoked_at IS NULL`, [name, keep]);
}
