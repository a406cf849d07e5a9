import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { writeFile } from 'node:fs/promises';
import { startEmbeddedPostgres } from '../../src/local/embedded-postgres';
import { resolveTemporalBinary } from '../../src/local/temporal-cli';
import { startTemporalDevServer } from '../../src/local/temporal-dev-server';
import { bundleRoutingWorkflows } from '../../src/temporal/workflow-bundle';
import { ROUTING_SEARCH_ATTRIBUTES } from '../../src/workflows/search-attributes';

/** What every test process shares: set by scripts/test.ts, or started on first use by a lone test file. */
export interface TestServers {
  temporalAddress: string;
  databaseUrl: string;
  workflowBundlePath: string;
}

const ENV = {
  temporal: 'VIP_TEST_TEMPORAL_ADDRESS',
  database: 'VIP_TEST_DATABASE_URL',
  bundle: 'VIP_TEST_WORKFLOW_BUNDLE',
} as const;

export async function startTestServers(log: (line: string) => void = () => undefined): Promise<TestServers & { stop(): Promise<void> }> {
  const scratch = await mkdtemp(join(tmpdir(), 'vip-router-test-'));
  const stops: Array<() => Promise<void>> = [];
  try {
    const [postgres, temporal, workflowBundlePath] = await Promise.all([
      startEmbeddedPostgres({ dataDir: join(scratch, 'postgres'), database: 'postgres' }),
      resolveTemporalBinary('cli', { log }).then((binary) => {
        if (binary.type !== 'existing-path') throw new Error('tests need the Temporal CLI binary (see scripts/ensure-temporal.ts)');
        return startTemporalDevServer({ binary: binary.path, log: () => undefined, searchAttributes: ROUTING_SEARCH_ATTRIBUTES });
      }),
      buildWorkflowBundle(join(scratch, 'workflow-bundle.js')),
    ]);
    stops.push(() => postgres.stop(), () => temporal.stop());
    return {
      temporalAddress: temporal.address,
      databaseUrl: postgres.url,
      workflowBundlePath,
      async stop() {
        for (const stop of stops.reverse()) await stop().catch(() => undefined);
        await rm(scratch, { recursive: true, force: true });
      },
    };
  } catch (error) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    throw error;
  }
}

export async function buildWorkflowBundle(path: string): Promise<string> {
  const { code } = await bundleRoutingWorkflows(quietLogger);
  await writeFile(path, code);
  return path;
}

export function exportTestServers(servers: TestServers): Record<string, string> {
  return { [ENV.temporal]: servers.temporalAddress, [ENV.database]: servers.databaseUrl, [ENV.bundle]: servers.workflowBundlePath };
}

let own: Promise<TestServers & { stop(): Promise<void> }> | undefined;
let users = 0;

/**
 * The servers of scripts/test.ts when it started them; otherwise this process starts its own on the
 * first call and stops them when the last user releases them.
 */
export async function acquireTestServers(): Promise<{ servers: TestServers; release(): Promise<void> }> {
  const temporalAddress = process.env[ENV.temporal];
  const databaseUrl = process.env[ENV.database];
  const workflowBundlePath = process.env[ENV.bundle];
  if (temporalAddress && databaseUrl && workflowBundlePath) {
    return { servers: { temporalAddress, databaseUrl, workflowBundlePath }, release: async () => undefined };
  }
  users++;
  own ??= startTestServers();
  const servers = await own;
  return {
    servers,
    async release() {
      if (--users === 0) {
        own = undefined;
        await servers.stop();
      }
    },
  };
}

export const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (message: string) => console.error(message),
};

/** A fresh, empty database on the shared server, so test files never see each other's rows. */
export async function createScratchDatabase(adminUrl: string): Promise<string> {
  const name = `vr_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
