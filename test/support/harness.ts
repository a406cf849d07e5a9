import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { createApp } from '../../src/api/app';
import { directoryUrlFor } from '../../src/config';
import type { Agent } from '../../src/db/agents';
import { createPool, type Db, migrateDatabase } from '../../src/db/pool';
import { createLogger } from '../../src/logger';
import { parseRoutingConfig, type RoutingConfig, type RoutingConfigInput } from '../../src/routing-config';
import { routeTemporalLogs } from '../../src/temporal';
import { createRoutingWorker } from '../../src/worker';
import { workflowIdForContact } from '../../src/workflows/messages';
import type { ConversationStatus } from '../../src/workflows/types';
import { acquireTestServers, createScratchDatabase, type TestServers } from './servers';

export interface HarnessOptions {
  /** Merged over the test defaults (fast CRM retries); `crm.url` defaults to the harness API's directory. */
  routing?: RoutingConfigInput;
  outbound?: { webhookUrl?: string; webhookSecret?: string };
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
}

const log = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'silent');

/** A fresh database, its own task queue, a worker and the API on a free port, over the shared servers. */
export class Harness {
  readonly taskQueue = `vip-router-test-${randomUUID()}`;
  private workerRun?: Promise<void>;
  worker?: Worker;

  private constructor(
    readonly servers: TestServers,
    private readonly releaseServers: () => Promise<void>,
    readonly db: Db,
    readonly databaseUrl: string,
    readonly client: Client,
    private readonly clientConnection: Connection,
    private readonly workerConnection: NativeConnection,
    private readonly server: Server,
    readonly baseUrl: string,
    readonly routing: RoutingConfig,
    private readonly options: HarnessOptions,
  ) {}

  static async start(options: HarnessOptions = {}): Promise<Harness> {
    // Installed on first use, not on import: the native runtime it creates keeps a process alive until its workers stop.
    routeTemporalLogs(log);
    const { servers, release } = await acquireTestServers();
    const databaseUrl = await createScratchDatabase(servers.databaseUrl);
    const db = createPool(databaseUrl);
    await migrateDatabase(db);
    const clientConnection = await Connection.connect({ address: servers.temporalAddress });
    const client = new Client({ connection: clientConnection });
    const workerConnection = await NativeConnection.connect({ address: servers.temporalAddress });

    const server = createServer();
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const routing = testRouting(options.routing);
    const harness = new Harness(servers, release, db, databaseUrl, client, clientConnection, workerConnection, server, baseUrl, routing, options);
    server.on('request', createApp({ client, db, routing, taskQueue: harness.taskQueue, log }));
    await harness.startWorker();
    return harness;
  }

  async startWorker(): Promise<void> {
    this.worker = await createRoutingWorker({
      connection: this.workerConnection,
      namespace: 'default',
      taskQueue: this.taskQueue,
      db: this.db,
      outbound: this.options.outbound,
      workflowBundlePath: this.servers.workflowBundlePath,
      directoryUrl: directoryUrlFor(this.baseUrl),
    });
    this.workerRun = this.worker.run();
  }

  /** Stops polling and waits for in-flight tasks, as a deploy or a crash-free restart would. */
  async stopWorker(): Promise<void> {
    this.worker?.shutdown();
    await this.workerRun;
    this.worker = undefined;
  }

  /** A contact id no other test (or earlier run on the same Temporal server) has used. */
  contactId(label: string): string {
    return `${label}-${randomUUID().slice(0, 8)}`;
  }

