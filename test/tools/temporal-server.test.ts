import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveTemporalServer, resolveTemporalUi, TEMPORAL_SERVER_VERSION, TEMPORAL_UI_SERVER_VERSION } from '../../tools/cluster/temporal-server';

/**
 * How the pinned Go programs are found before anything is built: the env variables, then the cache, and one error
 * naming every route when none serves (no Go on PATH here, so nothing is built). The build itself runs in
 * test/tools/cluster (npm run test:cluster).
 */
describe('finding the pinned Go binaries (Temporal server, SQL tool, Temporal UI server)', () => {
  let dir: string;
  let executable: string;
  let plain: string;
  const noGo = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ PATH: join(dir, 'empty-path'), VIP_ROUTER_CACHE_DIR: join(dir, 'cache'), ...extra });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vip-router-go-binaries-'));
    await mkdir(join(dir, 'empty-path'));
    executable = join(dir, 'prebuilt');
    plain = join(dir, 'not-executable');
    await writeFile(executable, '#!/bin/sh\n');
    await chmod(executable, 0o755);
    await writeFile(plain, '');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('takes the binaries the env variables name', async () => {
    const parts = await resolveTemporalServer(undefined, noGo({ TEMPORAL_SERVER_PATH: executable, TEMPORAL_SQL_TOOL_PATH: executable }));
    assert.deepEqual(parts, { server: executable, sqlTool: executable });
    assert.equal(await resolveTemporalUi(undefined, noGo({ TEMPORAL_UI_SERVER_PATH: executable })), executable);
  });

  it('takes them from the cache, per pinned version', async () => {
    const bin = join(dir, 'cache', `temporal-ui-server-${TEMPORAL_UI_SERVER_VERSION}`, 'bin');
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, 'ui-server'), '#!/bin/sh\n', { mode: 0o755 });
    const lines: string[] = [];
    assert.equal(await resolveTemporalUi((line) => lines.push(line), noGo()), join(bin, 'ui-server'));
    assert.match(lines.join('\n'), /using .*ui-server/);
  });

  it('fails once, naming every route tried and why, when none serves', async () => {
    await assert.rejects(resolveTemporalServer(undefined, noGo({ TEMPORAL_SERVER_PATH: executable })), (error: Error) => {
      const lines = error.message.split('\n');
      assert.match(lines[0]!, new RegExp(`cannot find or build the Temporal server ${TEMPORAL_SERVER_VERSION}; tried:`));
      assert.match(lines[1]!, /TEMPORAL_SERVER_PATH \+ TEMPORAL_SQL_TOOL_PATH: TEMPORAL_SQL_TOOL_PATH not set/);
      assert.match(lines[2]!, new RegExp(`temporal-server-${TEMPORAL_SERVER_VERSION}: not built yet`));
      assert.match(lines[3]!, /building with Go: no Go toolchain on PATH/);
      return true;
    });
    await assert.rejects(
      resolveTemporalUi(undefined, noGo({ TEMPORAL_UI_SERVER_PATH: plain, VIP_ROUTER_CACHE_DIR: join(dir, 'other-cache') })),
      new RegExp(`TEMPORAL_UI_SERVER_PATH: TEMPORAL_UI_SERVER_PATH=${plain} is not an executable file\\n.*not built yet\\n.*no Go toolchain on PATH`),
    );
  });
});
