import { ensurePromtool } from '../test/support/promtool';

/** `tsx scripts/ensure-promtool.ts`: finds promtool for the metrics lint test, installing Debian's prometheus package as root. */
ensurePromtool((line) => console.error(line)).then(
  (path) => console.log(`promtool\t${path}`),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
