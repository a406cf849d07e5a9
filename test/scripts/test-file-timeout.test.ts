/**
 * `npm test` cancels a test file that runs past its timeout and fails the run, so a hang cannot stall CI.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runNpmTest } from '../support/npm-test';

const runTests = (dir: string, timeout: string) => runNpmTest(dir, { VIP_ROUTER_TEST_FILE_TIMEOUT: timeout, VIP_ROUTER_TEST_DURATIONS: join(dir, 'durations.json') });

describe('npm test: the per-file timeout', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'file-timeout-'));
    await writeFile(join(dir, 'hangs.test.ts'), "import { it } from 'node:test';\nit('never settles', () => new Promise(() => undefined));\n");
    await writeFile(join(dir, 'passes.test.ts'), "import { it } from 'node:test';\nit('settles', () => undefined);\n");
  });

  after(() => rm(dir, { recursive: true, force: true }));

  it('cancels a file that hangs past it, fails the run and still runs the other files', async () => {
    const run = await runTests(dir, '4s');
    assert.notEqual(run.code, 0, run.output);
    assert.match(run.output, /# cancelled 1/, run.output);
    assert.match(run.output, /# pass 1/, 'the file that does not hang still runs and passes');
    // Cancelled at the timeout, not after the nested run's own 180 s guard.
    assert.ok(run.ms < 120_000, `took ${run.ms} ms`);
  });

  it('refuses a timeout that is not a duration, before running anything', async () => {
    const run = await runTests(dir, 'soon');
    assert.equal(run.code, 1);
    assert.match(run.output, /VIP_ROUTER_TEST_FILE_TIMEOUT is not a duration: "soon"/);
  });
});
