import { parseEnv } from '../service/config';
import { createLogger } from '../observability/logger';
import { formatDivergence } from '../replay/divergence';
import { codecForHistory, historySourceFromArgs, HistoryLoadError, loadHistory, operatorCodec, replayHistory } from '../replay/history-replay';
import { routeTemporalLogs } from '../temporal/runtime';

const USAGE = `usage:
  npm run replay -- --workflow-id <id> [--run-id <id>]   a run's history, from the Temporal server (TEMPORAL_ADDRESS, or npm start's)
  npm run replay -- --file <history.json>                a history downloaded from Temporal UI or written by temporal workflow show -o json

Replays the history on the current workflow code. Exit 0: the code makes the same decisions; 1: it decides
differently (a nondeterminism) or fails while replaying; 2: a wrong command line, or the history cannot be loaded.
Encrypted histories need their codec keys: VIP_ROUTER_CODEC_KEYS, or the data dir's file that npm start keeps.`;

/** `npm run replay`: does a recorded conversation still replay on today's workflow code, and if not, where not. */
async function main(argv: string[]): Promise<number> {
  const source = historySourceFromArgs(argv, USAGE);
  if (typeof source === 'number') return source;
  const env = parseEnv();
  // The SDK's own lines (bundling, the failed workflow task) would bury the verdict; LOG_LEVEL brings them back.
  routeTemporalLogs(createLogger(process.env['LOG_LEVEL'] ? env.LOG_LEVEL : 'error'));
  try {
    const { history, workflowId } = await loadHistory(source, env);
    const codec = await codecForHistory(history, operatorCodec(env));
    const verdict = await replayHistory(history, { workflowId, codec });
    const events = history.events?.length ?? 0;
    switch (verdict.outcome) {
      case 'same':
        console.log(`replayed ${workflowId} (${events} events): the current code makes the same decisions`);
        return 0;
      case 'nondeterministic':
        console.log(formatDivergence(workflowId, history, verdict.divergence));
        return 1;
      case 'failed':
        console.log(`${workflowId} (${events} events) does not replay on the current code: a workflow task fails.\n  ${verdict.message}`);
        return 1;
    }
  } catch (error) {
    if (error instanceof HistoryLoadError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(2);
  },
);
