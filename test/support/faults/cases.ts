import type { ConversationStatus } from '../../../src/domain';
import { conversationClosed, conversationOpened, messageReceived } from '../respondio-payloads';
import { audit, type CaseResult, emptyResult, Sampler, settle } from './auditor';
import { Driver, inParallel, newContactId, newMessageNumber } from './driver';
import { type Expectation, Ledger } from './ledger';
import { type Infra, type Log, World, type WorldOptions } from './topology';

/**
 * The fault cases. Each one starts its own service (World: two workers, two APIs on a fresh database and task queue)
 * over the shared servers, plays its clients while it injects its faults, waits for everything to settle and hands
 * the conversations it started to the auditor.
 */

export interface Sizes {
  /** (a) conversations flowing while workers are SIGKILLed `kills` times. */
  workerKills: { conversations: number; kills: number };
  /** (b) conversations queued behind full agents, waiting for replies, and in flight when the dev server is killed. */
  devServer: { capacityPerAgent: number; queued: number; asking: number; inFlight: number; restarts: number };
  /** (c) conversations in a burst of assignments while PostgreSQL is killed `restarts` times. */
  postgres: { conversations: number; restarts: number };
  /** (d) conversations per CRM behaviour. */
  crm: { perKind: number };
  /** (f) conversations opened and messaged twice through the API, and through webhooks. */
  duplicates: { api: number; webhook: number };
  /** (g) conversations racing for `agents` × `capacity` slots through two workers and two APIs. */
  race: { conversations: number; agents: number; capacity: number };
}

export const FULL_SIZES: Sizes = {
  workerKills: { conversations: 200, kills: 22 },
  devServer: { capacityPerAgent: 4, queued: 24, asking: 20, inFlight: 10, restarts: 2 },
  postgres: { conversations: 60, restarts: 2 },
  crm: { perKind: 5 },
  duplicates: { api: 10, webhook: 6 },
  race: { conversations: 120, agents: 4, capacity: 5 },
};

export const SHORT_SIZES: Sizes = {
  workerKills: { conversations: 30, kills: 3 },
  devServer: { capacityPerAgent: 2, queued: 6, asking: 4, inFlight: 3, restarts: 1 },
  postgres: { conversations: 12, restarts: 1 },
  crm: { perKind: 1 },
  duplicates: { api: 2, webhook: 2 },
  race: { conversations: 24, agents: 2, capacity: 3 },
};

export interface CaseContext {
  infra: Infra;
  sizes: Sizes;
  random: () => number;
  log: Log;
}

