import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { formatDivergence } from '../../src/replay/divergence';
import { type LoadedHistory, loadHistoryFile, replayDataConverter, replayHistory } from '../../src/replay/history-replay';
import { EARLY_EMAIL, LOCAL_ACTIVITIES, MESSAGES_AFTER_ROUTING, MIRROR_TO_PLATFORM } from '../../src/workflows/patches';
import { acquireTestServers, type TestServers } from '../support/servers';

const FIXTURES = join(__dirname, '..', 'fixtures', 'histories');

/**
 * Histories recorded from real runs (`npm run record-histories`) must replay on today's workflow code:
 * a change that would break in-flight conversations fails here and needs `patched()`. Each is loaded and replayed
 * the way `npm run replay --file` does it (its loader and data converter), all of them once, by one replay worker;
 * test/cli/replay.test.ts runs the command itself.
 */
describe('replay of recorded histories', () => {
  let servers: TestServers;
  let release: () => Promise<void>;
  before(async () => {
    ({ servers, release } = await acquireTestServers());
  });
  after(() => release());

  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).sort();

  it('has recorded histories to replay', () => {
    assert.ok(files.length >= 5, `expected recorded histories in ${FIXTURES}, found ${files.length}`);
  });

  it('records each patched() change: runs since a change carry its marker (and say so in their name), runs before it none', () => {
    const markers = (file: string) => [
      ...new Set(
        (JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')).events as Array<Record<string, any>>)
          .filter((e) => e['markerRecordedEventAttributes']?.markerName === 'core_patch')
          .map((e) => JSON.parse(Buffer.from(e['markerRecordedEventAttributes'].details['patch-data'].payloads[0].data, 'base64').toString('utf8')).id as string),
      ),
    ];
    for (const file of files.filter((f) => f.includes('@'))) {
      assert.deepEqual(markers(file).sort(), file.slice(file.indexOf('@') + 1, -'.json'.length).split('+'), `${file} names its patches`);
    }
    const mirrored = files.filter((f) => f.startsWith('respondio-'));
    assert.ok(mirrored.length >= 5);
    for (const file of mirrored) assert.ok(markers(file).includes(MIRROR_TO_PLATFORM), `${file} has the ${MIRROR_TO_PLATFORM} marker`);
    const earlyEmail = files.find((f) => f.startsWith('early-email-used@'))!;
    assert.ok(markers(earlyEmail).includes(EARLY_EMAIL));
    assert.ok(markers(earlyEmail).includes(MESSAGES_AFTER_ROUTING));
    assert.ok(files.filter((f) => markers(f).includes(LOCAL_ACTIVITIES)).length >= 25, 'every scenario recorded on local steps too');
    // Conversations recorded before any of these changes: they replay below without taking the new paths.
    assert.ok(files.filter((f) => markers(f).length === 0).length >= 25);
  });

  /** Each fixture's replay, in the order of `files`: undefined when the code made the same decisions. */
  let loaded: LoadedHistory[];
  let errors: Array<Error | undefined>;
  before(async () => {
    loaded = await Promise.all(files.map((file) => loadHistoryFile(join(FIXTURES, file))));
    const workerOptions = { dataConverter: replayDataConverter(), workflowBundle: { codePath: servers.workflowBundlePath } };
    errors = [];
    for await (const result of Worker.runReplayHistories(workerOptions, loaded)) errors.push(result.error);
  });

  files.forEach((file, i) => {
    it(`replays ${file} deterministically`, async () => {
      const { history, workflowId } = loaded[i]!;
      if (!errors[i]) return;
      // Only for a failure: where the code decides differently, as npm run replay would say it.
      const verdict = await replayHistory(history, { workflowId, workflowBundlePath: servers.workflowBundlePath });
      assert.fail(verdict.outcome === 'nondeterministic' ? formatDivergence(workflowId, history, verdict.divergence) : errors[i]!.message);
    });
  });
});
