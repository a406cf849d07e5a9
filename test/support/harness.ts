import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { NativeConnection, type Worker, type WorkerInterceptors } from '@temporalio/worker';
import { type Api, createApp } from '../../src/api/app';
import type { KeyCheckOptions } from '../../src/api/auth';
import type { RateLimit } from '../../src/api/rate-limit';
import { directoryUrlFor } from '../../src/service/config';
import type { Agent } from '../../src/db/agents';
import type { TranscriptMessage } from '../../src/db/messages';
import { createPool, type Db, migrateDatabase } from '../../src/db/pool';
import { findFreePort } from '../../src/local/ports';
import { waitUntil } from '../../src/local/processes';
import { createLogger, type Logger } from '../../src/observability/logger';
import { createRespondioClient } from '../../src/respondio/client';
import { parseRoutingConfig, type RoutingConfig, type RoutingConfigInput } from '../../src/domain/routing-config';
import { ApiKeys, type ApiKeysOptions } from '../../src/security/api-key-tokens';
import type { AesGcmCodec } from '../../src/security/codec';
import { decodeHistoryPayloads } from '../../src/security/history';
import { dataConverter } from '../../src/service/compose';
import { routeTemporalLogs } from '../../src/temporal/runtime';
import { ensureSearchAttributes } from '../../src/temporal/search-attribute-setup';
import { createRoutingWorker } from '../../src/worker';
import { workflowIdForContact } from '../../src/workflows/definitions';
import type { ConversationStatus } from '../../src/domain/conversation';
import { testCodec, testCodecKeys } from './codec';
import { acquireTestServers, createScratchDatabase, type TestServers } from './servers';
import { passRequestId } from '../../src/observability/request-scope';

export interface HarnessOptions {
  /** Merged over the test defaults (a patient CRM timeout, fast CRM retries); `crm.url` defaults to the harness API's directory. */
  routing?: RoutingConfigInput;
  outbound?: { webhookUrl?: string; webhookSecret?: string };
  /** respond.io (a stand-in): runs mirror their effects to it, its users can be synced, its webhooks are accepted. */
  respondio?: { baseUrl: string; token: string; signingKeys?: string[]; agentSync?: { teamMap?: Record<string, string>; defaultTeam?: string; newAgentsOnline?: boolean } };
  rateLimit?: RateLimit;
  /** The API key cache (off by default: a revocation shows at once). */
  apiKeys?: ApiKeysOptions;
  /** Failed authentications per address (unlimited by default: suites send hundreds of bad keys on purpose). */
  keyCheck?: KeyCheckOptions;
  /** Where the service's logs go (silent by default). */
  log?: Logger;
  /** The variables the worker's CRM step may name as `${env:NAME}` (VIP_ROUTER_CRM_ENV). */
  crmEnvNames?: string[];
  /** The worker's environment, where those variables are read (the process's by default). */
  env?: NodeJS.ProcessEnv;
  /** Added to the worker's own, after them (a test that stalls an activity). */
  interceptors?: WorkerInterceptors;
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
}

const defaultLog = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'silent');