export interface FaultCase {
  id: string;
  title: string;
  run(ctx: CaseContext): Promise<CaseResult>;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const between = (random: () => number, min: number, max: number) => min + random() * (max - min);
const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

interface Scene {
  world: World;
  driver: Driver;
  ledger: Ledger;
  sampler: Sampler;
}

/** Starts the case's service, runs `body`, settles, audits, and always tears the service down. */
async function runCase(
  ctx: CaseContext,
  id: string,
  options: WorldOptions & { settleMs: number },
  body: (scene: Scene) => Promise<void>,
): Promise<CaseResult> {
  const started = Date.now();
  let world: World | undefined;
  let sampler: Sampler | undefined;
  try {
    world = await World.create(ctx.infra, id, options);
    const ledger = new Ledger();
    const driver = new Driver(world, ledger, ctx.random);
    sampler = new Sampler(world).start();
    ledger.note(`service started in ${Date.now() - started} ms`);
    await body({ world, driver, ledger, sampler });
    const settledIn = await settle(driver, options.settleMs);
    ledger.note(`settled ${(settledIn / 1000).toFixed(1)} s after the last input`);
    await sampler.stop();
    return await audit(id, driver, sampler, Date.now() - started);
  } catch (error) {
    ctx.log(`case ${id} could not run: ${(error as Error).stack ?? String(error)}`);
    return { ...emptyResult(id, Date.now() - started), problems: [`the case could not run: ${(error as Error).message}`] };
  } finally {
    await sampler?.stop().catch(() => undefined);
    await world?.close().catch(() => undefined);
  }
}

/** Who takes escalations: every agent with the manager role (the account managers are managers too). */
const MANAGERS = ['am-1', 'am-2', 'mgr-1'];

/** The agents every case has: two account managers, a VIP agent, a manager, and support agents `sup-1…` with these capacities. */
async function staff(driver: Driver, support: number[], others = 100): Promise<void> {
  await driver.putAgent('am-1', { team: 'account-managers', role: 'manager', capacity: others });
  await driver.putAgent('am-2', { team: 'account-managers', role: 'manager', capacity: others });
  await driver.putAgent('vip-1', { team: 'vip', capacity: others });
  await driver.putAgent('mgr-1', { team: 'managers', role: 'manager', capacity: others });
  for (const [i, capacity] of support.entries()) await driver.putAgent(`sup-${i + 1}`, { team: 'support', capacity });
}

export type CustomerKind = 'vip' | 'regular' | 'unknown' | 'crm-500' | 'crm-hang' | 'crm-flaky';

/** A customer the CRM knows (or fails on) in a given way, and how their conversation should end. */
function customer(infra: Infra, kind: CustomerKind, contactId: string, accountManager = 'am-1'): { email: string; expect: Expectation } {
  const email = `${kind}-${contactId}@example.com`;
  const vip = { status: 200, body: { customerType: 'VIP', accountManager } };
  const assigned = { states: ['assigned' as const] };
  switch (kind) {
    case 'vip':
      infra.crm.script(email, vip);
      return { email, expect: { ...assigned, agentIds: [accountManager], customerType: 'VIP' } };
    case 'regular':
      infra.crm.script(email, { status: 200, body: { customerType: 'Regular' } });
      return { email, expect: { ...assigned, team: 'support', customerType: 'Regular' } };
    case 'unknown':
      return { email, expect: { ...assigned, team: 'support', customerType: null, pathIncludes: ['crm_not_found'] } };
    case 'crm-500':
      infra.crm.script(email, { status: 500, body: { error: 'database on fire' } });
      return { email, expect: { ...assigned, team: 'support', customerType: null, reasonIncludes: 'CRM unavailable: CRM answered 500' } };
    case 'crm-hang':
      // Answers, but only long after every attempt's timeout.
      infra.crm.script(email, { ...vip, delayMs: 120_000 });
      return { email, expect: { ...assigned, team: 'support', customerType: null, reasonIncludes: 'CRM unavailable: no answer within' } };
    case 'crm-flaky':
      infra.crm.script(email, { status: 500 }, { status: 503 }, vip);
      return { email, expect: { ...assigned, agentIds: [accountManager], customerType: 'VIP', pathIncludes: ['crm_error'] } };
  }
}

/** Polls until the run has sent its question (replies from then on are counted). */
async function untilAsked(driver: Driver, contactId: string, timeoutMs = 120_000): Promise<ConversationStatus | undefined> {
  return driver.until(contactId, (s) => s.state === 'asking_email' && s.path.includes('ask_email'), timeoutMs, 700);
}

const CLOSED: Expectation = { states: ['closed'] };

/**
 * One conversation of the mixed flow: a contact with an email the CRM knows as VIP, regular or not at all; a contact
 * asked for the email who answers (sometimes before the question goes out); a contact who answers four times
 * with no email (escalated); some closed part-way.
 */
type FlowKind = 'vip' | 'regular' | 'unknown' | 'ask-valid' | 'ask-invalid';

async function flow(ctx: CaseContext, driver: Driver, kind: FlowKind, closeIt: boolean): Promise<void> {
  const contactId = newContactId();
  const am = pick(ctx.random, ['am-1', 'am-2']);
  if (kind === 'vip' || kind === 'regular' || kind === 'unknown') {
    const { email, expect } = customer(ctx.infra, kind, contactId, am);
    driver.ledger.expect({ contactId, label: kind, expect: closeIt ? CLOSED : expect });
    if (!(await driver.open(contactId, { email, firstName: 'Flow' }))) return;
  } else if (kind === 'ask-valid') {
    const { email, expect } = customer(ctx.infra, pick(ctx.random, ['vip', 'regular', 'unknown'] as const), contactId, am);
    driver.ledger.expect({ contactId, label: kind, expect: closeIt ? CLOSED : { ...expect, pathIncludes: [...(expect.pathIncludes ?? []), 'save_email'] } });
    if (!(await driver.open(contactId, { firstName: 'Asked' }))) return;
    // Sometimes before the question goes out (the run then takes the email it was already given), mostly after.
    if (ctx.random() < 0.75) await untilAsked(driver, contactId);
    else await sleep(between(ctx.random, 0, 1_000));
    await driver.say(contactId, `m-${newMessageNumber()}`, `sure, it is ${email}`);
  } else {
    driver.ledger.expect({
      contactId,
      label: kind,
      expect: closeIt ? CLOSED : { states: ['escalated'], agentIds: MANAGERS, invalidReplies: 4, pathIncludes: ['escalate'] },
    });
    if (!(await driver.open(contactId, { firstName: 'Vague' }))) return;
    await untilAsked(driver, contactId);
    for (const text of ['hello?', 'I need help', 'my order is late', 'no']) await driver.say(contactId, `m-${newMessageNumber()}`, text);
  }
  if (closeIt) {
    await sleep(between(ctx.random, 0, 3_000));
    await driver.close(contactId, { final: (status) => status === 404 });
  }
}

const FLOW_MIX: FlowKind[] = ['vip', 'vip', 'regular', 'regular', 'unknown', 'ask-valid', 'ask-valid', 'ask-invalid'];

/** (a) A worker SIGKILLed at random moments, again and again, while conversations flow; sometimes both are down. */
export const workerKills: FaultCase = {
  id: 'worker-sigkill',
  title: 'worker SIGKILLed at random moments while conversations flow',
  run: (ctx) =>
    runCase(ctx, 'worker-sigkill', { settleMs: 180_000 }, async ({ world, driver, ledger }) => {
      const { conversations, kills } = ctx.sizes.workerKills;
      await staff(driver, [100, 100, 100, 100]);
      let opened = 0;
      let killed = 0;
      let bothDown = 0;
      const flows = (async () => {
        const running: Array<Promise<void>> = [];
        for (; opened < conversations; opened++) {
          // Never far ahead of the kills (a restart takes seconds): the kills land while conversations keep coming.
          while (killed < Math.floor((opened * kills) / conversations) - 2) await sleep(50);
          running.push(flow(ctx, driver, pick(ctx.random, FLOW_MIX), ctx.random() < 0.1));
          await sleep(between(ctx.random, 200, 800));
        }
        await Promise.all(running);
      })();
      // The kills spread over the flow: kill k comes once k/(kills+1) of the conversations have been opened.
      let killedWhileOpening = 0;
      while (killed < kills) {
        const threshold = Math.floor((conversations * (killed + 1)) / (kills + 1));
        while (opened < threshold) await sleep(50);
        await sleep(between(ctx.random, 0, 1_500));
        if (killed % 5 === 4 && killed + 2 <= kills) {
          // Both at once: nothing runs until one is back.
          await Promise.all(world.workers.map((w) => w.kill9()));
          killed += 2;
          bothDown++;
          await sleep(between(ctx.random, 500, 3_000));
          await Promise.all(world.workers.map((w) => w.start()));
        } else {
          const worker = pick(ctx.random, world.workers);
          await worker.kill9();
          killed++;
          await sleep(between(ctx.random, 0, 2_000));
          await worker.start();
        }
        if (opened < conversations) killedWhileOpening = killed;
      }
      await flows;
      ledger.note(
        `${killed} worker SIGKILLs (${bothDown} times both workers at once), ${killedWhileOpening} of them while conversations were still being opened`,
      );
    }),
};

/** (b) The dev server killed -9 and restarted on its SQLite file while conversations wait for replies and in the queue. */
export const devServerRestart: FaultCase = {
  id: 'dev-server-kill9',
  title: 'Temporal dev server killed -9 and restarted on its SQLite file',
  run: (ctx) =>
    runCase(ctx, 'dev-server-kill9', { settleMs: 180_000 }, async ({ world, driver, ledger }) => {
      const { capacityPerAgent, queued, asking, inFlight, restarts } = ctx.sizes.devServer;
      const temporal = ctx.infra.temporal;
      await staff(driver, [capacityPerAgent, capacityPerAgent], 100);
      const slots = 2 * capacityPerAgent;

      // Agents at capacity, the rest queued behind them.
      const regulars = Array.from({ length: queued }, () => newContactId());
      await inParallel(regulars, 6, async (contactId) => {
        const { email, expect } = customer(ctx.infra, 'regular', contactId);
        ledger.expect({ contactId, label: 'queued-regular', expect });
        await driver.open(contactId, { email });
      });
      const plateau = await waitForCounts(world, { open: slots, queued: queued - slots }, 90_000);
      ledger.note(`before the kill: ${plateau.open} assigned (capacity ${slots}), ${plateau.queued} queued`);

      // Conversations waiting for the contact's reply.
      const asked = Array.from({ length: asking }, () => newContactId());
      const replies = new Map<string, string>();
      await inParallel(asked, 6, async (contactId, i) => {
        const { email, expect } = customer(ctx.infra, i % 2 === 0 ? 'vip' : 'regular', contactId);
        replies.set(contactId, email);
        ledger.expect({ contactId, label: 'asked', expect: { ...expect, pathIncludes: ['valid_reply'] } });
        await driver.open(contactId, { firstName: 'Waiting' });
        await untilAsked(driver, contactId);
      });

      // And some just starting when the server dies.
      const late = Array.from({ length: inFlight }, () => newContactId());
      const lateOpens = inParallel(late, 4, async (contactId) => {
        const { email, expect } = customer(ctx.infra, 'vip', contactId, 'am-2');
        ledger.expect({ contactId, label: 'in-flight-vip', expect });
        await driver.open(contactId, { email });
      });

      const assignedFirst = (await world.db.query<{ contact_id: string }>(`SELECT contact_id FROM assignments WHERE released_at IS NULL`)).rows.map(
        (r) => r.contact_id,
      );
      const [firstHalf, secondHalf] = [asked.slice(0, Math.ceil(asked.length / 2)), asked.slice(Math.ceil(asked.length / 2))];
      const reply = (contactId: string) => driver.say(contactId, `m-${newMessageNumber()}`, `here: ${replies.get(contactId)}`);
      const close = (contactId: string) => {
        ledger.reexpect(contactId, CLOSED);
        return driver.close(contactId, { final: (status) => status === 404 });
      };

      for (let restart = 1; restart <= restarts; restart++) {
        await sleep(restart === 1 ? 300 : between(ctx.random, 500, 2_000));
        await temporal.kill9();
        const downAt = Date.now();
        // The platform keeps sending while the server is down: replies, closes (senders retry what fails).
        const during =
          restart === 1
            ? [...firstHalf.map(reply), ...assignedFirst.slice(0, Math.ceil(assignedFirst.length / 2)).map(close)]
            : [...secondHalf.map(reply), ...assignedFirst.slice(Math.ceil(assignedFirst.length / 2)).map(close)];
        await sleep(between(ctx.random, 2_000, 5_000));
        const restartMs = await temporal.restart();
        ledger.note(`dev server kill -9 #${restart}: down ${((Date.now() - downAt) / 1000).toFixed(1)} s, restart took ${restartMs} ms`);
        await Promise.all(during);
      }
      await lateOpens;
      if (restarts === 1) {
        await Promise.all(secondHalf.map(reply));
        await Promise.all(assignedFirst.slice(Math.ceil(assignedFirst.length / 2)).map(close));
      }
      // Capacity frees: enough room for everyone left.
      await driver.patchAgent('sup-1', { capacity: 200 });
    }),
};

/** Waits until the open assignments and queue entries are exactly these counts; returns the last counts seen. */
async function waitForCounts(world: World, want: { open: number; queued: number }, timeoutMs: number): Promise<{ open: number; queued: number }> {
  const deadline = Date.now() + timeoutMs;
  let last = { open: -1, queued: -1 };
  for (;;) {
    try {
      const { rows } = await world.db.query<{ open: number; queued: number }>(
        `SELECT (SELECT count(*)::int FROM assignments WHERE released_at IS NULL) AS open, (SELECT count(*)::int FROM queue_entries) AS queued`,
      );
      last = rows[0]!;
    } catch {
      // PostgreSQL restarting
    }
    if ((last.open === want.open && last.queued === want.queued) || Date.now() > deadline) return last;
    await sleep(300);
  }
}

/** (c) PostgreSQL killed -9 (postmaster and backends) and restarted on its data dir during a burst of assignments. */
export const postgresRestart: FaultCase = {
  id: 'postgres-kill9',
  title: 'PostgreSQL killed -9 and restarted mid-assignment',
  run: (ctx) =>
    runCase(ctx, 'postgres-kill9', { settleMs: 180_000 }, async ({ driver, ledger }) => {
      const { conversations, restarts } = ctx.sizes.postgres;
      const postgres = ctx.infra.postgres;
      await staff(driver, [100, 100, 100]);
      const kinds: FlowKind[] = ['vip', 'regular', 'unknown', 'ask-valid'];
      const burst = inParallel(Array.from({ length: conversations }), 8, () => flow(ctx, driver, pick(ctx.random, kinds), false));
      // Meanwhile an operator keeps changing an agent (a transaction in the API, and a dispatch when it gains room),
      // through both APIs: some transaction is in flight when PostgreSQL dies.
      let operating = true;
      let changes = 0;
      const operator = (async () => {
        while (operating) {
          const reply = await driver.once(changes % 2, 'PATCH', '/v1/agents/vip-1', { capacity: 100 + (changes % 2) });
          if ('status' in reply && reply.status === 200) changes++;
          else await sleep(200);
        }
      })();
      const opened = () => ledger.triggers.length;
      for (let restart = 1; restart <= restarts; restart++) {
        // Mid-burst: some conversations assigned, others assigning, others not yet opened.
        const at = Math.floor((conversations * restart) / (restarts + 1));
        while (opened() < at) await sleep(50);
        await sleep(between(ctx.random, 0, 500));
        await postgres.kill9();
        const downAt = Date.now();
        await sleep(between(ctx.random, 2_000, 5_000));
        const restartMs = await postgres.restart();
        ledger.note(`PostgreSQL kill -9 #${restart} after ${opened()} conversations opened: down ${((Date.now() - downAt) / 1000).toFixed(1)} s, restart (crash recovery) ${restartMs} ms`);
      }
      await burst;
      operating = false;
      await operator;
      ledger.note(`an operator changed an agent ${changes} times meanwhile`);
      const lookups = ctx.infra.respondio.calls.filter((c) => c.method === 'GET' && c.path.endsWith('/message/list')).length;
      ledger.note(`sends never confirmed and looked up at respond.io before any second try: ${lookups}`);
    }),
};

/** (d) The CRM answering 500, hanging past its timeout, 404, and failing twice before answering. */
export const crmFaults: FaultCase = {
  id: 'crm-faults',
  title: 'CRM answering 500, hanging past its timeout, 404',
  run: (ctx) =>
    runCase(ctx, 'crm-faults', { settleMs: 120_000 }, async ({ driver }) => {
      await staff(driver, [100, 100]);
      const kinds: CustomerKind[] = ['vip', 'regular', 'unknown', 'crm-500', 'crm-hang', 'crm-flaky'];
      const contacts = kinds.flatMap((kind) => Array.from({ length: ctx.sizes.crm.perKind }, () => ({ kind, contactId: newContactId() })));
      await inParallel(contacts, 8, async ({ kind, contactId }, i) => {
        const { email, expect } = customer(ctx.infra, kind, contactId, i % 2 ? 'am-1' : 'am-2');
        // Half of them give their email only when asked: the CRM step then runs after the question.
        if (i % 2 === 0) {
          driver.ledger.expect({ contactId, label: kind, expect });
          await driver.open(contactId, { email });
        } else {
          driver.ledger.expect({ contactId, label: `asked-${kind}`, expect: { ...expect, pathIncludes: [...(expect.pathIncludes ?? []), 'valid_reply'] } });
          await driver.open(contactId, {});
          await untilAsked(driver, contactId);
          await driver.say(contactId, `m-${newMessageNumber()}`, email);
        }
      });
    }),
};

/** Waits until a webhook event is leased (claimed by an inbox); which attempt it is on. */
async function untilLeased(world: World, eventId: string, timeoutMs = 3_000): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { rows } = await world.db.query(`SELECT attempts, locked_until, status FROM webhook_events WHERE event_id = $1`, [eventId]);
    if (rows[0] && rows[0].attempts >= 1) return rows[0].attempts;
    await sleep(20);
  }
  return undefined;
}

