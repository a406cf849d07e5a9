import { ensureChromium } from '../test/support/chromium';

/** `tsx scripts/ensure-chromium.ts`: finds Chromium for the browser tests, installing Debian's package as root. */
ensureChromium((line) => console.error(line)).then(
  (path) => console.log(`chromium\t${path}`),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
