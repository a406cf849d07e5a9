import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { findFreePort } from '../../src/local/ports';
import { resolveTemporalBinary } from '../../src/local/temporal-cli';
import { TEMPORAL_DEPLOY_DIR } from '../../tools/cluster/temporal-cluster';
import { acquireTestServers } from '../support/servers';

const execFileAsync = promisify(execFile);

/**
 * deploy/temporal/create-namespace.sh, which docker-compose.yml's namespace job and `npm run cluster` both run,
 * against the test run's Temporal server: it registers the namespace and the search attributes, keeps them on a
 * second run, and gives up, saying so, when no frontend answers.
 */
describe('deploy/temporal/create-namespace.sh', () => {
  let release: () => Promise<void>;
  let address: string;
  let cli: string;
  const namespace = `script-${randomUUID().slice(0, 8)}`;

  before(async () => {
    const acquired = await acquireTestServers();
    release = acquired.release;
    address = acquired.servers.temporalAddress;
    const binary = await resolveTemporalBinary('cli');
    assert.equal(binary.type, 'existing-path');
    cli = binary.type === 'existing-path' ? binary.path : '';
  });
  after(async () => release?.());

  const run = (env: Record<string, string>) =>
    execFileAsync('sh', [join(TEMPORAL_DEPLOY_DIR, 'create-namespace.sh')], {
      env: { PATH: process.env['PATH'], HOME: process.env['HOME'], TEMPORAL_CLI: cli, TEMPORAL_NAMESPACE: namespace, ...env },
      timeout: 60_000,
    });
  const attributes = 'ScriptKeyword=Keyword,ScriptFlag=Bool';

  it('registers the namespace and the search attributes', async () => {
    const { stdout } = await run({ TEMPORAL_ADDRESS: address, TEMPORAL_SEARCH_ATTRIBUTES: attributes });
    assert.match(stdout, new RegExp(`temporal namespace ${namespace}: registered`));
    assert.match(stdout, /search attribute ScriptKeyword \(Keyword\): registered/);
    assert.match(stdout, /search attribute ScriptFlag \(Bool\): registered/);
    const { stdout: listed } = await execFileAsync(cli, ['operator', 'search-attribute', 'list', '--namespace', namespace, '--address', address, '--output', 'json']);
    const custom = JSON.stringify(JSON.parse(listed));
    assert.ok(custom.includes('ScriptKeyword') && custom.includes('ScriptFlag'), custom);
  });

  it('keeps what is there on a second run', async () => {
    const { stdout } = await run({ TEMPORAL_ADDRESS: address, TEMPORAL_SEARCH_ATTRIBUTES: attributes });
    assert.match(stdout, new RegExp(`temporal namespace ${namespace}: kept`));
    assert.match(stdout, /search attribute ScriptKeyword \(Keyword\): registered/);
  });

  it('fails on a name already registered with another type', async () => {
    const failed = await run({ TEMPORAL_ADDRESS: address, TEMPORAL_SEARCH_ATTRIBUTES: 'ScriptKeyword=Int' }).then(
      () => assert.fail('the script was expected to fail'),
      (error: { code?: number; stderr?: string }) => error,
    );
    // Failed for that reason: the CLI's refusal of the conflicting type, not any error on the way.
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.stderr ?? '', /search attribute ScriptKeyword already exists and has different type Keyword/);
  });

  it('fails, naming the address, when no frontend answers', async () => {
    const nobody = `127.0.0.1:${await findFreePort()}`;
    const failed = await run({ TEMPORAL_ADDRESS: nobody, TEMPORAL_READY_TIMEOUT: '2' }).then(
      () => assert.fail('the script was expected to fail'),
      (error: { code?: number; stderr?: string }) => error,
    );
    assert.equal(failed.code, 1);
    assert.match(failed.stderr ?? '', new RegExp(`temporal frontend at ${nobody} not serving after 2 s`));
  });

  it('fails on a search attribute type the server does not know', async () => {
    const failed = await run({ TEMPORAL_ADDRESS: address, TEMPORAL_SEARCH_ATTRIBUTES: 'ScriptOdd=NoSuchType' }).then(
      () => assert.fail('the script was expected to fail'),
      (error: { code?: number; stderr?: string }) => error,
    );
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.stderr ?? '', /invalid argument "NoSuchType" for "--type" flag/);
  });
});
