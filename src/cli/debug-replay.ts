import { temporal } from '@temporalio/proto';
import { ReplayError, startDebugReplayer, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { parseEnv } from '../service/config';
import { createLogger } from '../observability/logger';
import { explainNondeterminism } from '../replay/divergence';
import { codecForHistory, type History, historySourceFromArgs, HistoryLoadError, loadHistory, operatorCodec, replayDataConverter } from '../replay/history-replay';
import { routeTemporalLogs } from '../temporal/runtime';

/** Set by Temporal's VS Code extension for the process it launches: its server hands out the history there. */
const EXTENSION_URL = 'TEMPORAL_DEBUGGER_PLUGIN_URL';

const USAGE = `usage:
  npm run debug-replay -- --file <history.json>                 replay once under a debugger (VS Code's JavaScript Debug Terminal, node --inspect)
  npm run debug-replay -- --workflow-id <id> [--run-id <id>]    the same, with the history fetched from the Temporal server

As the entry of Temporal's VS Code extension (.vscode/settings.json: "temporal.replayerEntrypoint": "src/cli/debug-replay.ts"),
it takes the history from the extension's panel and pauses at the workflow tasks marked there.`;

/**
 * A debug replayer: the workflows bundled from source (so breakpoints in src/workflows hold) and run in this thread.
 * The extension launches `node -r ts-node/register/transpile-only <entry>` with TEMPORAL_DEBUGGER_PLUGIN_URL set;
 * startDebugReplayer then fetches the history from it and reports each workflow task so the panel can pause there.
 * The history is fetched here first as well: an encrypted one needs the codec keys, and a missing key is said plainly.
 */
async function main(argv: string[]): Promise<number | 'started'> {
  const env = parseEnv();
  routeTemporalLogs(createLogger(process.env['LOG_LEVEL'] ? env.LOG_LEVEL : 'warn'));
  const workflowsPath = require.resolve('../workflows');
  const extension = process.env[EXTENSION_URL];
  if (extension) {
    const codec = await codecForHistory(await historyFromExtension(extension), operatorCodec(env));
    startDebugReplayer({ workflowsPath, dataConverter: replayDataConverter(codec) });
    return 'started';
  }

  const source = historySourceFromArgs(argv, USAGE);
  if (typeof source === 'number') return source;
  const { history, workflowId } = await loadHistory(source, env);
  const codec = await codecForHistory(history, operatorCodec(env));
  console.log(`replaying ${workflowId} (${history.events?.length ?? 0} events) from src/workflows: breakpoints there hold when a debugger is attached`);
  try {
    await Worker.runReplayHistory({ workflowsPath, dataConverter: replayDataConverter(codec) }, history, workflowId);
  } catch (error) {
    if (error instanceof DeterminismViolationError) {
      console.log(`does not replay on the current code: ${explainNondeterminism(error, history).sdkMessage}\n(npm run replay explains where)`);
      return 1;
    }
    if (!(error instanceof ReplayError)) throw error;
    console.log(`does not replay on the current code: a workflow task fails.\n  ${error.message}`);
    return 1;
  }
  console.log('replayed: the current code makes the same decisions');
  return 0;
}

async function historyFromExtension(baseUrl: string): Promise<History> {
  const response = await fetch(`${baseUrl}/history`).catch((error: Error) => {
    throw new HistoryLoadError(`cannot reach the VS Code extension at ${baseUrl}: ${error.message}`);
  });
  if (!response.ok) throw new HistoryLoadError(`the VS Code extension has no history to replay (${response.status}): load one in its panel`);
  return temporal.api.history.v1.History.decode(new Uint8Array(await response.arrayBuffer()));
}

main(process.argv.slice(2)).then(
  // startDebugReplayer ends the process itself once the replay is done.
  (code) => code !== 'started' && process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(2);
  },
);
