import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { recordGivenUpEffect } from '../../src/db/platform-calls';
import { launchChromium } from '../support/chromium';
import { Harness } from '../support/harness';

const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts');

/**
 * The operator page in headless Chromium against a real API: it shows what was routed, queued and measured during
 * the test, a read key watches but cannot change presence, an admin key can.
 */
describe('the operator page (/ui)', () => {
  let h: Harness;
  let browser: Browser;
  let readKey: string;
  const vip = { first: '', waiting: '' };
  let regular = '';
  let vipRunId = '';

  before(async () => {
    h = await Harness.start({
      routing: {
        tiers: [{ name: 'vip', customerTypes: ['VIP'], priority: 10, firstResponse: '10m', chain: [{ kind: 'team', team: 'op-vip' }] }],
        regular: { chain: [{ kind: 'team', team: 'op-nobody' }] },
      },
    });
    browser = await launchChromium();
    readKey = (await h.apiKeys.create('read', 'operator page')).key;
    await h.putAgent('op-vera', { name: 'Vera Vip', team: 'op-vip', capacity: 1 });
    await h.putAgent('op-sam', { name: 'Sam Support', team: 'op-support', capacity: 3, online: false });
    await h.putCustomer('op-vip@example.com', { customerType: 'VIP' });
    await h.putCustomer('op-regular@example.com', { customerType: 'Regular' });

    vip.first = h.contactId('op-vip-first');
    vipRunId = (await h.open({ id: vip.first, email: 'op-vip@example.com' })).body.runId;
    await h.waitForState(vip.first, 'assigned');
    // Vera writes to the contact: her first response is timed.
    const written = await h.request('POST', `/v1/contacts/${vip.first}/messages`, { messageId: `${vip.first}-v1`, text: 'Hi, Vera here', direction: 'outbound', agentId: 'op-vera' });
    assert.equal(written.status, 202);
    await h.waitFor(vip.first, (s) => s.decisions.some((d) => d.step === 'first_response'));
    // Both wait: nobody serves regular contacts, and Vera is full. The VIP, though later, is served first.
    regular = h.contactId('op-regular');
    await h.open({ id: regular, email: 'op-regular@example.com' });
    await h.waitForState(regular, 'queued');
    vip.waiting = h.contactId('op-vip-waiting');
    await h.open({ id: vip.waiting, email: 'op-vip@example.com' });
    await h.waitForState(vip.waiting, 'queued');
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  async function openPage(fragment = ''): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(15_000);
    await page.goto(`${h.baseUrl}/ui${fragment}`);
    return page;
  }

  const row = (page: Page, section: string, attribute: string, id: string) => page.locator(`#${section} tr[${attribute}="${id}"]`);

  it('serves the page without a key, and its data only with one', async () => {
    const response = await fetch(`${h.baseUrl}/ui`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(response.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.equal((await h.requestAs(null, 'GET', '/v1/operator/overview')).status, 401);
    const codec = (await h.apiKeys.create('codec', 'operator page codec')).key;
    assert.equal((await h.requestAs(codec, 'GET', '/v1/operator/overview')).status, 403);
    assert.equal((await h.requestAs(readKey, 'GET', '/v1/operator/overview')).status, 200);
  });

  it('answers the queue in serving order, each conversation with its path, and time to assignment by tier', async () => {
    const { body } = await h.requestAs(readKey, 'GET', '/v1/operator/overview');
    assert.deepEqual(
      body.queue.map((entry: any) => [entry.position, entry.contactId, entry.tier]),
      [
        [1, vip.waiting, 'vip'],
        [2, regular, 'regular'],
      ],
    );
    const vera = body.agents.find((agent: any) => agent.id === 'op-vera');
    assert.deepEqual(vera, { id: 'op-vera', name: 'Vera Vip', team: 'op-vip', role: 'agent', online: true, load: 1, capacity: 1 });
    const first = body.recent.find((conversation: any) => conversation.contactId === vip.first);
    assert.ok(first, `the routed conversation is listed: ${JSON.stringify(body.recent)}`);
    assert.equal(first.state, 'assigned');
    assert.equal(first.tier, 'vip');
    assert.deepEqual(first.path.map((step: any) => [step.agentId, step.via]), [['op-vera', 'team']]);
    assert.equal(first.historyUrl, `http://127.0.0.1:8233/namespaces/default/workflows/conversation-${vip.first}/${vipRunId}/history`);
    assert.equal(body.recent.find((conversation: any) => conversation.contactId === regular)?.state, 'queued');
    const tiers = body.timeToAssignment.points.map((point: any) => [point.tier, point.conversations]);
    assert.deepEqual(tiers, [['vip', 1]], 'one first assignment in the last hour, the VIP');
    assert.equal(body.firstResponse.minutes, 60);
    assert.deepEqual(
      body.firstResponse.tiers.map((t: any) => [t.tier, t.answered, t.missed, t.averageSeconds === t.maxSeconds && t.averageSeconds >= 0]),
      [['vip', 1, 0, true]],
      "Vera's first response, timed",
    );
  });

  it('shows agents, queue, conversations and the chart to a read key given in the fragment, and refuses it a presence change', async () => {
    const page = await openPage(`#key=${readKey}`);
    try {
      await row(page, 'conversations', 'data-contact-id', vip.first).waitFor();
      assert.equal(new URL(page.url()).hash, '', 'the key left the address bar');

      const conversation = row(page, 'conversations', 'data-contact-id', vip.first);
      assert.equal(await conversation.locator('.state').textContent(), 'assigned');
      assert.equal(await conversation.locator('.tier').textContent(), 'vip');
      assert.match((await conversation.locator('.path').textContent()) ?? '', /op-vera \(team\)/);
      assert.match((await conversation.locator('a').getAttribute('href')) ?? '', new RegExp(`/workflows/conversation-${vip.first}/${vipRunId}/history$`));

      const vera = row(page, 'agents', 'data-agent-id', 'op-vera');
      assert.equal(await vera.locator('.load-text').textContent(), '1 / 1');
      assert.equal(await vera.locator('.presence').textContent(), 'online');
      assert.deepEqual(await page.locator('#queue tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-contact-id'))), [vip.waiting, regular]);
      assert.equal(await page.locator('#chart g[data-tier="vip"] circle').count(), 1, 'one point: the VIP assigned this minute');
      assert.match((await page.locator('#chart .first-response li[data-tier="vip"]').textContent()) ?? '', /^vip: 1 answered, average [\d.]+ s, longest [\d.]+ s; 0 missed$/);
      assert.match((await page.locator('#status').textContent()) ?? '', /^updated \d\d:\d\d:\d\d$/);

      await vera.getByRole('button', { name: 'Set offline' }).click();
      await page.locator('#error').filter({ hasText: 'a read key cannot do this' }).waitFor();
      assert.match((await page.locator('#error').textContent()) ?? '', /^Could not set Vera Vip offline: a read key cannot do this; it needs admin$/);
      const { rows } = await h.db.query(`SELECT online FROM agents WHERE id = 'op-vera'`);
      assert.equal(rows[0].online, true, 'a read key changed nothing');
    } finally {
      await page.close();
    }
  });

  it('lets an admin key entered in the form set an agent offline, and shows it after the next refresh', async () => {
    const page = await openPage();
    try {
      await page.locator('#key-input').fill(h.adminKey);
      await page.getByRole('button', { name: 'Open' }).click();
      const vera = row(page, 'agents', 'data-agent-id', 'op-vera');
      await vera.getByRole('button', { name: 'Set offline' }).click();
      await vera.locator('.presence').filter({ hasText: 'offline' }).waitFor();
      await vera.getByRole('button', { name: 'Set online' }).waitFor();

      const { body } = await h.request('GET', '/v1/agents');
      assert.equal(body.agents.find((agent: any) => agent.id === 'op-vera').online, false, 'the API has her offline');
      assert.equal(await page.locator('#error').isHidden(), true, 'no error shown');

      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'operator-page.png'), fullPage: true });
    } finally {
      await page.close();
    }
  });

  it('lists the effects respond.io did not take in time, with the decision of the run that gave each up', async () => {
    const reason = 'close: given up, not taken within 4h (last: respond.io answered 503: Service Unavailable)';
    await recordGivenUpEffect(h.db, { conversationId: 'op-run-given-up', key: 'close', contactId: 'op-given-up', effect: 'close', reason });
    const page = await openPage(`#key=${readKey}`);
    try {
      const given = row(page, 'given-up', 'data-contact-id', 'op-given-up');
      await given.waitFor();
      assert.deepEqual((await given.locator('td').allTextContents()).slice(0, 3), ['op-given-up', 'close', reason]);
      assert.equal(await page.locator('#given-up .count').textContent(), '(1)');
    } finally {
      await page.close();
    }
  });
});