/**
 * (e) An API process killed between accepting a request and signalling the run (its Temporal traffic held), and
 * between signalling and writing the transcript (its PostgreSQL traffic held); a webhook event accepted (200) by an
 * API killed before applying it: what the sender sees, and whether a retry or redelivery to the other API delivers
 * it exactly once.
 */
export const apiKills: FaultCase = {
  id: 'api-kill',
  title: 'API process killed between accepting and signalling',
  run: (ctx) =>
    runCase(ctx, 'api-kill', { settleMs: 120_000, proxiedApi: true }, async ({ world, driver, ledger }) => {
      const proxies = world.proxies!;
      const [api1] = world.apis;
      await staff(driver, [100, 100]);
      const warm = () => driver.once(0, 'GET', '/v1/agents'); // API keys are cached 5 s: no PostgreSQL read on the way in
      const killApi1 = async () => {
        await api1!.kill9();
        proxies.temporal.drop();
        proxies.postgres.drop();
        proxies.temporal.release();
        proxies.postgres.release();
      };
      const seen = (reply: Awaited<ReturnType<Driver['once']>>) => ('error' in reply ? `network error: ${reply.error}` : `${reply.status}`);

      // 1. Webhooks answered 200 by API 1, which dies before applying them (its Temporal calls held).
      const opened = newContactId();
      const vip = customer(ctx.infra, 'vip', opened);
      ledger.expect({ contactId: opened, label: 'webhook-open-after-kill', expect: vip.expect });
      const askedByWebhook = newContactId();
      const askedEmail = customer(ctx.infra, 'regular', askedByWebhook);
      ledger.expect({ contactId: askedByWebhook, label: 'webhook-reply-after-kill', expect: { ...askedEmail.expect, pathIncludes: ['valid_reply'] } });
      await driver.webhook(conversationOpened({ id: Number(askedByWebhook), email: null, firstName: 'Hook' }), { api: 1 });
      await untilAsked(driver, askedByWebhook);
      const openEvent = conversationOpened({ id: Number(opened), email: vip.email, firstName: 'Hook' });
      const replyEvent = messageReceived({ id: Number(askedByWebhook) }, { messageId: newMessageNumber(), text: `mine is ${askedEmail.email}` });
      proxies.temporal.hold();
      const answers = [await driver.webhookOnce(0, openEvent), await driver.webhookOnce(0, replyEvent)];
      const leases = [await untilLeased(world, openEvent.event_id), await untilLeased(world, replyEvent.event_id)];
      await killApi1();
      const killedAt = Date.now();
      for (const [i, event] of [openEvent, replyEvent].entries()) {
        const answer = answers[i]!;
        if ('status' in answer && answer.status === 200) driver.recordWebhook(event, 200, 0, false);
        ledger.note(`webhook ${event.event_type}: API 1 answered ${seen(answer)}, ${leases[i] ? 'its inbox had leased it' : 'not yet leased'} when killed`);
      }
      // respond.io redelivers to the other API at once: recorded, not applied twice.
      for (const event of [openEvent, replyEvent]) {
        const redelivered = await driver.webhookOnce(1, event);
        if ('status' in redelivered && redelivered.status === 200) driver.recordWebhook(event, 200, 1, redelivered.body?.duplicate === true);
        ledger.note(`the same ${event.event_type} redelivered to API 2 at once: ${seen(redelivered)}${'status' in redelivered ? ` duplicate=${redelivered.body?.duplicate}` : ''}`);
      }
      const applied = (async () => {
        const [openRun, replyRun] = await Promise.all([
          driver.until(opened, () => true, 120_000, 250),
          driver.until(askedByWebhook, (s) => s.path.includes('valid_reply'), 120_000, 250),
        ]);
        const took = ((Date.now() - killedAt) / 1000).toFixed(1);
        if (openRun && replyRun) ledger.note(`those events took effect ${took} s after API 1 died (an inbox lease is 40 s)`);
        else ledger.problem(`of the webhook events API 1 had accepted before it died, ${openRun ? 'the reply' : replyRun ? 'the open' : 'neither'} took effect within ${took} s`);
      })();
      await api1!.start();

      // 2. POST /v1/conversations: API 1 dies while its start is held.
      const started = newContactId();
      const startedCustomer = customer(ctx.infra, 'regular', started);
      ledger.expect({ contactId: started, label: 'open-api-killed', expect: startedCustomer.expect });
      await warm();
      proxies.temporal.hold();
      const pendingOpen = driver.once(0, 'POST', '/v1/conversations', { contact: { id: started, email: startedCustomer.email } });
      await sleep(700);
      await killApi1();
      const openSaw = seen(await pendingOpen);
      const exists = await driver.status(started, 1);
      const retried = await driver.open(started, { email: startedCustomer.email }, { api: 1 });
      const startSeen = `POST /v1/conversations, API killed before the start reached Temporal: the sender saw ${openSaw}`;
      // Temporal was held: a run that exists anyway means the start went through while the sender was told it failed.
      if (exists) ledger.problem(`${startSeen}, yet a run existed before the retry`);
      else ledger.note(`${startSeen}, no run existed, its retry on API 2 got ${retried?.status ?? 'nothing'}`);
      await api1!.start();

      // 3. A reply: API 1 dies before its signal reaches the run (Temporal held).
      const before = newContactId();
      const beforeCustomer = customer(ctx.infra, 'vip', before);
      ledger.expect({ contactId: before, label: 'reply-api-killed-before-signal', expect: { ...beforeCustomer.expect, pathIncludes: ['valid_reply'] } });
      await driver.open(before, {}, { api: 1 });
      await untilAsked(driver, before);
      const beforeMessage = `m-${newMessageNumber()}`;
      await warm();
      proxies.temporal.hold();
      const pendingBefore = driver.once(0, 'POST', `/v1/contacts/${before}/messages`, { messageId: beforeMessage, text: beforeCustomer.email });
      await sleep(700);
      await killApi1();
      const beforeSaw = seen(await pendingBefore);
      const beforeState = await driver.status(before, 1);
      const beforeRetry = await driver.say(before, beforeMessage, beforeCustomer.email, { api: 1 });
      ledger.note(
        `reply, API killed before signalling: the sender saw ${beforeSaw}, the run ${beforeState?.path.includes('valid_reply') ? 'HAD' : 'had not'} received it, its retry on API 2 got ${beforeRetry?.status ?? 'nothing'} (duplicate: ${beforeRetry?.body?.duplicate})`,
      );
      await api1!.start();

      // 4. A reply: API 1 dies after signalling the run, before writing the transcript (PostgreSQL held).
      const after = newContactId();
      const afterCustomer = customer(ctx.infra, 'regular', after);
      ledger.expect({ contactId: after, label: 'reply-api-killed-after-signal', expect: { ...afterCustomer.expect, pathIncludes: ['valid_reply'], invalidReplies: 0 } });
      await driver.open(after, {}, { api: 1 });
      await untilAsked(driver, after);
      const afterMessage = `m-${newMessageNumber()}`;
      await warm();
      proxies.postgres.hold();
      const pendingAfter = driver.once(0, 'POST', `/v1/contacts/${after}/messages`, { messageId: afterMessage, text: afterCustomer.email });
      const signalled = await driver.until(after, (s) => s.path.includes('valid_reply'), 15_000, 100);
      await killApi1();
      const inTranscript = await world.db.query(`SELECT 1 FROM messages WHERE contact_id = $1 AND external_id = $2`, [after, afterMessage]);
      const afterSaw = seen(await pendingAfter);
      const afterRetry = await driver.say(after, afterMessage, afterCustomer.email, { api: 1 });
      const afterSeen = `reply, API killed after signalling, before the transcript write: the sender saw ${afterSaw}`;
      if (!signalled?.path.includes('valid_reply')) ledger.problem(`${afterSeen}, and the run had not used the reply within 15 s of it being sent`);
      ledger.note(
        `${afterSeen}, the transcript ${inTranscript.rowCount ? 'had' : 'did not have'} it; its retry on API 2 got ${afterRetry?.status ?? 'nothing'} (duplicate: ${afterRetry?.body?.duplicate})`,
      );
      await api1!.start();
      await applied;
    }),
};

