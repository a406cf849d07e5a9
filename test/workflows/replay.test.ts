import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { acquireTestServers, type TestServers } from '../support/servers';

const FIXTURES = join(__dirname, '..', 'fixtures', 'histories');

/**
 * Histories recorded from real runs (`npm run record-histories`) must replay on today's workflow code:
 * a change that would break in-flight conversations fails here and needs `patched()`.
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

  for (const file of files) {
    it(`replays ${file} deterministically`, async () => {
      const history = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8'));
      await Worker.runReplayHistory({ workflowBundle: { codePath: servers.workflowBundlePath } }, history, file);
    });
  }
});
