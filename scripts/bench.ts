import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { putDirectoryCustomer } from '../src/db/directory';
import { putAgent } from '../src/db/agents';
import { RuleVersions } from '../src/db/rule-versions';
import { parseRoutingConfig } from '../src/domain/routing-config';
import { dataConverter } from '../src/service/compose';
import { AWAITS_FIRST_RESPONSE_MEMO, ROUTING_WORKFLOW, workflowIdForContact } from '../src/workflows/definitions';
import { conversationOpened, deliverWebhook } from '../test/support/respondio-payloads';
import { testCodec } from '../test/support/codec';
import { cpuSeconds, rssBytes, SIGNING_KEY, startTopology, TASK_QUEUE, type Topology } from './bench/topology';

/**
 * `npm run bench`: routing against the naive Temporal workflow doing the same three steps, every arm on the same
 * Temporal dev server and PostgreSQL, interleaved, in one run. Arms:
 *   E  an empty workflow (the server's floor);
 *   M  a workflow of three no-op activities, one after the other (what routing would cost done naively);
 *   D  the routing workflow started with the client, until the conversation is assigned;
 *   S  the whole path through the HTTP API, until assigned;  W  the same through a signed respond.io webhook.
 * Throughput in a closed loop at a fixed concurrency; latency opened → assigned (→ completed for E, M) in an open
 * loop at half of E's throughput; CPU seconds per conversation of each process; history events per conversation.
 */

const USAGE = `usage: npm run bench -- [--rounds 3] [--seconds 15] [--concurrency 16] [--out bench-results]
                        [--burst 1000] [--waiting 10000] [--smoke] [--cluster]

--cluster runs it on Temporal's four services as processes with PostgreSQL persistence (npm run cluster's) instead
of the dev server.`;

type Arm = 'E' | 'M' | 'D' | 'S' | 'W';
const ARMS: Arm[] = ['E', 'M', 'D', 'S', 'W'];
const ROUTED: Arm[] = ['D', 'S', 'W'];
const BURST_TIMEOUT_MS = 10 * 60_000;
/** The arms measured a second time in open loop, at half of M's throughput. */
const GENTLE_ARMS = ['M', 'D', 'S'] as const;
const PROCESSES = ['worker', 'api', 'temporal', 'postgres'] as const;

interface ArmStats {
  completed: number;
  seconds: number;
  latencies: number[];
  cpu: Record<(typeof PROCESSES)[number], number>;
  events: number[];
}

const quantile = (values: number[], q: number) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
};

const reported = new Map<string, number>();