/** (f) The same message and the same webhook event delivered twice at once, to both APIs, and again later. */
export const duplicateDeliveries: FaultCase = {
  id: 'duplicate-delivery',
  title: 'the same message and webhook event twice concurrently, and again later',
  run: (ctx) =>
    runCase(ctx, 'duplicate-delivery', { settleMs: 120_000 }, async ({ driver, ledger }) => {
      await staff(driver, [100, 100]);
      const both = async <T>(send: (api: number) => Promise<T>): Promise<T[]> => Promise.all([send(0), send(1)]);
      const opens = new Map<string, number>();

      // Through the API.
      await inParallel(Array.from({ length: ctx.sizes.duplicates.api }), 4, async (_, i) => {
        const contactId = newContactId();
        const { email, expect } = customer(ctx.infra, i % 2 ? 'vip' : 'regular', contactId);
        const closeIt = i % 3 === 2;
        ledger.expect({ contactId, label: 'api-twice', expect: closeIt ? CLOSED : { ...expect, invalidReplies: 1, pathIncludes: ['valid_reply'] } });
        const openAnswers = await both((api) => driver.once(api, 'POST', '/v1/conversations', { contact: { id: contactId } }));
        for (const [api, answer] of openAnswers.entries()) {
          if ('status' in answer && answer.status < 300) {
            ledger.triggers.push({ contactId, via: `api-${api + 1}`, status: answer.status });
            opens.set(String(answer.status), (opens.get(String(answer.status)) ?? 0) + 1);
          } else ledger.saw(`POST /v1/conversations twice at once: ${'error' in answer ? answer.error : answer.status}`);
        }
        if (!openAnswers.some((a) => 'status' in a && a.status < 300)) await driver.open(contactId);
        await untilAsked(driver, contactId);
        const invalid = `m-${newMessageNumber()}`;
        const valid = `m-${newMessageNumber()}`;
        const twice = async (messageId: string, text: string) => {
          for (const [api, answer] of (await both((api) => driver.once(api, 'POST', `/v1/contacts/${contactId}/messages`, { messageId, text }))).entries()) {
            if ('status' in answer && answer.status < 300) ledger.messages.push({ contactId, messageId, via: `api-${api + 1}`, status: answer.status });
            else ledger.saw(`POST messages twice at once: ${'error' in answer ? answer.error : answer.status}`);
          }
        };
        await twice(invalid, 'what do you mean?');
        await driver.until(contactId, (s) => s.invalidReplies >= 1, 60_000);
        await sleep(500);
        await driver.say(contactId, invalid, 'what do you mean?');
        await twice(valid, `ok: ${email}`);
        await driver.until(contactId, (s) => s.state === 'assigned', 60_000);
        await driver.say(contactId, valid, `ok: ${email}`);
        await driver.say(contactId, invalid, 'what do you mean?');
        if (closeIt) {
          await both((api) => driver.once(api, 'POST', `/v1/conversations/${contactId}/close`));
          await driver.close(contactId, { final: (status) => status === 404 });
        }
      });
      ledger.note(`POST /v1/conversations twice at once: answers ${[...opens].map(([status, n]) => `${status} ×${n}`).join(', ')}`);

      // Through respond.io's webhook.
      const dupAnswers = new Map<string, number>();
      const twiceHook = async (event: Parameters<Driver['recordWebhook']>[0]) => {
        for (const [api, answer] of (await both((api) => driver.webhookOnce(api, event))).entries()) {
          if ('status' in answer && answer.status === 200) {
            driver.recordWebhook(event, 200, api, answer.body?.duplicate === true);
            const key = `${event.event_type} duplicate=${answer.body?.duplicate}`;
            dupAnswers.set(key, (dupAnswers.get(key) ?? 0) + 1);
          } else ledger.saw(`webhook twice at once: ${'error' in answer ? answer.error : answer.status}`);
        }
      };
      const later = async (event: Parameters<Driver['recordWebhook']>[0]) => {
        await sleep(1_000);
        await driver.webhook(event);
      };
      await inParallel(Array.from({ length: ctx.sizes.duplicates.webhook }), 3, async (_, i) => {
        const contactId = newContactId();
        const { email, expect } = customer(ctx.infra, i % 2 ? 'regular' : 'vip', contactId);
        const closeIt = i % 2 === 1;
        ledger.expect({ contactId, label: 'webhook-twice', expect: closeIt ? CLOSED : { ...expect, invalidReplies: 1, pathIncludes: ['valid_reply'] } });
        const open = conversationOpened({ id: Number(contactId), email: null, firstName: 'Twice' });
        await twiceHook(open);
        await untilAsked(driver, contactId);
        await later(open);
        const invalid = messageReceived({ id: Number(contactId) }, { messageId: newMessageNumber(), text: 'hmm' });
        await twiceHook(invalid);
        await driver.until(contactId, (s) => s.invalidReplies >= 1, 60_000);
        await later(invalid);
        const valid = messageReceived({ id: Number(contactId) }, { messageId: newMessageNumber(), text: `it's ${email}` });
        await twiceHook(valid);
        await driver.until(contactId, (s) => s.state === 'assigned', 60_000);
        await later(valid);
        if (closeIt) {
          const closed = conversationClosed({ id: Number(contactId) });
          await twiceHook(closed);
          await driver.until(contactId, (s) => s.state === 'closed', 60_000);
          await later(closed);
          // The opening event again, after the close: it must not open a second conversation.
          await later(open);
        }
      });
      ledger.note(`webhooks delivered twice at once: ${[...dupAnswers].map(([what, n]) => `${what} ×${n}`).join(', ')}`);
    }),
};

