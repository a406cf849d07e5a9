import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { acquireTestServers, type TestServers } from '../support/servers';

const FIXTURES = join(__dirname, '..', 'fixtures', 'histories');
const SHIFTED = -3_600_000;

/**
 * A worker whose time-zone data differs from the one that recorded a run (a tzdata update between deploys): new
 * runs replay the same, since their shift times are read through a recorded local activity; runs recorded before
 * computed them in the workflow and can take another branch.
 */
describe('shift times and a change of time-zone data', () => {
  let servers: TestServers;
  let release: () => Promise<void>;
  let movedClock: string;
  before(async () => {
    ({ servers, release } = await acquireTestServers());
    // The same bundle, but every wall-clock reading an hour off: what another tzdata can do to a zone's rules.
    const code = readFileSync(servers.workflowBundlePath, 'utf8');
    movedClock = code.replace('format.formatToParts(instant)', `format.formatToParts(instant + ${SHIFTED})`);
    assert.notEqual(movedClock, code, 'the bundle reads wall clocks where this test expects');
  });
  after(() => release());

  const replay = (file: string) =>
    Worker.runReplayHistory({ workflowBundle: { code: movedClock } }, JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')), file);

  it('replays runs whose shift times were recorded, whatever the worker\'s time-zone data', async () => {
    const recorded = readdirSync(FIXTURES).filter((f) => f.startsWith('shift-') && f.includes('shift-times-recorded'));
    // Both scenarios, once for each later patch set they were recorded on.
    assert.ok(recorded.length >= 2 && recorded.length % 2 === 0, `the two shift scenarios: ${recorded.join(', ')}`);
    for (const file of recorded) await replay(file);
  });

  it('(why) a run recorded before, which computed them in the workflow, takes another branch on such a worker', async () => {
    await assert.rejects(replay('shift-ended-handover.json'), /nondeterminism/i);
  });
});
