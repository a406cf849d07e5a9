import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Harness } from '../support/harness';
import { envWithout, STEERING_VARS, TEST_RUNNER_VARS } from '../support/processes';
import { launch } from '../../src/local/processes';
import { REPO_ROOT } from '../../tools/repo';


/** `npm run api-key`: keys made, listed and revoked from the command line, against the service's database. */
describe('npm run api-key', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start();
  });
  after(() => h.close());

  const apiKey = async (...args: string[]) => {
    const proc = launch('api-key', process.execPath, ['--import', 'tsx', 'src/cli/api-key.ts', ...args], { cwd: REPO_ROOT, env: {
      ...envWithout([...STEERING_VARS, ...TEST_RUNNER_VARS]),
      DATABASE_URL: h.databaseUrl,
    } });
    const exit = await proc.exited;
    return { code: exit.code, output: proc.output() };
  };

  it('creates a key of a scope, prints it once, lists it without the key, and revokes it', async () => {
    const created = await apiKey('create', '--scope', 'read', '--name', 'dashboard');
    assert.equal(created.code, 0, created.output);
    const key = /\n\s+(vr_\S+)\n/.exec(created.output)?.[1];
    const id = /created (key_\w+)/.exec(created.output)?.[1];
    assert.ok(key && id, created.output);
    assert.equal((await h.requestAs(key, 'GET', '/v1/agents')).status, 200);
    assert.equal((await h.requestAs(key, 'PATCH', '/v1/agents/nobody', { online: true })).status, 403, 'read scope only');

    const listed = await apiKey('list');
    assert.equal(listed.code, 0);
    assert.match(listed.output, new RegExp(`${id}\\tread\\tactive\\tlast used [^\\t]+\\tdashboard`));
    assert.ok(!listed.output.includes(key), 'a listing never shows a key');

    const revoked = await apiKey('revoke', id!);
    assert.equal(revoked.code, 0, revoked.output);
    assert.equal((await h.requestAs(key, 'GET', '/v1/agents')).status, 401);
    assert.match((await apiKey('list')).output, new RegExp(`${id}\\tread\\trevoked`));
  });

  it('creates a metrics key for Prometheus: /metrics and nothing else', async () => {
    const created = await apiKey('create', '--scope', 'metrics', '--name', 'prometheus');
    assert.equal(created.code, 0, created.output);
    const key = /\n\s+(vr_\S+)\n/.exec(created.output)?.[1];
    assert.ok(key, created.output);
    assert.equal((await h.requestAs(key, 'GET', '/metrics')).status, 200);
    for (const path of ['/v1/agents', '/v1/contacts/anyone/messages', '/v1/conversations/anyone']) {
      assert.equal((await h.requestAs(key, 'GET', path)).status, 403, path);
    }
  });

  it('explains its usage and exits 2 on a wrong command line, touching nothing', async () => {
    const count = async () => (await h.db.query(`SELECT count(*)::int AS n FROM api_keys`)).rows[0].n;
    const before = await count();
    for (const args of [[], ['create'], ['create', '--scope', 'root'], ['revoke'], ['rotate']]) {
      const { code, output } = await apiKey(...args);
      assert.equal(code, 2, `${args.join(' ')}: ${output}`);
      assert.match(output, /usage:/);
    }
    assert.equal(await count(), before, 'no key made');
  });
});