/** A fresh database, its own task queue, a worker and the API on a free port, over the shared servers. */
export class Harness {
  private workerRun?: Promise<void>;
  /** Why a worker of this harness stopped other than by stopWorker(): close() reports it, so no test passes over it. */
  private readonly workerFailures: unknown[] = [];
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
    readonly codec: AesGcmCodec,
    /** The codec's keys as VIP_ROUTER_CODEC_KEYS holds them, for worker processes. */
    readonly codecKeys: string,
    readonly apiKeys: ApiKeys,
    /** An admin key: every request() carries it unless told otherwise. */
    readonly adminKey: string,
    /** The worker's key (scope read) for the built-in directory. */
    readonly workerKey: string,
    readonly api: Api,
    readonly taskQueue: string,
  ) {}

  /**
   * Starts it all; if any part fails to start, what did start is shut again before the error is thrown, so a test
   * file whose `before` failed reports and exits instead of hanging on open connections.
   */
  static async start(options: HarnessOptions = {}): Promise<Harness> {
    const undo: Array<() => unknown> = [];
    try {
      return await Harness.open(options, undo);
    } catch (error) {
      for (const step of undo.reverse()) await Promise.resolve().then(step).catch(() => undefined);
      throw error;
    }
  }

  private static async open(options: HarnessOptions, undo: Array<() => unknown>): Promise<Harness> {
    // Installed on first use, not on import: the native runtime it creates keeps a process alive until its workers stop.
    const log = options.log ?? defaultLog;
    routeTemporalLogs(defaultLog, { metricsPort: await findFreePort() });
    const { servers, release } = await acquireTestServers();
    undo.push(release);
    const databaseUrl = await createScratchDatabase(servers.databaseUrl);
    const db = createPool(databaseUrl);
    undo.push(() => db.end());
    await migrateDatabase(db);
    const codecKeys = testCodecKeys();
    const codec = testCodec(codecKeys);
    const clientConnection = await Connection.connect({ address: servers.temporalAddress });
    undo.push(() => clientConnection.close());
    const client = new Client({ connection: clientConnection, dataConverter: dataConverter(codec), interceptors: { workflow: [passRequestId] } });
    const searchAttributes = await ensureSearchAttributes(clientConnection, 'default', log);
    const workerConnection = await NativeConnection.connect({ address: servers.temporalAddress });
    undo.push(() => workerConnection.close());
    const apiKeys = new ApiKeys(db, options.apiKeys ?? { cacheMs: 0, negativeCacheMs: 0 });
    const { key: adminKey } = await apiKeys.create('admin', 'test admin');
    const { key: workerKey } = await apiKeys.create('read', 'test worker');

    const server = createServer();
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
    undo.push(() => new Promise((done) => server.close(done)));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const routing = testRouting(options.routing);
    const taskQueue = `vip-router-test-${randomUUID()}`;
    const api = createApp({
      client,
      db,
      routing,
      taskQueue,
      log,
      apiKeys,
      rateLimit: options.rateLimit,
      keyCheck: options.keyCheck ?? { failuresPerAddress: { requests: 1_000_000, windowMs: 1_000 } },
      respondio: options.respondio ? { signingKeys: options.respondio.signingKeys ?? [], platform: 'respondio' } : undefined,
      searchAttributes,
      inbox: { pollMs: 200 },
      codec: { codec, corsOrigins: ['http://127.0.0.1:8233'] },
      temporalUiUrl: 'http://127.0.0.1:8233',
    });
    const harness = new Harness(
      servers,
      release,
      db,
      databaseUrl,
      client,
      clientConnection,
      workerConnection,
      server,
      baseUrl,
      routing,
      options,
      codec,
      codecKeys,
      apiKeys,
      adminKey,
      workerKey,
      api,
      taskQueue,
    );
    server.on('request', api.app);
    api.inbox.start();
    undo.push(() => api.inbox.stop());
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
      directoryApiKey: this.workerKey,
      routing: this.routing,
      crmEnvNames: this.options.crmEnvNames,
      env: this.options.env,
      codec: this.codec,
      interceptors: this.options.interceptors,
      respondio: this.options.respondio ? createRespondioClient({ baseUrl: this.options.respondio.baseUrl, token: this.options.respondio.token }) : undefined,
      agentSync: this.options.respondio
        ? { teamMap: {}, defaultTeam: 'support', newAgentsOnline: true, everyMs: 3_600_000, ...this.options.respondio.agentSync }
        : undefined,
    });
    // Recorded rather than left unhandled: a test may never stop this worker itself, and close() must still say it failed.
    this.workerRun = this.worker.run().catch((error: unknown) => void this.workerFailures.push(error));
  }

  /** Stops polling and waits for in-flight tasks, as a deploy or a crash-free restart would; throws if a worker failed. */
  async stopWorker(): Promise<void> {
    if (this.worker?.getState() === 'RUNNING') this.worker.shutdown();
    await this.workerRun;
    this.worker = undefined;
    this.workerRun = undefined;
    if (this.workerFailures.length > 0) throw this.workerFailure();
  }

  private workerFailure(): Error {
    const [first, ...more] = this.workerFailures;
    if (more.length === 0) return new Error(`the harness worker failed: ${(first as Error)?.message ?? String(first)}`, { cause: first });
    return new AggregateError(this.workerFailures, `${this.workerFailures.length} harness workers failed`);
  }

  /** A contact id no other test (or earlier run on the same Temporal server) has used. */
  contactId(label: string): string {
    return `${label}-${randomUUID().slice(0, 8)}`;
  }

  async request<T = any>(method: string, path: string, body?: unknown, rawBody?: string): Promise<ApiResponse<T>> {
    return this.requestAs(this.adminKey, method, path, body, rawBody);
  }

  /** A request with this API key (null: none). */
  async requestAs<T = any>(key: string | null, method: string, path: string, body?: unknown, rawBody?: string): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = body !== undefined || rawBody !== undefined ? { 'content-type': 'application/json' } : {};
    if (key !== null) headers['authorization'] = `Bearer ${key}`;
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    const text = await response.text();
    // JSON answers parsed; any other (the /docs page) as text.
    const json = /\bjson\b/.test(response.headers.get('content-type') ?? 'application/json');
    return { status: response.status, body: text ? (json ? JSON.parse(text) : text) : undefined };
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
    let last: ConversationStatus | undefined;
    const probe = async () => {
      last = await this.conversation(contactId);
      return done(last) && last;
    };
    return waitUntil(`conversation ${contactId}`, probe, { timeoutMs, intervalMs: 100, detail: () => `last state: ${JSON.stringify(last)}` });
  }

  waitForState(contactId: string, state: ConversationStatus['state'], timeoutMs?: number) {
    return this.waitFor(contactId, (s) => s.state === state, timeoutMs);
  }

  /** GET /v1/contacts/{id}/messages: the transcript, oldest first; throws unless the API answers 200. */
  async transcript(contactId: string): Promise<TranscriptMessage[]> {
    const { status, body } = await this.request('GET', `/v1/contacts/${contactId}/messages`);
    if (status !== 200) throw new Error(`GET transcript ${contactId}: ${status} ${JSON.stringify(body)}`);
    return body.messages;
  }

  async openAssignments(agentId?: string): Promise<number> {
    const { rows } = await this.db.query(
      `SELECT count(*)::int AS n FROM assignments WHERE released_at IS NULL AND ($1::text IS NULL OR agent_id = $1)`,
      [agentId ?? null],
    );
    return rows[0].n;
  }

  /** The contact's latest run, or the run `runId` (an earlier conversation of the contact). */
  async recordHistory(contactId: string, name: string, runId?: string): Promise<void> {
    await recordHistoryFixture(this.client, this.codec, contactId, name, runId);
  }

  /** Tears everything down, then fails if a worker failed during the test (after the cleanup, so nothing leaks). */
  async close(): Promise<void> {
    let workerError: unknown;
    await this.stopWorker().catch((error: unknown) => (workerError = error));
    await this.api.inbox.stop();
    this.server.closeAllConnections();
    await new Promise((done) => this.server.close(done));
    await this.clientConnection.close();
    await this.workerConnection.close();
    await this.db.end();
    await this.releaseServers();
    if (workerError !== undefined) throw workerError;
  }
}

