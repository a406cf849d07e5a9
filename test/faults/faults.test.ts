import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { ALL_CASES } from '../support/faults/cases';
import { runFaultSuite, type SuiteRun } from '../support/faults/suite';

/**
 * The fault suite at CI sizes (`npm run test:faults -- --short` prints the same table): the service as real
 * processes — PostgreSQL and the Temporal dev server killed -9 and restarted, workers SIGKILLed, an API killed
 * mid-request, a failing CRM, messages and webhook events delivered twice, two workers and two APIs racing for few
 * agents — and every conversation ends with nothing lost, duplicated or stranded, in the state its inputs call for.
 * FAULTS_SEED replays a failed run's random choices (the seed is printed).
 */
describe('fault suite (short)', { timeout: 15 * 60_000 }, () => {
  const seed = process.env['FAULTS_SEED'] ? Number(process.env['FAULTS_SEED']) : Math.floor(Math.random() * 2 ** 31);
  const log: string[] = [];
  let run: SuiteRun;

  before(async () => {
    run = await runFaultSuite({ short: true, seed, log: (line) => log.push(`${new Date().toISOString()} ${line}`) });
    console.log(`# fault suite, seed ${seed}\n${run.markdown.replace(/^/gm, '# ')}`);
    if (run.kept) console.log(`# data and process logs kept in ${run.dir}`);
  });

  for (const faultCase of ALL_CASES) {
    it(`${faultCase.id}: ${faultCase.title}: nothing lost, duplicated or stranded, everyone as expected`, () => {
      const result = run.results.find((r) => r.name === faultCase.id);
      assert.ok(result, `case ${faultCase.id} did not run`);
      const context = `seed ${seed}\n${result.problems.join('\n')}\n${result.notes.join('\n')}\n--- log ---\n${log.join('\n')}`;
      assert.ok(result.started > 0, `no conversation was started\n${context}`);
      assert.deepEqual(
        { lost: result.lost, duplicated: result.duplicated, stranded: result.stranded, notAsExpected: result.unexpected, crashes: result.crashes, problems: result.problems },
        { lost: 0, duplicated: 0, stranded: 0, notAsExpected: 0, crashes: 0, problems: [] },
        context,
      );
    });
  }
});