/** (g) Two workers and two APIs racing on the same queue: many conversations, few slots, exact counts throughout. */
export const racingQueue: FaultCase = {
  id: 'race-2x2',
  title: '2 workers × 2 APIs racing on one queue',
  run: (ctx) =>
    runCase(ctx, 'race-2x2', { settleMs: 120_000 }, async ({ world, driver, ledger, sampler }) => {
      const { conversations, agents, capacity } = ctx.sizes.race;
      sampler.start(200);
      await staff(driver, Array.from({ length: agents }, () => capacity));
      const slots = agents * capacity;
      const contacts = Array.from({ length: conversations }, () => newContactId());
      await inParallel(contacts, 16, async (contactId, i) => {
        const { email } = customer(ctx.infra, 'unknown', contactId);
        // Whoever is still open at the end is assigned; the rest the case closes as slots free.
        ledger.expect({ contactId, label: 'racer', expect: { states: ['assigned'], team: 'support' } });
        await driver.open(contactId, { email }, { api: i % 2 });
      });
      let remaining = conversations;
      const plateaus: string[] = [];
      for (let round = 1; ; round++) {
        const want = { open: Math.min(slots, remaining), queued: Math.max(0, remaining - slots) };
        const seen = await waitForCounts(world, want, 90_000);
        plateaus.push(`${seen.open}+${seen.queued}q`);
        if (seen.open !== want.open || seen.queued !== want.queued) {
          ledger.note(`round ${round}: expected ${want.open} assigned and ${want.queued} queued, found ${seen.open} and ${seen.queued}`);
        }
        if (want.queued === 0) break;
        // Free every slot at once, through both APIs: the queue is served by whichever process gets there.
        const holders = (await world.db.query<{ contact_id: string }>(`SELECT contact_id FROM assignments WHERE released_at IS NULL`)).rows.map((r) => r.contact_id);
        await inParallel(holders, 16, async (contactId, i) => {
          ledger.reexpect(contactId, CLOSED);
          await driver.close(contactId, { api: i % 2, final: (status) => status === 404 });
        });
        remaining -= holders.length;
      }
      ledger.note(`${slots} slots; assigned+queued at each plateau: ${plateaus.join(' → ')}`);
    }),
};

export const ALL_CASES: FaultCase[] = [workerKills, devServerRestart, postgresRestart, crmFaults, apiKills, duplicateDeliveries, racingQueue];
