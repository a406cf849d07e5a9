import { execFile } from 'node:child_process';
import { access, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../tools/repo';

const execFileAsync = promisify(execFile);

/**
 * The main that landed last (2026-11-28): the code running in production when this checkout is deployed. Move it
 * forward when a release lands, so the rolling-upgrade test always upgrades from the release before.
 */
export const PREVIOUS_RELEASE = '2f584e9cbb4659c9a6303860be29ac7a0e189da7';

/**
 * The source of `commit` (src, config, tsconfig.json, package.json) unpacked into `dir` from this repository's
 * history, run with this checkout's node_modules. A dependency the release needs and this checkout dropped stays in
 * devDependencies while that release is the previous one (postgres-migrations: the release before node-pg-migrate);
 * a missing one fails here, by name, instead of as a worker that cannot start.
 *
 * `withoutPatches` takes changes out of it: each `patched(NAME)` in src/workflows/features.ts becomes `false`, which
 * is the code as it was before that patch was made (a patch keeps the old path beside the new one). The release then
 * stands for one made before those changes, so the upgrade exercises them on runs in flight.
 */
export async function checkoutRelease(commit: string, dir: string, withoutPatches: string[] = []): Promise<string> {
  await ensureCommit(commit);
  const archive = join(dir, 'release.tar');
  await execFileAsync('git', ['-C', REPO_ROOT, 'archive', '--format=tar', '-o', archive, commit, 'src', 'config', 'tsconfig.json', 'package.json']);
  await execFileAsync('tar', ['-xf', archive, '-C', dir]);
  await symlink(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  await assertDependenciesInstalled(commit, dir);
  const features = join(dir, 'src', 'workflows', 'features.ts');
  let source = await readFile(features, 'utf8');
  for (const patch of withoutPatches) {
    const call = `patched(${patch})`;
    if (!source.includes(call)) throw new Error(`${commit.slice(0, 7)}: src/workflows/features.ts does not call ${call}`);
    source = source.replaceAll(call, 'false');
  }
  await writeFile(features, source);
  return dir;
}

/** Every runtime dependency of the release resolves from this checkout's node_modules. */
async function assertDependenciesInstalled(commit: string, dir: string): Promise<void> {
  const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const missing: string[] = [];
  for (const name of Object.keys(manifest.dependencies ?? {})) {
    await access(join(dir, 'node_modules', name, 'package.json')).catch(() => missing.push(name));
  }
  if (missing.length > 0) {
    throw new Error(`the previous release ${commit.slice(0, 7)} needs ${missing.join(', ')}, which this checkout does not install: keep them in devDependencies while it is the previous release`);
  }
}

/** The commit in this clone's history; a shallow clone fetches it from its origin, or the error says what to do. */
async function ensureCommit(commit: string): Promise<void> {
  const present = () => execFileAsync('git', ['-C', REPO_ROOT, 'cat-file', '-e', `${commit}^{commit}`]).then(() => true, () => false);
  if (await present()) return;
  await execFileAsync('git', ['-C', REPO_ROOT, 'fetch', '--quiet', '--depth', '1', 'origin', commit]).catch(() => undefined);
  if (!(await present())) {
    throw new Error(`the previous release ${commit} is not in this clone's history (a shallow clone?) and could not be fetched from origin: run \`git fetch --unshallow\``);
  }
}
