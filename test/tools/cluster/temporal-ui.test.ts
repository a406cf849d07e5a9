import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { Browser } from 'playwright-core';
import { findFreePort } from '../../../src/local/ports';
import { resolveTemporalUi } from '../../../tools/cluster/temporal-server';
import { startTemporalUi, type TemporalUi } from '../../../tools/cluster/temporal-ui';
import { launchChromium } from '../../support/chromium';
import { acquireTestServers } from '../../support/servers';

/**
 * Temporal UI's own server (github.com/temporalio/ui-server/v2, built with Go on first use: about 1.5 minutes, then
 * cached) against the test run's Temporal dev server: the page, the frontend's data through its API, a write through
 * its CSRF check, and the workflow list in Chromium.
 */
describe('Temporal UI server', { timeout: 15 * 60_000 }, () => {
  let release: () => Promise<void>;
  let address: string;
  let binary: string;
  let dir: string;
  let ui: TemporalUi;
  let connection: Connection;
  let client: Client;
  const codecEndpoint = 'http://127.0.0.1:9/codec/ui/not-a-key';
  const workflowId = `temporal-ui-${randomUUID()}`;

  before(async () => {
    binary = await resolveTemporalUi((line) => console.error(`# ${line}`));
    const acquired = await acquireTestServers();
    release = acquired.release;
    address = acquired.servers.temporalAddress;
    dir = await mkdtemp(join(tmpdir(), 'vip-router-temporal-ui-'));
    ui = await startTemporalUi({ binary, address, namespace: 'default', dir, codecEndpoint, corsOrigins: ['http://127.0.0.1:9'] });
    connection = await Connection.connect({ address });
    client = new Client({ connection, namespace: 'default' });
    // No worker polls this queue: the run stays open until the UI's API terminates it.
    await client.workflow.start('temporalUiProbe', { taskQueue: `temporal-ui-${randomUUID()}`, workflowId, args: [] });
  });
  after(async () => {
    await client?.workflow.getHandle(workflowId).terminate('test over').catch(() => undefined);
    await connection?.close();
    await ui?.stop();
    await release?.();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('serves the UI page and its assets', async () => {
    const page = await fetch(`${ui.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const html = await page.text();
    const asset = /["'](\/_app\/immutable\/[^"']+\.js)["']/.exec(html)?.[1];
    assert.ok(asset, `the page names its scripts: ${html.slice(0, 500)}`);
    assert.equal((await fetch(`${ui.url}${asset}`)).status, 200);
    // A deep link is the same page (the UI routes in the browser).
    assert.equal((await fetch(`${ui.url}/namespaces/default/workflows`)).status, 200);
  });

  it('reports its settings: the codec endpoint, the namespace, no auth', async () => {
    const settings = (await (await fetch(`${ui.url}/api/v1/settings`)).json()) as {
      Codec: { Endpoint: string };
      DefaultNamespace: string;
      Auth: { Enabled: boolean };
      Version: string;
    };
    assert.equal(settings.Codec.Endpoint, codecEndpoint);
    assert.equal(settings.DefaultNamespace, 'default');
    assert.equal(settings.Auth.Enabled, false);
    assert.equal(settings.Version, '2.58.1');
  });

  it("answers with the Temporal server's namespaces and workflows", async () => {
    const namespaces = (await (await fetch(`${ui.url}/api/v1/namespaces`)).json()) as { namespaces: Array<{ namespaceInfo: { name: string } }> };
    assert.ok(
      namespaces.namespaces.some((ns) => ns.namespaceInfo.name === 'default'),
      JSON.stringify(namespaces),
    );
    const query = encodeURIComponent(`WorkflowId="${workflowId}"`);
    let listed: { executions?: Array<{ execution: { workflowId: string }; status: string }> } = {};
    for (const deadline = Date.now() + 15_000; !listed.executions?.length && Date.now() < deadline; ) {
      listed = (await (await fetch(`${ui.url}/api/v1/namespaces/default/workflows?query=${query}`)).json()) as typeof listed;
      if (!listed.executions?.length) await new Promise((tick) => setTimeout(tick, 250));
    }
    assert.equal(listed.executions?.[0]?.execution.workflowId, workflowId, JSON.stringify(listed));
    assert.equal(listed.executions?.[0]?.status, 'WORKFLOW_EXECUTION_STATUS_RUNNING');
  });

  it('shows the workflow in the browser', async () => {
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const page = await browser.newPage();
      const failed: string[] = [];
      page.on('pageerror', (error) => failed.push(error.message));
      await page.goto(`${ui.url}/namespaces/default/workflows`);
      await page.getByText(workflowId).first().waitFor({ timeout: 30_000 });
      assert.deepEqual(failed, []);
    } finally {
      await browser?.close();
    }
  });

  it('acts on the server through its CSRF check: a write needs the token of its cookie', async () => {
    const first = await fetch(`${ui.url}/`);
    const cookie = first.headers.getSetCookie().find((line) => line.startsWith('_csrf='));
    assert.ok(cookie, 'the page sets the CSRF cookie');
    // Served over plain HTTP: a Secure cookie would never come back from a browser off localhost.
    assert.doesNotMatch(cookie, /;\s*secure/i);
    const token = cookie.slice('_csrf='.length).split(';')[0]!;
    const terminate = (headers: Record<string, string>) =>
      fetch(`${ui.url}/api/v1/namespaces/default/workflows/${workflowId}/terminate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ reason: 'from Temporal UI' }),
      });

    const refused = await terminate({ cookie: `_csrf=${token}` });
    assert.equal(refused.status, 400, await refused.text());
    const done = await terminate({ cookie: `_csrf=${token}`, 'x-csrf-token': token });
    assert.equal(done.status, 200, await done.text());
    const described = await client.workflow.getHandle(workflowId).describe();
    assert.equal(described.status.name, 'TERMINATED');
  });

  it('fails to start, saying why, when the frontend does not answer', async () => {
    const silent = `127.0.0.1:${await findFreePort()}`;
    const sub = await mkdtemp(join(dir, 'silent-'));
    await assert.rejects(
      startTemporalUi({ binary, address: silent, dir: sub, readyTimeoutMs: 3_000 }),
      (error: Error) => /serving namespace default: not within 3 s \(last: GET \/api\/v1\/namespaces\/default answered 503/.test(error.message),
    );
    assert.match(await readFile(join(sub, 'temporal-ui', 'ui.yaml'), 'utf8'), new RegExp(`temporalGrpcAddress: ${silent}`));
  });

  it('fails to start, with its log, when it exits (its port is taken)', async () => {
    const taken = createServer();
    await new Promise<void>((listening) => taken.listen(0, '127.0.0.1', listening));
    try {
      const port = (taken.address() as AddressInfo).port;
      await assert.rejects(
        startTemporalUi({ binary, address, dir: await mkdtemp(join(dir, 'taken-')), port }),
        /Temporal UI server exited with \d+ \(log: [^)]*\) before Temporal UI at [^]*address already in use/,
      );
    } finally {
      taken.close();
    }
  });
});
