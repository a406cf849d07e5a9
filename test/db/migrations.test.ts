import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createPool, type Db, migrateDatabase } from '../../src/db/pool';
import { acquireTestServers, createScratchDatabase } from '../support/servers';

/**
 * Migrations with node-pg-migrate: a new database gets every file of src/db/migrations; one that postgres-migrations
 * (the tool before) migrated is carried over without running anything twice; processes starting at once take turns.
 */

const MIGRATIONS_DIR = join(__dirname, '../../src/db/migrations');
const FILES = readdirSync(MIGRATIONS_DIR)
  .filter((file) => file.endsWith('.sql'))
  .sort();
const NAMES = FILES.map((file) => file.slice(0, -'.sql'.length));
/** postgres-migrations' table and rows as it left them after applying every file (recorded while it was a dependency). */
const LEGACY_SNAPSHOT = join(__dirname, '../fixtures/postgres-migrations/migrations-table.sql');
const RECORD_TABLES = ['migrations', 'pgmigrations'];
/** The files postgres-migrations applied before it was replaced (the snapshot's rows); later files came after it. */
const LEGACY_COUNT = 11;

describe('database migrations', () => {
  let release: () => Promise<void>;
  let adminUrl = '';
  const pools: Db[] = [];
  before(async () => {
    const acquired = await acquireTestServers();
    release = acquired.release;
    adminUrl = acquired.servers.databaseUrl;
  });
  after(async () => {
    await Promise.all(pools.map((pool) => pool.end()));
    await release();
  });

  function open(url: string): Db {
    const db = createPool(url, 2);
    pools.push(db);
    return db;
  }
  const freshDatabase = async () => open(await createScratchDatabase(adminUrl));
  /** A new, empty database as two processes see it: each its own pool. */
  async function twoProcesses(): Promise<[Db, Db]> {
    const url = await createScratchDatabase(adminUrl);
    return [open(url), open(url)];
  }

  async function runFilesInOrder(db: Db, count = FILES.length): Promise<void> {
    for (const file of FILES.slice(0, count)) await db.query(await readFile(join(MIGRATIONS_DIR, file), 'utf8'));
  }

  /** What postgres-migrations leaves after applying the first `count` files: their SQL run, its table recording them. */
  async function migratedByPostgresMigrations(db: Db, count: number): Promise<void> {
    await runFilesInOrder(db, count);
    await db.query(await readFile(LEGACY_SNAPSHOT, 'utf8'));
    await db.query('DELETE FROM migrations WHERE id > $1', [count]);
  }

  /** Rows as postgres-migrations would have written them for the files after LEGACY_COUNT (had it applied them). */
  async function recordedByPostgresMigrationsToo(db: Db, files: string[]): Promise<void> {
    for (const file of files) {
      const hash = createHash('sha1').update(file + (await readFile(join(MIGRATIONS_DIR, file), 'utf8')), 'utf8').digest('hex');
      await db.query('INSERT INTO migrations (id, name, hash) VALUES ($1, $2, $3)', [parseInt(file, 10), file.slice(4, -'.sql'.length), hash]);
    }
  }

  const recorded = async (db: Db) => (await db.query<{ name: string }>('SELECT name FROM pgmigrations ORDER BY id')).rows.map((row) => row.name);
  const legacyRecord = async (db: Db) => (await db.query<{ id: number; hash: string }>('SELECT id, hash FROM migrations ORDER BY id')).rows;
  const hasTable = async (db: Db, table: string) => (await db.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [table])).rows[0]!.found;

  /** Columns, constraints and indexes of every table but the migration records, one line each. */
  async function schemaOf(db: Db): Promise<string[]> {
    const { rows } = await db.query<{ line: string }>(
      `SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') AS line
         FROM information_schema.columns WHERE table_schema = 'public' AND NOT (table_name = ANY($1))
       UNION ALL
       SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
         FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND NOT (conrelid::regclass::text = ANY($1))
       UNION ALL
       SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND NOT (tablename = ANY($1))
       ORDER BY 1`,
      [RECORD_TABLES],
    );
    return rows.map((row) => row.line);
  }

  it('a new database gets every migration, in one go, and the schema the SQL files give run in order', async () => {
    const [db, byHand] = [await freshDatabase(), await freshDatabase()];
    assert.deepEqual(await migrateDatabase(db), { carriedOver: [], applied: NAMES });
    assert.deepEqual(await recorded(db), NAMES);
    assert.equal(await hasTable(db, 'migrations'), false, 'no postgres-migrations table on a new database');

    await runFilesInOrder(byHand);
    const schema = await schemaOf(db);
    assert.ok(schema.some((line) => line.startsWith('routing_rule_versions.crm_version text NO')));
    assert.deepEqual(schema, await schemaOf(byHand));

    assert.deepEqual(await migrateDatabase(db), { carriedOver: [], applied: [] }, 'a second start finds nothing to do');
  });

  it('a database postgres-migrations migrated is carried over: nothing it applied runs again, the later files are applied', async () => {
    const db = await freshDatabase();
    const carried = 7;
    await migratedByPostgresMigrations(db, carried);
    await db.query(`INSERT INTO contacts (id, email) VALUES ('contact-before-upgrade', 'ada@example.com')`);
    const legacyBefore = await legacyRecord(db);

    // 001 creates its tables without IF NOT EXISTS: running it again would fail the whole upgrade.
    assert.deepEqual(await migrateDatabase(db), { carriedOver: NAMES.slice(0, carried), applied: NAMES.slice(carried) });
    assert.deepEqual(await recorded(db), NAMES);
    assert.deepEqual(await legacyRecord(db), legacyBefore, "postgres-migrations' own record stays as it was, for the previous release");
    assert.equal((await db.query(`SELECT email FROM contacts WHERE id = 'contact-before-upgrade'`)).rows[0]?.email, 'ada@example.com');
    const fresh = await freshDatabase();
    await migrateDatabase(fresh);
    assert.deepEqual(await schemaOf(db), await schemaOf(fresh));

    assert.deepEqual(await migrateDatabase(db), { carriedOver: [], applied: [] }, 'carried over once');
  });

  it('a database postgres-migrations fully migrated is carried over with nothing to apply', async () => {
    const db = await freshDatabase();
    await migratedByPostgresMigrations(db, LEGACY_COUNT);
    assert.deepEqual(await migrateDatabase(db), { carriedOver: NAMES.slice(0, LEGACY_COUNT), applied: NAMES.slice(LEGACY_COUNT) });
    assert.deepEqual(await recorded(db), NAMES);
  });

  const mismatches: Array<{ name: string; change: string; message: RegExp; laterFiles?: boolean }> = [
    { name: 'an applied file edited since', change: `UPDATE migrations SET hash = repeat('0', 40) WHERE id = 3`, message: /003_wake_ups\.sql has changed since it was applied/ },
    { name: 'a file renamed since', change: `UPDATE migrations SET name = 'wakeups' WHERE id = 3`, message: /003_wake_ups\.sql is recorded under the name "wakeups"/ },
    {
      name: 'a migration this release lacks',
      change: `INSERT INTO migrations (id, name, hash) VALUES (${FILES.length + 1}, 'from_a_newer_release', repeat('0', 40))`,
      message: new RegExp(`migration ${FILES.length + 1} \\(from_a_newer_release\\) is recorded but there is no such file`),
      laterFiles: true,
    },
  ];
  for (const { name, change, message, laterFiles } of mismatches) {
    it(`a postgres-migrations record that does not match the files is refused, changing nothing: ${name}`, async () => {
      const db = await freshDatabase();
      await migratedByPostgresMigrations(db, LEGACY_COUNT);
      if (laterFiles) await recordedByPostgresMigrationsToo(db, FILES.slice(LEGACY_COUNT));
      await db.query(change);
      await assert.rejects(migrateDatabase(db), (error: Error) => {
        assert.match(error.message, /migrated by postgres-migrations and its record \(table migrations\) does not match/);
        assert.match(error.message, message);
        return true;
      });
      assert.equal(await hasTable(db, 'pgmigrations'), false);
    });
  }

  it('two processes migrating a new database at once: one applies, both succeed', async () => {
    const [first, second] = await twoProcesses();
    const reports = await Promise.all([migrateDatabase(first), migrateDatabase(second)]);
    assert.deepEqual(reports.map((report) => report.applied.length).sort(), [0, NAMES.length]);
    assert.deepEqual(await recorded(first), NAMES);
  });

  it('two processes upgrading a postgres-migrations database at once: one carries over, both succeed', async () => {
    const [first, second] = await twoProcesses();
    await migratedByPostgresMigrations(first, 9);
    const reports = await Promise.all([migrateDatabase(first), migrateDatabase(second)]);
    assert.deepEqual(reports.map((report) => [report.carriedOver.length, report.applied.length]).sort(), [
      [0, 0],
      [9, NAMES.length - 9],
    ]);
    assert.deepEqual(await recorded(first), NAMES);
  });
});