/**
 * With RECORD_HISTORIES=1, saves the run's history as a replay fixture under test/fixtures/histories, decrypted (the
 * test data is made up; the key is thrown away with the test). Its file is named after the scenario and the patches
 * the run went through (`vip-account-manager@local-steps.json`), so a workflow change behind a new patch adds a
 * fixture of its path; a fixture that exists is never written again: it stands for conversations recorded on
 * earlier code, which today's code must still replay.
 */
export async function recordHistoryFixture(client: Client, codec: PayloadCodec, contactId: string, name: string, runId?: string): Promise<void> {
  if (process.env['RECORD_HISTORIES'] !== '1') return;
  const history = await decodeHistoryPayloads(await client.workflow.getHandle(workflowIdForContact(contactId), runId).fetchHistory(), codec);
  const patches = (history.events ?? [])
    .filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')
    .map((e) => JSON.parse(Buffer.from(e.markerRecordedEventAttributes!.details!['patch-data']!.payloads![0]!.data!).toString('utf8')).id as string);
  const dir = join(__dirname, '..', 'fixtures', 'histories');
  const path = join(dir, `${name}${patches.length > 0 ? `@${[...new Set(patches)].sort().join('+')}` : ''}.json`);
  if (existsSync(path)) return;
  await mkdir(dir, { recursive: true });
  // historyToJSON, not JSON.stringify: proto Longs and timestamps need the proto JSON mapping, the same
  // shape Temporal UI exports.
  await writeFile(path, `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 1)}\n`);
}

export function testRouting(overrides: RoutingConfigInput = {}): RoutingConfig {
  const crm = overrides.crm ?? {};
  return parseRoutingConfig({
    ...overrides,
    crm: {
      // Generous: on a loaded 2-core CI the built-in directory (API, key check, PostgreSQL) can take seconds, and a
      // timed-out lookup would add a retry to paths the tests compare exactly. Tests of slowness set their own.
      timeout: 10_000,
      ...crm,
      retry: { maxAttempts: 4, initialInterval: 50, maxInterval: 200, ...crm.retry },
    },
  });
}
