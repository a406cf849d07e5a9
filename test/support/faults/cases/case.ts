import type { ConversationStatus } from '../../../../src/domain/conversation';
import { audit, type CaseResult, emptyResult, Sampler, settle } from '../auditor';
import { Driver, newContactId, newMessageNumber } from '../driver';
import { type Expectation, Ledger } from '../ledger';
import { type Infra, type Log, World, type WorldOptions } from '../topology';

/**
 * What the fault cases share. Each case (one file in this folder, named by its id; index.ts lists them) starts its
 * own service (World: two workers, two APIs on a fresh database and task queue) over the shared servers with
 * runCase, plays its clients while it injects its faults, waits for everything to settle and hands the
 * conversations it started to the auditor.
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

export const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
export const between = (random: () => number, min: number, max: number) => min + random() * (max - min);
export const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

interface Scene {
  world: World;
  driver: Driver;
  ledger: Ledger;
  sampler: Sampler;
}

/** Starts the case's service, runs `body`, settles, audits, and always tears the service down. */
export async function runCase(
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
export async function staff(driver: Driver, support: number[], others = 100): Promise<void> {
  await driver.putAgent('am-1', { team: 'account-managers', role: 'manager', capacity: others });
  await driver.putAgent('am-2', { team: 'account-managers', role: 'manager', capacity: others });
  await driver.putAgent('vip-1', { team: 'vip', capacity: others });
  await driver.putAgent('mgr-1', { team: 'managers', role: 'manager', capacity: others });
  for (const [i, capacity] of support.entries()) await driver.putAgent(`sup-${i + 1}`, { team: 'support', capacity });
}

export type CustomerKind = 'vip' | 'regular' | 'unknown' | 'crm-500' | 'crm-hang' | 'crm-flaky';

/** A customer the CRM knows (or fails on) in a given way, and how their conversation should end. */
export function customer(infra: Infra, kind: CustomerKind, contactId: string, accountManager = 'am-1'): { email: string; expect: Expectation } {
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
export async function untilAsked(driver: Driver, contactId: string, timeoutMs = 120_000): Promise<ConversationStatus | undefined> {
  return driver.until(contactId, (s) => s.state === 'asking_email' && s.path.includes('ask_email'), timeoutMs, 700);
}

export const CLOSED: Expectation = { states: ['closed'] };

/**
 * One conversation of the mixed flow: a contact with an email the CRM knows as VIP, regular or not at all; a contact
 * asked for the email who answers (sometimes before the question goes out); a contact who answers four times
 * with no email (escalated); some closed part-way.
 */
export type FlowKind = 'vip' | 'regular' | 'unknown' | 'ask-valid' | 'ask-invalid';

export async function flow(ctx: CaseContext, driver: Driver, kind: FlowKind, closeIt: boolean): Promise<void> {
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

export const FLOW_MIX: FlowKind[] = ['vip', 'vip', 'regular', 'regular', 'unknown', 'ask-valid', 'ask-valid', 'ask-invalid'];


/** Waits until the open assignments and queue entries are exactly these counts; returns the last counts seen. */
export async function waitForCounts(world: World, want: { open: number; queued: number }, timeoutMs: number): Promise<{ open: number; queued: number }> {
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
