import { randomUUID } from 'node:crypto';
import { after, afterEach, before, beforeEach } from 'node:test';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WorkflowHandle } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { createApp } from '../../src/api/app';
import { ApiKeys } from '../../src/security/api-key-tokens';
import type { AesGcmCodec } from '../../src/security/codec';
import { dataConverter } from '../../src/service/compose';
import { testCodec } from './codec';
import { type AgentRole, putAgent } from '../../src/db/agents';
import { type TranscriptMessage, transcript } from '../../src/db/messages';
import { createPool, type Db, migrateDatabase } from '../../src/db/pool';
import { RuleVersions } from '../../src/db/rule-versions';
import { listQueue } from '../../src/assignment/queue';
import { waitUntil } from '../../src/local/processes';
import { resolveTemporalBinary } from '../../src/local/temporal-cli';
import { createLogger } from '../../src/observability/logger';
import type { RoutingConfigInput } from '../../src/domain/routing-config';
import { createRoutingWorker } from '../../src/worker';
import { stateQuery, workflowIdForContact } from '../../src/workflows/definitions';
import { routeConversation } from '../../src/workflows/routing';
import type { ContactInput, ConversationStatus, RoutingInput } from '../../src/domain/conversation';
import { createRespondioClient } from '../../src/respondio/client';
import { FakeCrm } from './fake-crm';
// Also routes the SDK's logs to the (silent by default) test logger.
import { recordHistoryFixture, testRouting } from './harness';
import { acquireTestServers, createScratchDatabase } from './servers';

export type RoutingHandle = WorkflowHandle<typeof routeConversation>;

export interface AssignmentRow {
  agentId: string;
  via: string;
  released: boolean;
}

/**
 * A time-skipping test server: its own clock, which env.sleep moves forward. Starting one takes seconds, so a test
 * file starts one (before) and each test opens its world on it (beforeEach). The clock is shared: a test reads it
 * (env.currentTimeMs) rather than assuming where it stands, and the worlds of earlier tests, closed, have no worker
 * left to act on their timers.
 */
export class TimeSkippingServer {
  private constructor(
    readonly env: TestWorkflowEnvironment,
    readonly codec: AesGcmCodec,
  ) {}

  static async start(): Promise<TimeSkippingServer> {
    const codec = testCodec();
    const executable = await resolveTemporalBinary('test-server');
    return new TimeSkippingServer(await TestWorkflowEnvironment.createTimeSkipping({ server: { executable }, client: { dataConverter: dataConverter(codec) } }), codec);
  }

  stop(): Promise<void> {
    return this.env.teardown();
  }
}

/**
 * One test's world on a time-skipping test server: its own database, task queue, worker and CRM on loopback, so
 * nothing of one test reaches another's assertions.
 */
export class TimeSkippingWorld {
  readonly taskQueue = `vip-router-ts-${randomUUID()}`;
  readonly env: TestWorkflowEnvironment;
  private readonly codec: AesGcmCodec;
  private worker?: Worker;
  private workerRun?: Promise<void>;
  private api?: Server;
  private apiKey?: string;

  private constructor(
    private readonly server: TimeSkippingServer,
    /** A server started for this world alone, stopped with it. */
    private readonly ownsServer: boolean,
    readonly db: Db,
    readonly crm: FakeCrm,
    private readonly releaseServers: () => Promise<void>,
  ) {
    this.env = server.env;
    this.codec = server.codec;
  }

  /**
   * On `server`, or on a server of its own when none is given. With `respondio` (a stand-in), runs opened with
   * `platform` mirror their effects to it.
   */
  static async start(options: { server?: TimeSkippingServer; respondio?: { baseUrl: string; token: string } } = {}): Promise<TimeSkippingWorld> {
    const { servers, release } = await acquireTestServers();
    const [server, databaseUrl, crm] = await Promise.all([options.server ?? TimeSkippingServer.start(), createScratchDatabase(servers.databaseUrl), new FakeCrm().start()]);
    const db = createPool(databaseUrl);
    const world = new TimeSkippingWorld(server, !options.server, db, crm, release);
    try {
      await migrateDatabase(db);
      world.worker = await createRoutingWorker({
        connection: world.env.nativeConnection,
        namespace: world.env.namespace ?? 'default',
        taskQueue: world.taskQueue,
        db,
        codec: world.codec,
        workflowBundlePath: servers.workflowBundlePath,
        ...(options.respondio ? { respondio: createRespondioClient(options.respondio) } : {}),
      });
    } catch (error) {
      await world.close();
      throw error;
    }
    world.workerRun = world.worker.run();
    return world;
  }

  /** Straight into the database: the agent exists with this team, role and availability. */
  async putAgent(id: string, agent: { team: string; role?: AgentRole; online?: boolean; capacity?: number }): Promise<void> {
    await putAgent(this.db, { id, name: id, role: 'agent', online: true, capacity: 5, ...agent });
  }

  contactId(label: string): string {
    return `${label}-${randomUUID().slice(0, 8)}`;
  }

