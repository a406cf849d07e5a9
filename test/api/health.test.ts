import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { createApp } from '../../src/api/app';
import { createPool } from '../../src/db/pool';
import { findFreePort } from '../../src/infra/ports';
import { createLogger } from '../../src/logger';
import { parseRoutingConfig } from '../../src/routing-config';
import { ApiKeys } from '../../src/security/api-keys';
import { acquireTestServers } from '../support/servers';

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
