import { Client, Connection } from '@temporalio/client';
import { syncAgentsNow } from '../temporal/agent-sync-schedule';
import { parseEnv } from '../service/config';
import { dataConverter, payloadCodec, temporalConnection } from '../service/compose';
import { temporalTarget } from './local';

/**
 * `npm run sync-agents`: imports respond.io's users as agents now, through the same workflow the Schedule runs,
 * and prints what changed. The worker does the import: it holds the respond.io token.
 */
async function main(): Promise<void> {
  const env = parseEnv();
  const target = await temporalTarget(env);
  // The keys of a deployment, or those `npm start` keeps in its data dir.
  const { codec } = await payloadCodec({ dataDir: env.VIP_ROUTER_DATA_DIR, generate: false });
  const connection = await Connection.connect(temporalConnection(env, target.temporalAddress));
  try {
    const client = new Client({ connection, namespace: target.namespace, dataConverter: dataConverter(codec) });
    const summary = await syncAgentsNow(client, target.taskQueue);
    console.log(
      `${summary.users} users in respond.io: ${summary.added.length} added, ${summary.updated.length} updated, ` +
        `${summary.removed.length} removed (offline), ${summary.restored.length} back, ${summary.unchanged} unchanged`,
    );
    for (const [what, ids] of Object.entries({ added: summary.added, updated: summary.updated, removed: summary.removed, back: summary.restored })) {
      if (ids.length > 0) console.log(`  ${what}: ${ids.join(', ')}`);
    }
    if (summary.emailConflicts.length > 0) console.log(`  emails already held by another agent, left as they were: ${summary.emailConflicts.join(', ')}`);
  } finally {
    await connection.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
