import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { createApp } from '../../src/api/app';
import { createPool, type Db, migrateDatabase } from '../../src/db/pool';
import { findFreePort } from '../../src/local/ports';
import { createLogger } from '../../src/observability/logger';
import { parseRoutingConfig } from '../../src/domain/routing-config';
import { ApiKeys, generateApiKey } from '../../src/security/api-key-tokens';
import { acquireTestServers, createScratchDatabase } from '../support/servers';

/** Readiness tells an orchestrator the truth: not ready while PostgreSQL or Temporal is unreachable. */
describe('readiness', () => {
  let release: () => Promise<void>;
  let temporalAddress = '';
  before(async () => {
    const acquired = await acquireTestServers();
    release = acquired.release;
    temporalAddress = acquired.servers.temporalAddress;
  });
  after(() => release());

  /** /readyz and /healthz of one app whose PostgreSQL or Temporal may be unreachable. */
  async function probe(databaseUrl: string, client: Client) {
    const db = createPool(databaseUrl);
    const { app } = createApp({ client, db, routing: parseRoutingConfig({}), taskQueue: 'unused', log: createLogger('silent'), apiKeys: new ApiKeys(db) });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((ready) => server.once('listening', ready));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const ready = await fetch(`${base}/readyz`);
      const live = await fetch(`${base}/healthz`);
      return {
        readiness: { status: ready.status, body: (await ready.json()) as { checks: Record<string, { ok: boolean }> } },
        liveness: { status: live.status, body: (await live.json()) as { status: string } },
      };
    } finally {
      server.close();
      await db.end();
    }
  }

  it('answers 503 naming PostgreSQL when the database is unreachable, while liveness stays up', async () => {
    const connection = await Connection.connect({ address: temporalAddress });
    try {
      const closedPort = await findFreePort();
      const { readiness, liveness } = await probe(`postgres://nobody:x@127.0.0.1:${closedPort}/none`, new Client({ connection }));
      assert.equal(readiness.status, 503);
      assert.equal(readiness.body.checks['postgres']!.ok, false);
      assert.equal(readiness.body.checks['temporal']!.ok, true);
      // Liveness asks only whether the process answers: restarting it would not bring PostgreSQL back.
      assert.deepEqual(liveness, { status: 200, body: { status: 'ok' } });
    } finally {
      await connection.close();
    }
  });

  it('answers 503 naming Temporal when the Temporal server is unreachable, while liveness stays up', async () => {
    const acquired = await acquireTestServers();
    try {
      const closedPort = await findFreePort();
      // A lazy connection: created without reaching the server, it fails on use, as after an outage.
      const connection = Connection.lazy({ address: `127.0.0.1:${closedPort}` });
      const { readiness, liveness } = await probe(acquired.servers.databaseUrl, new Client({ connection }));
      assert.equal(readiness.status, 503);
      assert.equal(readiness.body.checks['temporal']!.ok, false);
      assert.equal(readiness.body.checks['postgres']!.ok, true);
      assert.deepEqual(liveness, { status: 200, body: { status: 'ok' } });
    } finally {
      await acquired.release();
    }
  });
});

/** A dependency down is a 503 with Retry-After that the sender retries, never a 500. */
describe('a request while a dependency is down', () => {
  let release: () => Promise<void>;
  let databaseUrl = '';
  before(async () => {
    const acquired = await acquireTestServers();
    release = acquired.release;
    databaseUrl = await createScratchDatabase(acquired.servers.databaseUrl);
    const db = createPool(databaseUrl);
    await migrateDatabase(db);
    await db.end();
  });
  after(() => release());

  async function send(db: Db, client: Client, path: string, key: string) {
    const { app } = createApp({ client, db, routing: parseRoutingConfig({}), taskQueue: 'unused', log: createLogger('silent'), apiKeys: new ApiKeys(db) });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((ready) => server.once('listening', ready));
    try {
      const answer = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`, { headers: { authorization: `Bearer ${key}` } });
      return { status: answer.status, retryAfter: answer.headers.get('retry-after'), body: (await answer.json()) as { error: { code: string; message: string } } };
    } finally {
      server.close();
    }
  }

  it('answers 503 unavailable naming PostgreSQL when the database cannot be reached', async () => {
    const db = createPool(`postgres://nobody:x@127.0.0.1:${await findFreePort()}/none`);
    try {
      const answer = await send(db, new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) }), '/v1/agents', generateApiKey());
      assert.deepEqual({ status: answer.status, retryAfter: answer.retryAfter, code: answer.body.error.code }, { status: 503, retryAfter: '5', code: 'unavailable' });
      assert.match(answer.body.error.message, /^PostgreSQL is unavailable/);
    } finally {
      await db.end();
    }
  });

  it('answers 503 unavailable naming Temporal when the server cannot be reached', async () => {
    const db = createPool(databaseUrl);
    try {
      const { key } = await new ApiKeys(db).create('admin', 'dependency down');
      const connection = Connection.lazy({ address: `127.0.0.1:${await findFreePort()}` });
      const answer = await send(db, new Client({ connection }), '/v1/conversations/c-nobody', key);
      assert.deepEqual({ status: answer.status, retryAfter: answer.retryAfter, code: answer.body.error.code }, { status: 503, retryAfter: '5', code: 'unavailable' });
      assert.match(answer.body.error.message, /^Temporal is unavailable/);
    } finally {
      await db.end();
    }
  });
});