  async request<T = any>(method: string, path: string, body?: unknown, rawBody?: string): Promise<ApiResponse<T>> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: body !== undefined || rawBody !== undefined ? { 'content-type': 'application/json' } : {},
      body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }

  async putAgent(id: string, agent: { name?: string; team: string; role?: 'agent' | 'manager'; online?: boolean; capacity?: number }): Promise<Agent> {
    const { status, body } = await this.request('PUT', `/v1/agents/${id}`, { name: id, ...agent });
    if (status !== 200) throw new Error(`PUT agent ${id}: ${status} ${JSON.stringify(body)}`);
    return body;
  }

  async putCustomer(email: string, customer: { customerType: string; accountManager?: string }): Promise<void> {
    const { status, body } = await this.request('PUT', `/v1/directory/customers/${encodeURIComponent(email)}`, customer);
    if (status !== 200) throw new Error(`PUT customer ${email}: ${status} ${JSON.stringify(body)}`);
  }

  async open(contact: { id: string; email?: string | null; firstName?: string }): Promise<ApiResponse> {
    return this.request('POST', '/v1/conversations', { contact });
  }

  async say(contactId: string, messageId: string, text: string): Promise<ApiResponse> {
    return this.request('POST', `/v1/contacts/${contactId}/messages`, { messageId, text });
  }

  async conversation(contactId: string): Promise<ConversationStatus> {
    const { status, body } = await this.request<ConversationStatus>('GET', `/v1/conversations/${contactId}`);
    if (status !== 200) throw new Error(`GET conversation ${contactId}: ${status} ${JSON.stringify(body)}`);
    return body;
  }

  /** Polls the state query until `done` holds; fails with the last state seen. */
  async waitFor(contactId: string, done: (s: ConversationStatus) => boolean, timeoutMs = 20_000): Promise<ConversationStatus> {
    const deadline = Date.now() + timeoutMs;
    let last: ConversationStatus | undefined;
    for (;;) {
      try {
        last = await this.conversation(contactId);
        if (done(last)) return last;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting on ${contactId}; last state: ${JSON.stringify(last)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  waitForState(contactId: string, state: ConversationStatus['state'], timeoutMs?: number) {
    return this.waitFor(contactId, (s) => s.state === state, timeoutMs);
  }

  async transcript(contactId: string): Promise<Array<{ direction: string; kind: string; text: string; messageId: string }>> {
    const { body } = await this.request('GET', `/v1/contacts/${contactId}/messages`);
    return body?.messages ?? [];
  }

  async openAssignments(agentId?: string): Promise<number> {
    const { rows } = await this.db.query(
      `SELECT count(*)::int AS n FROM assignments WHERE released_at IS NULL AND ($1::text IS NULL OR agent_id = $1)`,
      [agentId ?? null],
    );
    return rows[0].n;
  }

  async recordHistory(contactId: string, name: string): Promise<void> {
    await recordHistoryFixture(this.client, contactId, name);
  }

  async close(): Promise<void> {
    await this.stopWorker().catch(() => undefined);
    this.server.closeAllConnections();
    await new Promise((done) => this.server.close(done));
    await this.clientConnection.close();
    await this.workerConnection.close();
    await this.db.end();
    await this.releaseServers();
  }
}

/** With RECORD_HISTORIES=1, saves the run's history as a replay fixture under test/fixtures/histories. */
export async function recordHistoryFixture(client: Client, contactId: string, name: string): Promise<void> {
  if (process.env['RECORD_HISTORIES'] !== '1') return;
  const history = await client.workflow.getHandle(workflowIdForContact(contactId)).fetchHistory();
  const dir = join(__dirname, '..', 'fixtures', 'histories');
  await mkdir(dir, { recursive: true });
  // historyToJSON, not JSON.stringify: proto Longs and timestamps need the proto JSON mapping, the same
  // shape Temporal UI exports.
  await writeFile(join(dir, `${name}.json`), `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 1)}\n`);
}

export function testRouting(overrides: RoutingConfigInput = {}): RoutingConfig {
  const crm = overrides.crm ?? {};
  return parseRoutingConfig({
    ...overrides,
    crm: {
      timeout: 2_000,
      ...crm,
      retry: { maxAttempts: 4, initialInterval: 50, maxInterval: 200, ...crm.retry },
    },
  });
}
