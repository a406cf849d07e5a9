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

  async function readyz(databaseUrl: string, client: Client) {
    const db = createPool(databaseUrl);
    const { app } = createApp({ client, db, routing: parseRoutingConfig({}), taskQueue: 'unused', log: createLogger('silent'), apiKeys: new ApiKeys(db) });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((ready) => server.once('listening', ready));
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`);
      return { status: response.status, body: (await response.json()) as { checks: Record<string, { ok: boolean }> } };
    } finally {
      server.close();
      await db.end();
    }
  }

  it('answers 503 naming PostgreSQL when the database is unreachable, while liveness stays up', async () => {
    const connection = await Connection.connect({ address: temporalAddress });
    try {
      const closedPort = await findFreePort();
      const { status, body } = await readyz(`postgres://nobody:x@127.0.0.1:${closedPort}/none`, new Client({ connection }));
      assert.equal(status, 503);
      assert.equal(body.checks['postgres']!.ok, false);
      assert.equal(body.checks['temporal']!.ok, true);
    } finally {
      await connection.close();
    }
  });

  it('answers 503 naming Temporal when the Temporal server is unreachable', async () => {
    const acquired = await acquireTestServers();
    try {
      const closedPort = await findFreePort();
      // A lazy connection: created without reaching the server, it fails on use, as after an outage.
      const connection = Connection.lazy({ address: `127.0.0.1:${closedPort}` });
      const { status, body } = await readyz(acquired.servers.databaseUrl, new Client({ connection }));
      assert.equal(status, 503);
      assert.equal(body.checks['temporal']!.ok, false);
      assert.equal(body.checks['postgres']!.ok, true);
    } finally {
      await acquired.release();
    }
  });
});
