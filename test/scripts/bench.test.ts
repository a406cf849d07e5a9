import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../tools/repo';


/** `npm run bench -- --smoke`: the benchmark's whole path on its own servers, 20 conversations per arm. */
describe('npm run bench -- --smoke', () => {
  let out = '';
  after(() => (out ? rm(out, { recursive: true, force: true }) : undefined));

  it('runs every arm and prints the table, the ratio lines and the targets; writes JSON and an SVG chart', async () => {
    out = await mkdtemp(join(tmpdir(), 'vip-router-bench-smoke-'));
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/bench.ts', '--smoke', '--out', out], {
      cwd: REPO_ROOT,
      timeout: 300_000,
      maxBuffer: 16 * 2 ** 20,
    });
    for (const arm of ['E', 'M', 'D', 'S', 'W']) assert.match(stdout, new RegExp(`^\\| ${arm} \\| \\d+\\.\\d \\| \\d+ \\| \\d+ \\|`, 'm'), `a row for ${arm}`);
    for (const ratio of ['S/M throughput', 'S/M p99', 'D/M throughput', 'D/M p99', 'S/E throughput', 'S/M p99 at half of M']) {
      assert.match(stdout, new RegExp(`^${ratio.replace('/', '\\/')} \\d+\\.\\d\\d$`, 'm'), ratio);
    }
    assert.match(stdout, /^targets: S\/M throughput ≥ 1\.0 (met|NOT met); S\/M p99 ≤ 1\.0 (met|NOT met) \(at half of E\), (met|NOT met) \(at half of M\)$/m);

    const files = await readdir(out);
    const json = files.find((f) => f.endsWith('.json'));
    assert.ok(json && files.includes(json.replace(/\.json$/, '.svg')), `JSON and SVG written: ${files.join(', ')}`);
    const results = JSON.parse(await readFile(join(out, json), 'utf8')) as { rows: Array<{ arm: string; throughput: number; samples: number; events: number }> };
    assert.deepEqual(results.rows.map((r) => r.arm), ['E', 'M', 'D', 'S', 'W']);
    for (const row of results.rows) {
      assert.ok(row.throughput > 0, `${row.arm} ran`);
      assert.ok(row.samples > 0 && row.samples <= 20, `${row.arm}: ${row.samples} latency samples, at most 20`);
      assert.ok(row.events > 0, `${row.arm}: history events counted`);
    }
  });
});
