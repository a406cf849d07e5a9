import {
  resolveTemporalBinaryWithAttempts,
  type TemporalBinaryKind,
} from '../src/infra/temporal-cli';

const USAGE = 'usage: tsx scripts/ensure-temporal.ts [cli|test-server|all]';

function kindsFrom(arg: string | undefined): TemporalBinaryKind[] {
  switch (arg ?? 'all') {
    case 'cli':
      return ['cli'];
    case 'test-server':
      return ['test-server'];
    case 'all':
      return ['cli', 'test-server'];
    default:
      throw new Error(USAGE);
  }
}

async function main(): Promise<void> {
  const log = (msg: string) => console.error(msg);
  for (const kind of kindsFrom(process.argv[2])) {
    const { binary } = await resolveTemporalBinaryWithAttempts(kind, { log });
    console.log(`${kind}\t${binary.type === 'existing-path' ? binary.path : 'sdk-download'}`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
