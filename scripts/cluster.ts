import path from 'node:path';
import { parseArgs } from 'node:util';
import { startCluster } from '../tools/cluster/cluster';

const USAGE = `usage: npm run cluster -- [--dir .data/cluster] [--workers 2] [--apis 2]

Runs the production topology on this machine: one PostgreSQL (Temporal's persistence and visibility, and the app's
database), Temporal's frontend, history, matching and worker services as four processes (the server is built once
with Go into the cache), the default namespace, and vip-router's worker and API entries as separate processes.
Ctrl-C stops everything; the data stays in --dir.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string', default: path.join('.data', 'cluster') },
      workers: { type: 'string', default: '2' },
      apis: { type: 'string', default: '2' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return console.log(USAGE);
  const log = (line: string) => console.error(`[cluster] ${line}`);
  const cluster = await startCluster({ dir: path.resolve(values.dir!), workers: Number(values.workers), apis: Number(values.apis), log });
  console.log(`
  Temporal frontend  ${cluster.temporal.address} (4 service processes; logs in ${path.resolve(values.dir!, 'temporal')})
  Temporal UI        ${cluster.uiUrl} (mTLS to the frontend; payloads decoded through the first API)
  vip-router APIs    ${cluster.apis.map((api) => api.url).join('  ')}
  vip-router workers ${cluster.workers.length} processes
  Admin API key      ${cluster.adminKey.slice(0, 7)}… (whole in ${path.resolve(values.dir!, 'admin-key')})
  Ctrl-C stops everything; data stays in ${path.resolve(values.dir!)}
`);
  await new Promise<void>((stop) => {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  log('stopping');
  await cluster.stop();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
