/**
 * `npm test` starts the slowest files first, by the durations earlier runs recorded (a file never measured counts as
 * slowest), and records each file's duration after the run for the next one.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type NestedRun, runNpmTest } from '../support/npm-test';

const ROOT = join(__dirname, '..', '..');

describe('npm test: the order of the files', () => {
  let dir: string;
  let run: NestedRun;
  let started: string[];
  let recorded: Record<string, number>;
  const key = (name: string) => relative(ROOT, join(dir, `${name}.test.ts`)).split(sep).join('/');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'test-order-'));
    const log = join(dir, 'started.log');
    // Each file notes when it starts, then holds its slot for a while; by name they would start in the opposite order.
    const holds = { 'a-new': 0, 'a-quick': 0, 'b-mid': 2_000, 'c-slow': 3_000 };
    for (const [name, ms] of Object.entries(holds)) {
      await writeFile(
        join(dir, `${name}.test.ts`),
        `import { appendFileSync } from 'node:fs';\nimport { it } from 'node:test';\nappendFileSync(${JSON.stringify(log)}, '${name}\\n');\n` +
          `it('holds its slot', () => new Promise((done) => setTimeout(done, ${ms})));\n`,
      );
    }
    const durations = join(dir, 'durations.json');
    await writeFile(durations, JSON.stringify({ [key('a-quick')]: 10, [key('b-mid')]: 30_000, [key('c-slow')]: 60_000 }));
    run = await runNpmTest(dir, { VIP_ROUTER_TEST_DURATIONS: durations });
    started = (await readFile(log, 'utf8')).trim().split('\n');
    recorded = JSON.parse(await readFile(durations, 'utf8'));
  });

  after(() => rm(dir, { recursive: true, force: true }));

  it('starts a file never measured and then the slowest, two at a time, the quickest last', () => {
    assert.equal(run.code, 0, run.output);
    assert.deepEqual([started.slice(0, 2).sort(), started.slice(2)], [['a-new', 'c-slow'], ['b-mid', 'a-quick']], run.output);
  });

  it("records every file's duration of this run for the next one", () => {
    assert.deepEqual(Object.keys(recorded).sort(), ['a-new', 'a-quick', 'b-mid', 'c-slow'].map(key));
    assert.ok(recorded[key('c-slow')]! >= 3_000 && recorded[key('c-slow')]! < 60_000, `c-slow measured ${recorded[key('c-slow')]} ms`);
    assert.ok(recorded[key('a-quick')]! < recorded[key('c-slow')]!, JSON.stringify(recorded));
    assert.match(run.output, /per file \(written to .*durations\.json\):\n +\d+\.\d s {2}.*c-slow\.test\.ts/);
  });
});
