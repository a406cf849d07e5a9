import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type pg from 'pg';

/** A pool or a client (pool.ts's Queryable, written out so the two modules do not import each other). */
type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

/**
 * Databases migrated before node-pg-migrate: postgres-migrations recorded each applied file in its table `migrations`
 * as (id, name, hash), id and name from `NNN_name.sql`, hash the sha1 of the file name followed by its content, and
 * a row 0 for its own table. It applied the files in id order, so what it recorded is always the first files.
 */
const LEGACY_TABLE = 'migrations';

/** The advisory lock postgres-migrations held while migrating: a process of the previous release may still hold it. */
export const LEGACY_LOCK_ID = '-8525285245963000605';

interface LegacyRecord {
  id: number;
  name: string;
  hash: string;
}

/**
 * The migration files (names without `.sql`, as node-pg-migrate names them) that postgres-migrations applied to this
 * database; none when it never ran here. Throws, naming each difference, when its record does not match the files:
 * a file edited after it was applied, or a database migrated by a release with files this one lacks.
 */
export async function legacyAppliedMigrations(db: Queryable, dir: string): Promise<string[]> {
  const { rows: found } = await db.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [LEGACY_TABLE]);
  if (!found[0]?.exists) return [];
  const { rows: recorded } = await db.query<LegacyRecord>(`SELECT id, name, hash FROM ${LEGACY_TABLE} WHERE id > 0 ORDER BY id`);
  const files = new Map((await readdir(dir)).filter((file) => file.endsWith('.sql')).map((file) => [parseInt(file, 10), file]));
  const differences: string[] = [];
  for (const [index, record] of recorded.entries()) {
    const file = files.get(record.id);
    if (record.id !== index + 1) differences.push(`migration ${record.id} (${record.name}) is recorded without migration ${index + 1}`);
    else if (!file) differences.push(`migration ${record.id} (${record.name}) is recorded but there is no such file`);
    else {
      const expected = legacyRecordOf(file, await readFile(join(dir, file), 'utf8'));
      if (record.name !== expected.name) differences.push(`${file} is recorded under the name "${record.name}"`);
      else if (record.hash !== expected.hash) differences.push(`${file} has changed since it was applied`);
    }
  }
  if (differences.length > 0) {
    throw new Error(
      `this database was migrated by postgres-migrations and its record (table ${LEGACY_TABLE}) does not match ${dir}: ${differences.join('; ')}; nothing was changed`,
    );
  }
  return recorded.map((record) => basename(files.get(record.id)!, '.sql'));
}

/** What postgres-migrations recorded for a file: `001_initial_schema.sql` → id 1, name `initial_schema`. */
function legacyRecordOf(file: string, content: string): Omit<LegacyRecord, 'id'> {
  const name = /^\d+[-_]?(.*)\.sql$/.exec(file)?.[1] || file;
  return { name, hash: createHash('sha1').update(file + content, 'utf8').digest('hex') };
}
