import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Where `npm start` tells the local commands (`npm run api-key`, `npm run sync-agents`) what it runs. */
export interface LocalRuntime {
  pid: number;
  databaseUrl: string;
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  apiUrl: string;
}

const FILE = 'runtime.json';

export async function writeLocalRuntime(dataDir: string, runtime: LocalRuntime): Promise<() => Promise<void>> {
  const path = join(dataDir, FILE);
  await writeFile(path, `${JSON.stringify(runtime, null, 2)}\n`, { mode: 0o600 });
  return () => rm(path, { force: true });
}

/** The running `npm start`'s runtime, if one is running on this data dir. */
export async function readLocalRuntime(dataDir: string): Promise<LocalRuntime | undefined> {
  let runtime: LocalRuntime;
  try {
    runtime = JSON.parse(await readFile(join(dataDir, FILE), 'utf8')) as LocalRuntime;
  } catch {
    return undefined;
  }
  try {
    process.kill(runtime.pid, 0);
    return runtime;
  } catch {
    return undefined;
  }
}
