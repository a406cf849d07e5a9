import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { DefaultLogger } from '@temporalio/worker';
import { bundleRoutingWorkflows } from '../src/temporal/workflow-bundle';

const USAGE = 'usage: tsx scripts/bundle-workflows.ts <outPath>';

/** Prebuilds the workflow bundle so the production worker never runs webpack at start-up. */
async function main(): Promise<void> {
  const outArg = process.argv[2];
  if (!outArg) throw new Error(USAGE);
  const outPath = resolve(outArg);
  const { code, summary } = await bundleRoutingWorkflows(new DefaultLogger('WARN', ({ message }) => console.error(message)));
  await mkdir(dirname(outPath), { recursive: true });
  await writeFile(outPath, code);
  console.log(`${summary} → ${relative(process.cwd(), outPath)}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