  /** Starts a routing run as the API would, with the test routing defaults and the CRM on loopback. */
  async open(contact: ContactInput, routing: RoutingConfigInput = {}, platform?: RoutingInput['platform']): Promise<RoutingHandle> {
    const config = testRouting({ ...routing, crm: { url: this.crm.lookupUrl, ...routing.crm } });
    return this.env.client.workflow.start(routeConversation, {
      workflowId: workflowIdForContact(contact.id),
      taskQueue: this.taskQueue,
      args: [{ contact, config, rulesVersion: await new RuleVersions(this.db).record(config), ...(platform ? { platform } : {}) }],
    });
  }

  /** Polls the state query (in real time) until `done` holds; fails with the last state seen. */
  async waitFor(handle: RoutingHandle, done: (s: ConversationStatus) => boolean, timeoutMs = 15_000): Promise<ConversationStatus> {
    let last: ConversationStatus | undefined;
    const probe = async () => {
      last = await handle.query(stateQuery);
      return done(last) && last;
    };
    return waitUntil(handle.workflowId, probe, { timeoutMs, intervalMs: 50, detail: () => `last state: ${JSON.stringify(last)}` });
  }

  /**
   * A call to the real API (createApp over this world's client and database, on a loopback port, started on first
   * use, with an admin key): presence changes then go through the same PATCH, dispatcher and signals as in production.
   */
  async callApi(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    if (!this.api) {
      const log = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'silent');
      const apiKeys = new ApiKeys(this.db);
      this.apiKey = (await apiKeys.create('admin', 'time-skipping test')).key;
      const { app } = createApp({ client: this.env.client, db: this.db, routing: testRouting(), taskQueue: this.taskQueue, log, apiKeys });
      this.api = createServer(app);
      await new Promise<void>((ready) => this.api!.listen(0, '127.0.0.1', ready));
    }
    const response = await fetch(`http://127.0.0.1:${(this.api.address() as AddressInfo).port}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.apiKey}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }

  transcript(contactId: string): Promise<TranscriptMessage[]> {
    return transcript(this.db, contactId);
  }

  assignments(contactId: string): Promise<AssignmentRow[]> {
    return assignmentsOf(this.db, contactId);
  }

  async isQueued(contactId: string): Promise<boolean> {
    return (await listQueue(this.db)).some((entry) => entry.contactId === contactId);
  }

  async recordHistory(contactId: string, name: string): Promise<void> {
    await recordHistoryFixture(this.env.client, this.codec, contactId, name);
  }

  async close(): Promise<void> {
    if (this.api) {
      this.api.closeAllConnections();
      await new Promise((done) => this.api!.close(done));
    }
    this.worker?.shutdown();
    await this.workerRun;
    if (this.ownsServer) await this.server.stop();
    await this.crm.stop();
    await this.db.end();
    await this.releaseServers();
  }
}

/** Every assignment the contact's conversations ever got, released or not, oldest first. */
export async function assignmentsOf(db: Db, contactId: string): Promise<AssignmentRow[]> {
  const { rows } = await db.query(
    `SELECT agent_id AS "agentId", via, released_at IS NOT NULL AS released FROM assignments WHERE contact_id = $1 ORDER BY id`,
    [contactId],
  );
  return rows;
}

/**
 * Waits until the run is blocked on a timer nobody has fired or cancelled yet (a reply or queue wait), and
 * returns when, by the server's clock, that timer started. Skipping time before the timer exists skips past nothing.
 */
export async function waitForPendingTimer(handle: WorkflowHandle, timeoutMs = 15_000): Promise<number> {
  const pendingSince = async () => {
    const { events } = await handle.fetchHistory();
    const started = new Map<string, number>();
    for (const event of events ?? []) {
      if (event.timerStartedEventAttributes?.timerId) started.set(event.timerStartedEventAttributes.timerId, tsToMs(event.eventTime));
      if (event.timerFiredEventAttributes?.timerId) started.delete(event.timerFiredEventAttributes.timerId);
      if (event.timerCanceledEventAttributes?.timerId) started.delete(event.timerCanceledEventAttributes.timerId);
    }
    const pending = [...started.values()];
    return pending.length > 0 && Math.max(...pending);
  };
  return waitUntil(`${handle.workflowId} blocked on a timer`, pendingSince, { timeoutMs, intervalMs: 50 });
}

/** Routing has decided: the conversation is with someone, escalated, or over. */
export const decided = (status: ConversationStatus): boolean => ['assigned', 'escalated', 'closed', 'failed'].includes(status.state);

/**
 * Hooks of a describe whose tests each get a world of their own on one time-skipping server for the file: `use`
 * receives each test's world before it runs; the world is closed after it, the server after the last.
 */
export function timeSkippingWorldPerTest(use: (world: TimeSkippingWorld) => void): void {
  let server: TimeSkippingServer;
  let world: TimeSkippingWorld;
  before(async () => {
    server = await TimeSkippingServer.start();
  });
  after(() => server.stop());
  beforeEach(async () => {
    world = await TimeSkippingWorld.start({ server });
    use(world);
  });
  afterEach(() => world.close());
}
