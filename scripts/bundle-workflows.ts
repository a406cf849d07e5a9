import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { ROUTING_BUNDLE } from '../src/service';

const USAGE = 'usage: tsx scripts/bundle-workflows.ts <outPath>';

/** Prebuilds the workflow bundle so the production worker never runs webpack at start-up. */
async function main(): Promise<void> {
  const outArg = process.argv[2];
  if (!outArg) throw new Error(USAGE);
  const outPath = resolve(outArg);
  const { code } = await bundleWorkflowCode(ROUTING_BUNDLE);
  await mkdir(dirname(outPath), { recursive: true });
  await writeFile(outPath, code);
  console.log(`workflow bundle written to ${outPath} (${Buffer.byteLength(code)} bytes)`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