/** A bar on a terminal; elsewhere (CI, a log file) a line per phase and per tenth of it. */
function progress(label: string, done: number, total: number): void {
  if (!process.stderr.isTTY) {
    const tenth = Math.floor((done / total) * 10);
    if (reported.get(label) !== tenth) console.error(`[bench] ${label}: ${done}/${total}`);
    reported.set(label, tenth);
    return;
  }
  const width = 30;
  const filled = Math.round((done / total) * width);
  process.stderr.write(`\r${label.padEnd(28)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
  if (done === total) process.stderr.write('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '15' },
      concurrency: { type: 'string', default: '16' },
      out: { type: 'string', default: 'bench-results' },
      burst: { type: 'string' },
      waiting: { type: 'string' },
      smoke: { type: 'boolean', default: false },
      cluster: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const smoke = values.smoke!;
  const rounds = smoke ? 1 : Number(values.rounds);
  const seconds = smoke ? 3 : Number(values.seconds);
  const concurrency = smoke ? 4 : Number(values.concurrency);
  const scratch = await mkdtemp(join(tmpdir(), 'vip-router-bench-'));
  const log = (line: string) => console.error(`[bench] ${line}`);
  log(`starting PostgreSQL, ${values.cluster ? "a Temporal cluster (4 service processes)" : "the Temporal dev server"}, the API and a worker in ${scratch}`);
  const topology = await startTopology(scratch, log, { cluster: values.cluster });
  const bench = await Bench.create(topology);
  try {
    if (values.burst) return await bench.burst(Number(values.burst), concurrency, seconds, resolve(values.out!));
    if (values.waiting) return await bench.waiting(Number(values.waiting), resolve(values.out!));
    return await bench.compare({ rounds, seconds, concurrency, smoke, out: resolve(values.out!) });
  } finally {
    await bench.close();
    await topology.stop();
    await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
  }
}

class Bench {
  private readonly waiters = new Map<string, (at: number) => void>();
  private readonly askWaiters = new Map<string, (at: number) => void>();
  private sequence = 0;
  /** Runs started straight through Temporal carry their rules' version, recorded as the API records its own. */
  private readonly rulesVersion: Promise<string>;
  /** The waiting arm's rules: a first-response timer for every regular assignee. */
  private readonly waitingRulesVersion: Promise<string>;

  private constructor(
    private readonly topology: Topology,
    private readonly client: Client,
    private readonly connection: Connection,
    private readonly listener: pg.Client,
  ) {
    this.rulesVersion = new RuleVersions(topology.db).record(ROUTING);
    this.waitingRulesVersion = new RuleVersions(topology.db).record(WAITING_ROUTING);
  }

  static async create(topology: Topology): Promise<Bench> {
    await putAgent(topology.db, { id: 'bench-agent', name: 'Bench Agent', team: 'support', role: 'agent', online: true, capacity: 1_000_000 });
    await putDirectoryCustomer(topology.db, { email: 'bench-regular@example.com', customerType: 'Regular' });
    // Bench-only: the moments a conversation is assigned, and asked its question, arrive as notifications.
    await topology.db.query(`
      CREATE OR REPLACE FUNCTION bench_notify_assigned() RETURNS trigger AS $$
      BEGIN PERFORM pg_notify('bench_assigned', NEW.contact_id); RETURN NEW; END $$ LANGUAGE plpgsql;
      DROP TRIGGER IF EXISTS bench_assigned ON assignments;
      CREATE TRIGGER bench_assigned AFTER INSERT ON assignments FOR EACH ROW EXECUTE FUNCTION bench_notify_assigned();
      CREATE OR REPLACE FUNCTION bench_notify_asked() RETURNS trigger AS $$
      BEGIN IF NEW.kind = 'question' THEN PERFORM pg_notify('bench_asked', NEW.contact_id); END IF; RETURN NEW; END $$ LANGUAGE plpgsql;
      DROP TRIGGER IF EXISTS bench_asked ON messages;
      CREATE TRIGGER bench_asked AFTER INSERT ON messages FOR EACH ROW EXECUTE FUNCTION bench_notify_asked();`);
    const listener = new pg.Client({ connectionString: topology.databaseUrl });
    await listener.connect();
    const connection = await Connection.connect(topology.temporal);
    const client = new Client({ connection, dataConverter: dataConverter(testCodec(topology.codecKeys)) });
    const bench = new Bench(topology, client, connection, listener);
    listener.on('notification', (note) => {
      const at = performance.now();
      const waiters = note.channel === 'bench_assigned' ? bench.waiters : bench.askWaiters;
      waiters.get(note.payload ?? '')?.(at);
      waiters.delete(note.payload ?? '');
    });
    await listener.query('LISTEN bench_assigned');
    await listener.query('LISTEN bench_asked');
    return bench;
  }

  async close(): Promise<void> {
    await this.listener.end();
    await this.connection.close();
  }

  private nextId(arm: Arm): string {
    // Webhook contacts are respond.io's: numeric ids.
    return arm === 'W' ? String(9_000_000_000 + ++this.sequence) : `bench-${arm.toLowerCase()}-${randomUUID().slice(0, 8)}`;
  }

  /** When the trigger reports `id`; a conversation that never gets there fails the run after `timeoutMs`. */
  private until(waiters: Map<string, (at: number) => void>, id: string, timeoutMs = 60_000): Promise<number> {
    return new Promise((done, fail) => {
      const timer = setTimeout(() => {
        waiters.delete(id);
        fail(new Error(`${id}: nothing within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      waiters.set(id, (at) => {
        clearTimeout(timer);
        done(at);
      });
    });
  }

  /** One conversation (or reference workflow) through an arm; resolves with opened → done in ms, and its id. */
  private async one(arm: Arm, email: string | null = 'bench-regular@example.com'): Promise<{ ms: number; workflowId: string; contactId: string }> {
    const id = this.nextId(arm);
    const started = performance.now();
    if (arm === 'E' || arm === 'M') {
      const workflowId = `bench-${arm}-${id}`;
      await this.client.workflow.execute(arm === 'E' ? 'benchEmpty' : 'benchThreeActivities', { taskQueue: `${TASK_QUEUE}-reference`, workflowId });
      return { ms: performance.now() - started, workflowId, contactId: id };
    }
    const assigned = this.until(this.waiters, id);
    if (arm === 'D') {
      await this.client.workflow.start(ROUTING_WORKFLOW, {
        taskQueue: TASK_QUEUE,
        workflowId: workflowIdForContact(id),
        args: [{ contact: { id, email }, config: ROUTING, rulesVersion: await this.rulesVersion, searchAttributes: true }],
      });
    } else if (arm === 'S') {
      const response = await fetch(`${this.topology.apiUrl}/v1/conversations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.topology.adminKey}` },
        body: JSON.stringify({ contact: { id, email } }),
      });
      if (response.status !== 202) throw new Error(`POST /v1/conversations: ${response.status} ${await response.text()}`);
    } else {
      const delivered = await deliverWebhook(`${this.topology.apiUrl}/v1/webhooks/respondio`, conversationOpened({ id: Number(id), email }), SIGNING_KEY);
      if (delivered.status !== 200) throw new Error(`webhook: ${delivered.status}`);
    }
    return { ms: (await assigned) - started, workflowId: workflowIdForContact(id), contactId: id };
  }

  private async cpu(): Promise<Record<(typeof PROCESSES)[number], number>> {
    const pids = await this.topology.pids();
    const entries = await Promise.all(PROCESSES.map(async (name) => [name, (await Promise.all(pids[name].map(cpuSeconds))).reduce((a, b) => a + b, 0)] as const));
    return Object.fromEntries(entries) as Record<(typeof PROCESSES)[number], number>;
  }

  /** Runs `concurrency` loops of one arm for `seconds` (or until `limit` are done); returns what they did. */
  private async closedLoop(arm: Arm, seconds: number, concurrency: number, opened: string[], limit = Infinity): Promise<ArmStats> {
    const before = await this.cpu();
    const started = performance.now();
    const deadline = started + seconds * 1000;
    const latencies: number[] = [];
    const ids: string[] = [];
    let begun = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < deadline && begun++ < limit) {
          const { ms, workflowId, contactId } = await this.one(arm);
          latencies.push(ms);
          ids.push(workflowId);
          if (ROUTED.includes(arm)) opened.push(contactId);
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    const after = await this.cpu();
    const cpu = Object.fromEntries(PROCESSES.map((p) => [p, (after[p] - before[p]) / Math.max(latencies.length, 1)])) as ArmStats['cpu'];
    const events = await Promise.all(ids.slice(0, 3).map(async (id) => ((await this.client.workflow.getHandle(id).fetchHistory()).events ?? []).length));
    return { completed: latencies.length, seconds: elapsed, latencies, cpu, events };
  }

  /** Arrivals at `rate` per second for `seconds`, whatever the system does: the latency a steady load sees. */
  private async openLoop(arm: Arm, rate: number, seconds: number, opened: string[], limit = Infinity): Promise<number[]> {
    const latencies: number[] = [];
    const pending: Promise<void>[] = [];
    const count = Math.max(1, Math.min(limit, Math.round(rate * seconds)));
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((tick) => setTimeout(tick, wait));
      pending.push(
        this.one(arm).then(({ ms, contactId }) => {
          latencies.push(ms);
          if (ROUTED.includes(arm)) opened.push(contactId);
        }),
      );
    }
    await Promise.all(pending);
    return latencies;
  }

  /** Closes the conversations an arm opened, so the next arm starts from the same database. */
  private async closeAll(contactIds: string[]): Promise<void> {
    const queue = contactIds.splice(0);
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let id = queue.pop(); id; id = queue.pop()) {
          await this.client.workflow.getHandle(workflowIdForContact(id)).signal('closeConversation', { reason: 'bench', source: 'api' });
        }
      }),
    );
    const deadline = Date.now() + 120_000;
    while ((await this.topology.db.query(`SELECT count(*)::int AS n FROM assignments WHERE released_at IS NULL`)).rows[0].n > 0) {
      if (Date.now() > deadline) throw new Error('conversations did not close in 120 s');
      await new Promise((tick) => setTimeout(tick, 200));
    }
  }

  async compare(options: { rounds: number; seconds: number; concurrency: number; smoke: boolean; out: string }): Promise<number> {
    const { rounds, seconds, concurrency } = options;
    // The smoke (CI) runs 20 conversations per arm and measurement: it proves the bench runs, not how fast.
    const limit = options.smoke ? 20 : Infinity;
    const opened: string[] = [];
    console.error(`[bench] warm-up`);
    for (const arm of ARMS) await this.closedLoop(arm, options.smoke ? 1 : 3, concurrency, opened, limit);
    await this.closeAll(opened);

    const closed = Object.fromEntries(ARMS.map((arm) => [arm, [] as ArmStats[]])) as Record<Arm, ArmStats[]>;
    for (let round = 1; round <= rounds; round++) {
      for (const [i, arm] of ARMS.entries()) {
        progress(`throughput, round ${round}/${rounds}`, i, ARMS.length);
        closed[arm].push(await this.closedLoop(arm, seconds, concurrency, opened, limit));
        await this.closeAll(opened);
      }
      progress(`throughput, round ${round}/${rounds}`, ARMS.length, ARMS.length);
    }
    const throughput = (arm: Arm) => closed[arm].reduce((n, s) => n + s.completed, 0) / closed[arm].reduce((n, s) => n + s.seconds, 0);
    // Latency of each arm in open loop at `rate`, the arms interleaved round by round.
    const openLoops = async <A extends Arm>(arms: readonly A[], rate: number): Promise<Record<A, number[]>> => {
      const samples = Object.fromEntries(arms.map((arm) => [arm, [] as number[]])) as Record<A, number[]>;
      for (let round = 1; round <= rounds; round++) {
        const label = `latency at ${rate.toFixed(1)}/s, round ${round}/${rounds}`;
        for (const [i, arm] of arms.entries()) {
          progress(label, i, arms.length);
          samples[arm].push(...(await this.openLoop(arm, rate, seconds, opened, limit)));
          await this.closeAll(opened);
        }
        progress(label, arms.length, arms.length);
      }
      return samples;
    };
    const rate = Math.max(1, throughput('E') / 2);
    const open = await openLoops(ARMS, rate);
    // Half of E's rate may be past what M can do at all (then M's latency is its queue's, not its own): the same
    // comparison again at half of M's throughput, where no arm is saturated.
    const gentleRate = Math.max(1, throughput('M') / 2);
    const gentle = await openLoops(GENTLE_ARMS, gentleRate);

    const rows = ARMS.map((arm) => {
      const stats = closed[arm];
      const cpu = Object.fromEntries(PROCESSES.map((p) => [p, stats.reduce((n, s) => n + s.cpu[p], 0) / stats.length])) as ArmStats['cpu'];
      const events = stats.flatMap((s) => s.events);
      return {
        arm,
        throughput: throughput(arm),
        p50: quantile(open[arm], 0.5),
        p99: quantile(open[arm], 0.99),
        samples: open[arm].length,
        cpu,
        events: events.reduce((a, b) => a + b, 0) / Math.max(events.length, 1),
      };
    });
    const by = Object.fromEntries(rows.map((r) => [r.arm, r])) as Record<Arm, (typeof rows)[number]>;
    const ratios = [
      ['S/M throughput', by.S.throughput / by.M.throughput],
      ['S/M p99', by.S.p99 / by.M.p99],
      ['D/M throughput', by.D.throughput / by.M.throughput],
      ['D/M p99', by.D.p99 / by.M.p99],
      ['S/E throughput', by.S.throughput / by.E.throughput],
      ['W/M throughput', by.W.throughput / by.M.throughput],
      ['S/M p99 at half of M', quantile(gentle.S, 0.99) / quantile(gentle.M, 0.99)],
      ['D/M p99 at half of M', quantile(gentle.D, 0.99) / quantile(gentle.M, 0.99)],
    ] as const;

    const table = [
      `| arm | throughput/s | p50 ms | p99 ms | CPU ms/conv worker | api | temporal | postgres | history events |`,
      `|---|---|---|---|---|---|---|---|---|`,
      ...rows.map(
        (r) =>
          `| ${r.arm} | ${r.throughput.toFixed(1)} | ${r.p50.toFixed(0)} | ${r.p99.toFixed(0)} | ${PROCESSES.map((p) => (r.cpu[p] * 1000).toFixed(1)).join(' | ')} | ${r.events.toFixed(0)} |`,
      ),
    ].join('\n');
    console.log(`\nE empty · M three no-op activities · D routing via the client · S via the API · W via a signed webhook`);
    console.log(`closed loop: ${concurrency} at a time, ${rounds} × ${seconds} s per arm; open loop at ${rate.toFixed(1)}/s (half of E)\n`);
    console.log(table);
    console.log(
      `\nopen loop at ${gentleRate.toFixed(1)}/s (half of M): ${GENTLE_ARMS.map((arm) => `${arm} p50 ${quantile(gentle[arm], 0.5).toFixed(0)} ms, p99 ${quantile(gentle[arm], 0.99).toFixed(0)} ms`).join(' · ')}`,
    );
    console.log('');
    for (const [name, value] of ratios) console.log(`${name} ${value.toFixed(2)}`);
    const gentleP99 = quantile(gentle.S, 0.99) / quantile(gentle.M, 0.99);
    const met = [by.S.throughput / by.M.throughput >= 1, by.S.p99 / by.M.p99 <= 1, gentleP99 <= 1];
    console.log(
      `targets: S/M throughput ≥ 1.0 ${met[0] ? 'met' : 'NOT met'}; S/M p99 ≤ 1.0 ${met[1] ? 'met' : 'NOT met'} (at half of E), ${met[2] ? 'met' : 'NOT met'} (at half of M)`,
    );

    await mkdir(options.out, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const gentleRows = GENTLE_ARMS.map((arm) => ({ arm, p50: quantile(gentle[arm], 0.5), p99: quantile(gentle[arm], 0.99), samples: gentle[arm].length }));
    const results = { at: new Date().toISOString(), rounds, seconds, concurrency, rate, rows, gentleRate, gentleRows, ratios: Object.fromEntries(ratios) };
    await writeFile(join(options.out, `bench-${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);
    await writeFile(join(options.out, `bench-${stamp}.svg`), chart(rows));
    console.log(`\nwritten: ${join(options.out, `bench-${stamp}.json`)} and .svg`);
    if (options.smoke) console.log('(smoke: 20 conversations per arm and measurement; the figures say it runs, not how fast)');
    return 0;
  }

  /** `--burst N`: N conversations opened at once; opened → question sent, against M's p99 on the same run. */
  async burst(count: number, concurrency: number, seconds: number, out: string): Promise<number> {
    const opened: string[] = [];
    await this.closedLoop('M', 2, concurrency, opened);
    const reference = await this.openLoop('M', 5, seconds, opened);
    // The naive workflow under the same burst: `count` M runs started at once, each timed to its end.
    const mBurst: number[] = [];
    const mStarted = performance.now();
    await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const startedAt = performance.now();
        await this.client.workflow.execute('benchThreeActivities', { taskQueue: `${TASK_QUEUE}-reference`, workflowId: `bench-burst-M-${i}-${randomUUID().slice(0, 6)}` });
        mBurst.push(performance.now() - startedAt);
        progress('burst: M runs done', mBurst.length, count);
      }),
    );
    const mTook = (performance.now() - mStarted) / 1000;
    const asked: number[] = [];
    const started = performance.now();
    await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const id = `bench-burst-${i}-${randomUUID().slice(0, 6)}`;
        // A burst queues up behind the service's throughput: the last ones wait about count / throughput.
        const question = this.until(this.askWaiters, id, BURST_TIMEOUT_MS);
        const sentAt = performance.now();
        const response = await fetch(`${this.topology.apiUrl}/v1/conversations`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${this.topology.adminKey}` },
          body: JSON.stringify({ contact: { id } }),
        });
        if (response.status !== 202) throw new Error(`POST: ${response.status}`);
        asked.push((await question) - sentAt);
        progress('burst: questions sent', asked.length, count);
      }),
    );
    const took = (performance.now() - started) / 1000;
    const p99 = quantile(asked, 0.99);
    const mP99 = quantile(reference, 0.99);
    const mBurstP99 = quantile(mBurst, 0.99);
    console.log(`burst of ${count} conversations through the API: every question sent within ${took.toFixed(1)} s; opened → question p50 ${quantile(asked, 0.5).toFixed(0)} ms, p99 ${p99.toFixed(0)} ms`);
    console.log(`burst of ${count} M runs: all done within ${mTook.toFixed(1)} s; p50 ${quantile(mBurst, 0.5).toFixed(0)} ms, p99 ${mBurstP99.toFixed(0)} ms`);
    console.log(`M p99 on the same run, unloaded (5/s) ${mP99.toFixed(0)} ms`);
    console.log(`burst p99 / M p99 (unloaded) ${(p99 / mP99).toFixed(2)}`);
    console.log(`burst p99 / M burst p99 ${(p99 / mBurstP99).toFixed(2)}`);
    await mkdir(out, { recursive: true });
    await writeFile(
      join(out, `burst-${Date.now()}.json`),
      JSON.stringify({ count, took, p50: quantile(asked, 0.5), p99, mP99, mBurst: { took: mTook, p50: quantile(mBurst, 0.5), p99: mBurstP99 } }, null, 2),
    );
    return 0;
  }

  /**
   * `--waiting N`: N conversations waiting for a reply on one worker; RSS each; a worker restart; every one answered
   * and assigned, each then holding a first-response timer (its agent never writes): RSS each again.
   */
  async waiting(count: number, out: string): Promise<number> {
    const workerPid = () => this.topology.worker().child.pid!;
    const rssBefore = await rssBytes(workerPid());
    const ids: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < count) {
          const id = `bench-wait-${next++}-${randomUUID().slice(0, 6)}`;
          const question = this.until(this.askWaiters, id);
          await this.client.workflow.start(ROUTING_WORKFLOW, { taskQueue: TASK_QUEUE, workflowId: workflowIdForContact(id), args: [{ contact: { id }, config: WAITING_ROUTING, rulesVersion: await this.waitingRulesVersion }] });
          await question;
          ids.push(id);
          progress('waiting: asked', ids.length, count);
        }
      }),
    );
    global.gc?.();
    const rssWaiting = await rssBytes(workerPid());
    const perConversation = (rssWaiting - rssBefore) / count;
    console.log(`${count} conversations waiting for a reply: worker RSS ${(rssBefore / 2 ** 20).toFixed(0)} → ${(rssWaiting / 2 ** 20).toFixed(0)} MiB, ${(perConversation / 1024).toFixed(1)} KB each (target ≤ 50 KB)`);
    await this.topology.restartWorker();
    console.log('worker restarted');
    const rssRestarted = await rssBytes(workerPid());
    const replies: number[] = [];
    const queue = [...ids];
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let id = queue.pop(); id; id = queue.pop()) {
          const assigned = this.until(this.waiters, id);
          const sentAt = performance.now();
          const response = await fetch(`${this.topology.apiUrl}/v1/contacts/${id}/messages`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${this.topology.adminKey}` },
            body: JSON.stringify({ messageId: `reply-${id}`, text: 'bench-regular@example.com' }),
          });
          if (response.status !== 202) throw new Error(`reply ${id}: ${response.status}`);
          replies.push((await assigned) - sentAt);
          progress('waiting: answered and assigned', replies.length, count);
        }
      }),
    );
    const { rows } = await this.topology.db.query(`SELECT count(DISTINCT contact_id)::int AS n FROM assignments WHERE contact_id LIKE 'bench-wait-%' AND released_at IS NULL`);
    console.log(`after the restart: ${rows[0].n}/${count} assigned, ${count - rows[0].n} lost; reply → assigned p50 ${quantile(replies, 0.5).toFixed(0)} ms, p99 ${quantile(replies, 0.99).toFixed(0)} ms`);
    // Each assigned run now waits on its first-response timer (its memo says so, once the run has taken the
    // assignment in: the notification above comes from the dispatcher, a moment earlier): what that costs the worker.
    const sample = ids.slice(0, 20);
    const armedIn = async () =>
      (await Promise.all(sample.map(async (id) => (await this.client.workflow.getHandle(workflowIdForContact(id)).describe()).memo?.[AWAITS_FIRST_RESPONSE_MEMO]))).filter((memo) => memo === true).length;
    let armed = await armedIn();
    for (const deadline = Date.now() + 60_000; armed < sample.length && Date.now() < deadline; armed = await armedIn()) await new Promise((tick) => setTimeout(tick, 500));
    global.gc?.();
    const rssArmed = await rssBytes(workerPid());
    const perArmed = (rssArmed - rssRestarted) / count;
    console.log(`${count} conversations assigned, each with a first-response timer armed (${armed}/${sample.length} sampled): worker RSS ${(rssRestarted / 2 ** 20).toFixed(0)} → ${(rssArmed / 2 ** 20).toFixed(0)} MiB, ${(perArmed / 1024).toFixed(1)} KB each (target ≤ 50 KB)`);
    await mkdir(out, { recursive: true });
    await writeFile(
      join(out, `waiting-${Date.now()}.json`),
      JSON.stringify({ count, rssBefore, rssWaiting, perConversation, assigned: rows[0].n, p99: quantile(replies, 0.99), firstResponseArmed: { rssRestarted, rssArmed, perConversation: perArmed, sampledArmed: armed } }, null, 2),
    );
    return rows[0].n === count && armed === sample.length ? 0 : 1;
  }
}

const ROUTING = parseRoutingConfig({ crm: { timeout: 5_000 } });
/** The waiting arm's: once assigned, each conversation holds a first-response timer its agent never stops. */
const WAITING_ROUTING = parseRoutingConfig({ crm: { timeout: 5_000 }, regular: { firstResponse: '24h' } });

/** Two bar charts, throughput and latency, as an SVG a browser shows. */
function chart(rows: Array<{ arm: string; throughput: number; p50: number; p99: number }>): string {
  const width = 640;
  const barArea = 220;
  const bar = (value: number, max: number) => (max > 0 ? (value / max) * 160 : 0);
  const maxT = Math.max(...rows.map((r) => r.throughput));
  const maxL = Math.max(...rows.map((r) => r.p99));
  const group = (x0: number, title: string, items: Array<{ label: string; value: number; max: number; color: string; text: string }>) =>
    [
      `<text x="${x0}" y="20" font-size="14" font-family="sans-serif">${title}</text>`,
      ...items.map((item, i) => {
        const h = bar(item.value, item.max);
        const x = x0 + i * 28;
        return `<rect x="${x}" y="${barArea - h}" width="22" height="${h}" fill="${item.color}"/><text x="${x + 11}" y="${barArea + 14}" font-size="11" text-anchor="middle" font-family="sans-serif">${item.label}</text><text x="${x + 11}" y="${barArea - h - 4}" font-size="9" text-anchor="middle" font-family="sans-serif">${item.text}</text>`;
      }),
    ].join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="260" viewBox="0 0 ${width} 260">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    group(20, 'throughput (conversations/s)', rows.map((r) => ({ label: r.arm, value: r.throughput, max: maxT, color: '#3b6ea5', text: r.throughput.toFixed(1) }))),
    group(
      260,
      'latency p50 / p99 (ms)',
      rows.flatMap((r) => [
        { label: `${r.arm}`, value: r.p50, max: maxL, color: '#8fb3d9', text: r.p50.toFixed(0) },
        { label: '', value: r.p99, max: maxL, color: '#c0504d', text: r.p99.toFixed(0) },
      ]),
    ),
    `</svg>\n`,
  ].join('\n');
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
