import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import semver from 'semver';
import { REPO_ROOT } from '../../tools/repo';


/** `npm ci` on the oldest Node the project promises warns of no package that wants a newer one. */
describe('engines', () => {
  it('every installed package accepts the oldest Node that package.json promises', () => {
    const promised = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).engines.node as string;
    const oldest = semver.minVersion(promised)!.version;
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { engines?: { node?: string } | string[]; dev?: boolean; optional?: boolean }> };
    const refusing = Object.entries(lock.packages)
      .filter(([path, pkg]) => path !== '' && pkg.engines && !Array.isArray(pkg.engines) && pkg.engines.node)
      .filter(([, pkg]) => !semver.satisfies(oldest, (pkg.engines as { node: string }).node, { includePrerelease: true }))
      .map(([path, pkg]) => `${path.replace(/^node_modules\//, '')} wants node ${(pkg.engines as { node: string }).node}`);
    assert.deepEqual(refusing, [], `on Node ${oldest}`);
  });
});
