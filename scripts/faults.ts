import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runFaultSuite } from '../test/support/faults/suite';

const USAGE = `usage: npm run test:faults -- [--short] [--seed N] [--case ID]… [--out FILE] [--keep]

Runs the service as real processes (PostgreSQL, the Temporal dev server, 2 workers, 2 APIs, CRM and respond.io
stand-ins), injects the faults of each case and prints one table: conversations started, assigned, queued,
escalated, closed, lost, duplicated, stranded, not as expected. Exit code 1 when anything was lost, duplicated,
stranded or not as expected.

  --short      the CI sizes (also FAULTS_SHORT=1)
  --seed N     replay a run's random choices (printed with the table)
  --case ID    only this case (repeatable): worker-sigkill, dev-server-kill9, postgres-kill9, crm-faults, api-kill,
               duplicate-delivery, race-2x2
  --out FILE   where the table is written (default: $TMPDIR/vip-router-faults-report.md)
  --keep       keep the run's data and process logs even when everything passed`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      short: { type: 'boolean', default: process.env['FAULTS_SHORT'] === '1' },
      seed: { type: 'string' },
      case: { type: 'string', multiple: true },
      out: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer\n${USAGE}`);
  const started = Date.now();
  const log = (line: string) => console.error(`[faults +${((Date.now() - started) / 1000).toFixed(0)}s] ${line}`);
  log(`seed ${seed}, ${values.short ? 'short' : 'full'} sizes`);
  const run = await runFaultSuite({ short: values.short, seed, only: values.case, log, keep: values.keep });
  const out = resolve(values.out ?? join(tmpdir(), 'vip-router-faults-report.md'));
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, run.markdown);
  console.log(run.markdown);
  console.log(`table written to ${out}`);
  if (run.kept) console.log(`data and process logs kept in ${run.dir}`);
  return run.passed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
