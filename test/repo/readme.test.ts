import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { parseEnv } from '../../src/service/config';
import { resolveTemporalBinaryWithAttempts, temporalCacheDir } from '../../src/local/temporal-cli';
import { parseRoutingConfig } from '../../src/domain/routing-config';
import { CODEC_KEYS_ENV, CODEC_KEYS_FILE_ENV, generateCodecKey, loadCodecKeys } from '../../src/security/codec';
import { Harness } from '../support/harness';
import { REPO_ROOT } from '../../tools/repo';

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

/** The text of a `## heading` section, up to the next `## `. */
function section(heading: string): string {
  const start = readme.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `the README has a "## ${heading}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** The cells of a section's table rows (header and separator left out). */
function tableRows(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('| ') && !/^\|[-| ]+\|$/.test(line))
    .slice(1)
    .map((line) => line.slice(1, -1).split(' | ').map((cell) => cell.trim()));
}

const backticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

/**
 * Whether the service's env schema (src/service/config.ts, with the Temporal connection fragment) knows the variable: it
 * keeps what it knows and drops the rest, and it names a variable it knows when the value is wrong.
 */
function envSchemaKnows(name: string): boolean {
  try {
    return name in parseEnv({ [name]: 'x' });
  } catch (error) {
    return (error as Error).message.includes(`- ${name}:`);
  }
}

/** Variables read outside the env schema, each with a check that the code does read it. */
const readElsewhere: Record<string, () => Promise<boolean>> = {
  [CODEC_KEYS_ENV]: async () => (await loadCodecKeys({ env: { [CODEC_KEYS_ENV]: generateCodecKey('readme') }, generate: false })).source === 'env',
  [CODEC_KEYS_FILE_ENV]: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'readme-codec-'));
    try {
      await writeFile(join(dir, 'keys'), `${generateCodecKey('readme')}\n`);
      return (await loadCodecKeys({ env: { [CODEC_KEYS_FILE_ENV]: join(dir, 'keys') }, generate: false })).source === 'file';
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
  VIP_ROUTER_CACHE_DIR: async () =>
    temporalCacheDir({ VIP_ROUTER_CACHE_DIR: '/somewhere/else' }) === '/somewhere/else' && temporalCacheDir({}) === join(homedir(), '.cache', 'vip-router'),
  TEMPORAL_CLI_PATH: async () => usesBinaryFrom('cli', 'TEMPORAL_CLI_PATH'),
  TEMPORAL_TEST_SERVER_PATH: async () => usesBinaryFrom('test-server', 'TEMPORAL_TEST_SERVER_PATH'),
};

async function usesBinaryFrom(kind: 'cli' | 'test-server', name: string): Promise<boolean> {
  // Any executable will do: the variable is taken as is, before PATH and the cache are looked at.
  const { binary, attempts } = await resolveTemporalBinaryWithAttempts(kind, { env: { [name]: process.execPath, PATH: '' } });
  return binary.type === 'existing-path' && binary.path === process.execPath && attempts[0]?.route === `env ${name}`;
}

/** The variables the env schema declares, from its source; each is confirmed against parseEnv before it counts. */
function envSchemaVariables(): string[] {
  const names = new Set<string>();
  for (const file of ['src/service/config.ts', 'src/temporal/connection.ts']) {
    for (const match of readFileSync(join(REPO_ROOT, file), 'utf8').matchAll(/^ {2}([A-Z][A-Z0-9_]*): /gm)) names.add(match[1]!);
  }
  return [...names].filter(envSchemaKnows).sort();
}

/** What the README says of the code must be so: its tables, commands and examples are checked against the code. */
describe('README', () => {
  it('shows a routing config example the service accepts', () => {
    const example = readme.match(/```yaml\n([\s\S]*?)```/)?.[1];
    assert.ok(example, 'the README has a yaml example');
    const config = parseRoutingConfig(parse(example));
    assert.deepEqual(config.tiers.map((t) => t.name), ['vip', 'gold']);
    assert.equal(config.teams['support']?.nextShiftTeam, 'support-americas');
  });

  describe('the Configuration table', () => {
    const rows = tableRows(section('Configuration')).map(([names = '', defaults = '']) => ({ names: backticked(names), defaults }));
    const documented = rows.flatMap((row) => row.names);

    it('lists only variables the service reads', async () => {
      assert.ok(documented.length > 20, `the table was found: ${documented.join(', ')}`);
      const unread: string[] = [];
      for (const name of documented) {
        if (envSchemaKnows(name)) continue;
        if (!(await readElsewhere[name]?.())) unread.push(name);
      }
      assert.deepEqual(unread, [], 'documented, but nothing in the service reads them');
    });

    it('lists every variable the env schema accepts', () => {
      const schema = envSchemaVariables();
      assert.ok(schema.includes('PORT') && schema.includes('TEMPORAL_API_KEY'), `the schema was found: ${schema.join(', ')}`);
      assert.deepEqual(schema.filter((name) => !documented.includes(name)), [], 'accepted by the service, missing from the README');
    });

    it('gives the defaults the env schema applies', () => {
      const checked: string[] = [];
      for (const { names, defaults } of rows) {
        const values = defaults.split(' / ');
        if (values.length !== names.length) continue;
        names.forEach((name, i) => {
          const value = backticked(values[i]!)[0];
          // Documented defaults that are not one literal (`—`, `http://127.0.0.1:$PORT`) are computed elsewhere.
          if (value === undefined || value.includes('$') || !envSchemaKnows(name)) return;
          assert.deepEqual(parseEnv({})[name as keyof ReturnType<typeof parseEnv>], parseEnv({ [name]: value })[name as keyof ReturnType<typeof parseEnv>], `${name} defaults to ${value}`);
          checked.push(name);
        });
      }
      assert.ok(checked.length >= 10, `defaults checked: ${checked.join(', ')}`);
    });
  });

  describe('the HTTP API table', () => {
    let h: Harness;
    before(async () => {
      h = await Harness.start();
    });
    after(() => h.close());

    const documented = tableRows(section('HTTP API (v1)')).flatMap(([route = '']) =>
      backticked(route)
        .map((text) => text.match(/^(GET|POST|PUT|PATCH|DELETE) (\/\S*)$/))
        .filter((m): m is RegExpMatchArray => m !== null)
        .map((m) => ({ method: m[1]!, path: m[2]!.replace(/\?.*$/, '') })),
    );
    const isUnknownRoute = (response: { status: number; body: any }) =>
      response.status === 404 && /^no route for /.test(response.body?.error?.message ?? '');

    it('names only routes the API serves', async () => {
      assert.ok(documented.length >= 15, `the table was found: ${JSON.stringify(documented)}`);
      // The probe can tell: a route the API does not have gets the unknown-route answer.
      assert.ok(isUnknownRoute(await h.request('DELETE', '/v1/agents/readme-probe', {})));
      const missing: string[] = [];
      for (const { method, path } of documented) {
        const concrete = path.replace(/\{email\}/g, encodeURIComponent('readme@example.com')).replace(/\{[^}]+\}/g, 'readme-probe');
        // An empty body: refused by validation (or 404 for an unknown id) where the route exists, nothing started.
        if (isUnknownRoute(await h.request(method, concrete, method === 'GET' ? undefined : {}))) missing.push(`${method} ${path}`);
      }
      assert.deepEqual(missing, [], 'documented, but the API answers "no route"');
    });

    it('names every route the API serves', () => {
      // Express's own route table: each router's routes, under the path it is mounted at.
      const served: string[] = [];
      const walk = (stack: any[], prefix: string) => {
        for (const layer of stack) {
          if (layer.route) for (const method of Object.keys(layer.route.methods)) served.push(`${method.toUpperCase()} ${prefix}${layer.route.path}`);
          else if (layer.handle?.stack) walk(layer.handle.stack, layer.rawPath && layer.rawPath !== '/' ? prefix + layer.rawPath : prefix);
        }
      };
      walk((h.api.app as any).router.stack, '');
      assert.ok(served.includes('GET /healthz') && served.includes('POST /v1/conversations'), `the routes were found: ${served.join(', ')}`);
      const normalize = (route: string) => route.replace(/\{[^}]+\}|:[A-Za-z]+/g, ':param');
      const inTable = new Set(documented.map(({ method, path }) => normalize(`${method} ${path}`)));
      const undocumented = served
        .filter((route) => !inTable.has(normalize(route)))
        // Temporal UI's codec endpoint: the same protocol with its key in the path, documented as /codec/ui/<key>.
        .filter((route) => !(route.startsWith('POST /codec/ui/:key/') && readme.includes('/codec/ui/<key>')));
      assert.deepEqual(undocumented, [], 'served by the API, missing from the README');
    });
  });

  it('names only npm scripts that exist', () => {
    const scripts = Object.keys((JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts);
    const named = new Set([...readme.matchAll(/\bnpm (start|test)\b|\bnpm run (?:-s )?([a-z][\w:-]*)/g)].map((m) => m[1] ?? m[2]!));
    assert.ok(named.has('start') && named.has('test') && named.has('api-key'), `the commands were found: ${[...named].join(', ')}`);
    assert.deepEqual([...named].filter((name) => !scripts.includes(name)), [], 'named in the README, missing from package.json');
  });
});
