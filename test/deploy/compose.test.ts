/**
 * docker-compose.yml against the official Compose Specification schema (fetched from the Go module proxy, see
 * test/support/compose-schema.ts), plus the deployment semantics the schema cannot express.
 *
 *   node --import tsx --test test/deploy/compose.test.ts
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { before, describe, it } from 'node:test';

import type { ErrorObject, ValidateFunction } from 'ajv';
import { parseDocument } from 'yaml';

import {
  COMPOSE_GO_VERSION,
  compileComposeValidator,
  downloadComposeSchema,
  type ComposeSchema,
} from '../support/compose-schema';

// ---------------------------------------------------------------- types (shape guaranteed by the schema check)

type EnvValue = string | number | boolean | null;
interface PortObject {
  published?: string | number;
  target?: string | number;
}
interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  environment?: Record<string, EnvValue> | string[];
  ports?: Array<string | number | PortObject>;
  depends_on?: string[] | Record<string, { condition: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  volumes?: Array<string | { source?: string; target?: string }>;
}
interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

// ---------------------------------------------------------------- helpers

function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'vip-router') {
      return dir;
    }
    if (dirname(dir) === dir) throw new Error(`no vip-router package.json above ${start}`);
  }
}

const ROOT = findRepoRoot(__dirname);
const COMPOSE_PATH = join(ROOT, 'docker-compose.yml');

function loadComposeYaml(): Record<string, unknown> {
  const doc = parseDocument(readFileSync(COMPOSE_PATH, 'utf8'), { merge: true, prettyErrors: true });
  assert.deepEqual(doc.errors.map(String), [], 'docker-compose.yml is not valid YAML');
  assert.deepEqual(doc.warnings.map(String), [], 'docker-compose.yml has YAML warnings');
  return doc.toJS() as Record<string, unknown>;
}

/** Compose variable interpolation (the subset of the spec: $$, $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}, ${VAR:+r}, ${VAR+r}). */
function interpolate(value: unknown, env: Record<string, string>, where = ''): unknown {
  if (typeof value === 'string') {
    return value.replace(
      /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
      (_m, dollar: string | undefined, name: string | undefined, op: string | undefined, arg: string | undefined, bare: string | undefined) => {
        if (dollar) return '$';
        const key = (name ?? bare) as string;
        const v = env[key];
        const unset = v === undefined;
        const empty = unset || v === '';
        switch (op) {
          case undefined:
            return v ?? '';
          case ':-':
            return empty ? (arg ?? '') : (v as string);
          case '-':
            return unset ? (arg ?? '') : (v as string);
          case ':?':
            if (empty) throw new Error(`${where}: required variable ${key} is missing a value: ${arg ?? ''}`);
            return v as string;
          case '?':
            if (unset) throw new Error(`${where}: required variable ${key} is missing: ${arg ?? ''}`);
            return v as string;
          case ':+':
            return empty ? '' : (arg ?? '');
          case '+':
            return unset ? '' : (arg ?? '');
          default:
            throw new Error(`${where}: unsupported interpolation ${op}`);
        }
      },
    );
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolate(item, env, `${where}[${i}]`));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, interpolate(v, env, `${where}.${k}`)]),
    );
  }
  return value;
}

function formatErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`).join('\n');
}

function environmentOf(service: Service): Record<string, EnvValue> {
  const env = service.environment ?? {};
  if (!Array.isArray(env)) return env;
  return Object.fromEntries(
    env.map((entry) => {
      const eq = entry.indexOf('=');
      return eq < 0 ? [entry, null] : [entry.slice(0, eq), entry.slice(eq + 1)];
    }),
  );
}

function dependenciesOf(service: Service): Record<string, { condition: string }> {
  const deps = service.depends_on ?? {};
  if (!Array.isArray(deps)) return deps;
  return Object.fromEntries(deps.map((name) => [name, { condition: 'service_started' }]));
}

function hasHealthcheck(service: Service): boolean {
  const hc = service.healthcheck;
  if (!hc || hc.disable === true || hc.test === undefined) return false;
  const test = Array.isArray(hc.test) ? hc.test : [hc.test];
  return test[0] !== 'NONE';
}

/** Published→target pairs, from the short ("[ip:]published:target[/proto]") or the long port syntax. */
function publishedPorts(service: Service): Array<{ published: string; target: string }> {
  return (service.ports ?? []).map((port) => {
    if (typeof port === 'object') return { published: String(port.published ?? ''), target: String(port.target ?? '') };
    const parts = String(port).replace(/\/(tcp|udp)$/, '').split(':');
    const target = parts.at(-1) ?? '';
    const published = parts.length >= 2 ? (parts.at(-2) ?? '') : '';
    return { published, target };
  });
}

function commandOf(service: Service): string {
  return Array.isArray(service.command) ? service.command.join(' ') : (service.command ?? '');
}

const SECRET_NAME = /PASSWORD|PASSWD|PWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY/i;
/** A value that is exactly one interpolation of a variable, with no default. */
const PURE_REQUIRED_OR_PLAIN_INTERPOLATION = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::?\?[^}]*)?\}$/;

/** Every problem with hard-coded secrets in one service's environment. */
function hardCodedSecrets(serviceName: string, service: Service): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(environmentOf(service))) {
    if (value === null) continue; // passed through from the host environment
    const text = String(value);
    if (SECRET_NAME.test(key) && !PURE_REQUIRED_OR_PLAIN_INTERPOLATION.test(text)) {
      problems.push(`${serviceName}.${key} = ${JSON.stringify(text)} is not taken from the environment`);
    }
    // Credentials inside URLs: scheme://user:password@host
    for (const match of text.matchAll(/[a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:([^@\s]+)@/gi)) {
      const password = match[1] ?? '';
      if (!PURE_REQUIRED_OR_PLAIN_INTERPOLATION.test(password)) {
        problems.push(`${serviceName}.${key} embeds a literal password in a URL`);
      }
    }
    // Secrets must never get a literal fallback (${POSTGRES_PASSWORD:-changeme}).
    for (const match of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*):?-([^}]+)\}/g)) {
      if (SECRET_NAME.test(match[1] ?? '')) {
        problems.push(`${serviceName}.${key} gives secret ${match[1]} the literal default ${JSON.stringify(match[2])}`);
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------- tests

/** What `docker compose` refuses to start without. */
const REQUIRED_SECRETS: Record<string, string> = {
  POSTGRES_PASSWORD: 'pg-superuser',
  VIP_ROUTER_DB_PASSWORD: 'app-db',
  VIP_ROUTER_CODEC_KEYS: 'k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
  VIP_ROUTER_UI_CODEC_KEY: 'ui-codec-key-0123456789abcdef',
};

describe('docker-compose.yml', () => {
  let schema: ComposeSchema;
  let validate: ValidateFunction;
  let raw: Record<string, unknown>;
  let compose: ComposeFile;
  let fetchMs = 0;

  before(async () => {
    const started = performance.now();
    schema = await downloadComposeSchema();
    fetchMs = performance.now() - started;
    validate = compileComposeValidator(schema);
    raw = loadComposeYaml();
    compose = raw as unknown as ComposeFile;
  });

  describe('Compose Specification schema (compose-go ' + COMPOSE_GO_VERSION + ')', () => {
    it('is the real schema, fetched from the Go module proxy', (t) => {
      t.diagnostic(`${schema.module}@${schema.version} (${schema.sum}) in ${fetchMs.toFixed(0)} ms`);
      t.diagnostic(`schema: ${schema.path}`);
      t.diagnostic(`dialect: ${schema.dialect}`);
      assert.equal(schema.version, COMPOSE_GO_VERSION);
      assert.equal(schema.schema.title, 'Compose Specification');
      assert.ok(schema.path.includes('compose-go'), schema.path);
      assert.ok(!schema.path.startsWith(ROOT), 'the schema must come from the module cache, not from this repo');
      // Ajv reports a real validator, not a pass-everything stub.
      assert.equal(validate({ services: { web: { image: 'nginx:1.27' } } }), true, formatErrors(validate.errors));
    });

    it('accepts docker-compose.yml as written', () => {
      assert.equal(validate(raw), true, formatErrors(validate.errors));
    });

    it('accepts docker-compose.yml after variable interpolation (what docker compose validates)', () => {
      const interpolated = interpolate(raw, { ...REQUIRED_SECRETS, POSTGRES_PASSWORD: 'test-superuser-pw', VIP_ROUTER_DB_PASSWORD: 'test-app-pw' });
      assert.equal(validate(interpolated), true, formatErrors(validate.errors));
    });

    it('rejects a broken copy: ports as a number', () => {
      const broken = structuredClone(raw) as unknown as ComposeFile;
      (broken.services.api as unknown as Record<string, unknown>).ports = 3000;
      assert.equal(validate(broken), false, 'services.api.ports = 3000 must fail validation');
      assert.match(formatErrors(validate.errors), /\/services\/api\/ports/);
    });

    it('rejects a broken copy: an unknown top-level key', () => {
      const broken = { ...structuredClone(raw), servicez: {} };
      assert.equal(validate(broken), false, 'an unknown top-level key must fail validation');
      assert.ok(
        (validate.errors ?? []).some((e) => e.keyword === 'additionalProperties' && e.params.additionalProperty === 'servicez'),
        formatErrors(validate.errors),
      );
    });

    it('rejects a broken copy: an invalid depends_on condition', () => {
      const broken = structuredClone(raw) as unknown as ComposeFile;
      broken.services.worker!.depends_on = { temporal: { condition: 'service_ready' } };
      assert.equal(validate(broken), false, 'condition: service_ready must fail validation');
      assert.match(formatErrors(validate.errors), /\/services\/worker\/depends_on/);
    });
  });

  describe('deployment semantics', () => {
    it('has the five services', () => {
      assert.deepEqual(Object.keys(compose.services).sort(), ['api', 'postgres', 'temporal', 'temporal-ui', 'worker']);
    });

    it('depends_on targets exist and wait for health where a healthcheck exists', () => {
      const problems: string[] = [];
      for (const [name, service] of Object.entries(compose.services)) {
        for (const [target, { condition }] of Object.entries(dependenciesOf(service))) {
          const dep = compose.services[target];
          if (!dep) problems.push(`${name} depends on unknown service ${target}`);
          else if (hasHealthcheck(dep) && condition !== 'service_healthy') {
            problems.push(`${name} → ${target}: condition ${condition}, expected service_healthy`);
          }
        }
      }
      assert.deepEqual(problems, []);
    });

    it('every service an app process talks to has a healthcheck, and the app waits for it', () => {
      for (const name of ['postgres', 'temporal', 'api']) {
        assert.ok(hasHealthcheck(compose.services[name]!), `${name} has no healthcheck`);
      }
      for (const name of ['worker', 'api']) {
        const deps = dependenciesOf(compose.services[name]!);
        assert.equal(deps.postgres?.condition, 'service_healthy', `${name} → postgres`);
        assert.equal(deps.temporal?.condition, 'service_healthy', `${name} → temporal`);
      }
      assert.equal(dependenciesOf(compose.services.temporal!).postgres?.condition, 'service_healthy');
      assert.equal(dependenciesOf(compose.services['temporal-ui']!).temporal?.condition, 'service_healthy');
    });

    it('no service hard-codes a secret', () => {
      const problems = Object.entries(compose.services).flatMap(([name, service]) => hardCodedSecrets(name, service));
      assert.deepEqual(problems, []);
      // Self-check of the detector: each known-bad value is caught, the accepted forms are not.
      const bad: Array<Record<string, EnvValue>> = [
        { POSTGRES_PASSWORD: 'hunter2' },
        { DATABASE_URL: 'postgres://u:hunter2@db/x' },
        { LOG_LEVEL: 'x-${API_TOKEN:-dev}' },
        { WEBHOOK_SECRET: '${WEBHOOK_SECRET:-dev}' },
        { DB_PWD: '${DB_PWD:?set it}-suffix' },
      ];
      for (const environment of bad) {
        assert.notDeepEqual(hardCodedSecrets('bad', { environment }), [], JSON.stringify(environment));
      }
      const good = {
        POSTGRES_PASSWORD: '${POSTGRES_PASSWORD:?set it}',
        WEBHOOK_SECRET: null,
        DATABASE_URL: 'postgres://u:${DB_PASSWORD}@db/x',
      };
      assert.deepEqual(hardCodedSecrets('good', { environment: good }), []);
    });

    it('worker and api get every secret from the environment, and fail fast when it is missing', () => {
      for (const name of ['worker', 'api']) {
        const env = environmentOf(compose.services[name]!);
        assert.match(String(env.DATABASE_URL), /^postgres:\/\/vip_router:\$\{VIP_ROUTER_DB_PASSWORD:\?[^}]*\}@postgres:5432\/vip_router$/);
        assert.equal(env.OUTBOUND_WEBHOOK_SECRET, null, `${name}: OUTBOUND_WEBHOOK_SECRET is passed through, never set here`);
      }
      for (const missing of Object.keys(REQUIRED_SECRETS)) {
        const rest = Object.fromEntries(Object.entries(REQUIRED_SECRETS).filter(([name]) => name !== missing));
        assert.throws(() => interpolate(raw, rest), new RegExp(missing), `fails fast without ${missing}`);
      }
      for (const name of ['worker', 'api']) {
        const env = environmentOf(compose.services[name]!);
        for (const passed of ['VIP_ROUTER_BOOTSTRAP_API_KEY', 'RESPONDIO_API_TOKEN', 'RESPONDIO_WEBHOOK_SIGNING_KEYS']) {
          assert.equal(env[passed], null, `${name}: ${passed} is passed through, never set here`);
        }
      }
    });

    it('worker and api get the configuration variables the app reads', () => {
      const expected = [
        'TEMPORAL_ADDRESS',
        'TEMPORAL_NAMESPACE',
        'TEMPORAL_TASK_QUEUE',
        'DATABASE_URL',
        'ROUTING_CONFIG',
        'OUTBOUND_WEBHOOK_URL',
        'OUTBOUND_WEBHOOK_SECRET',
        'LOG_LEVEL',
        'VIP_ROUTER_API_URL',
        'VIP_ROUTER_CODEC_KEYS',
        'VIP_ROUTER_CODEC_CORS_ORIGINS',
        'RESPONDIO_API_TOKEN',
        'RESPONDIO_WEBHOOK_SIGNING_KEYS',
      ];
      for (const name of ['worker', 'api']) {
        const env = environmentOf(compose.services[name]!);
        for (const key of expected) assert.ok(key in env, `${name} lacks ${key}`);
        assert.equal(env.TEMPORAL_ADDRESS, 'temporal:7233');
      }
      assert.equal(String(environmentOf(compose.services.api!).PORT), '3000');
      const resolved = interpolate(raw, { ...REQUIRED_SECRETS, POSTGRES_PASSWORD: 'a', VIP_ROUTER_DB_PASSWORD: 'b' }) as ComposeFile;
      const env = environmentOf(resolved.services.worker!);
      assert.equal(env.TEMPORAL_NAMESPACE, 'default');
      assert.equal(env.TEMPORAL_TASK_QUEUE, 'vip-router');
      assert.equal(env.ROUTING_CONFIG, 'config/routing.yaml');
      assert.equal(env.DATABASE_URL, 'postgres://vip_router:b@postgres:5432/vip_router');
      assert.equal(env.VIP_ROUTER_API_URL, 'http://api:3000', 'the worker reaches the directory through the api service');
      assert.equal(env.VIP_ROUTER_SEED_DEMO, '0', 'no demo data in production');
    });

    it('publishes the API on 3000 and the Temporal UI on 8233, nothing else', () => {
      assert.deepEqual(publishedPorts(compose.services.api!), [{ published: '3000', target: '3000' }]);
      assert.deepEqual(publishedPorts(compose.services['temporal-ui']!), [{ published: '8233', target: '8080' }]);
      for (const name of ['postgres', 'temporal', 'worker']) {
        assert.deepEqual(publishedPorts(compose.services[name]!), [], `${name} must not publish ports`);
      }
    });

    it('the api healthcheck probes /readyz with node (no curl in the slim image)', () => {
      const test = compose.services.api!.healthcheck?.test;
      assert.ok(Array.isArray(test), 'exec-form healthcheck');
      assert.deepEqual(test.slice(0, 3), ['CMD', 'node', '-e']);
      assert.match(test[3] ?? '', /fetch\('http:\/\/(localhost|127\.0\.0\.1):3000\/readyz'\)/);
    });

    it('worker and api build from the Dockerfile and run the compiled entry points', () => {
      for (const [name, entry] of [
        ['worker', 'node dist/src/worker.js'],
        ['api', 'node dist/src/api/server.js'],
      ] as const) {
        const service = compose.services[name]!;
        const build = typeof service.build === 'string' ? { context: service.build } : service.build;
        assert.ok(build, `${name} has no build`);
        const dockerfile = resolve(ROOT, build.context ?? '.', build.dockerfile ?? 'Dockerfile');
        assert.equal(dockerfile, join(ROOT, 'Dockerfile'), `${name} builds ${dockerfile}`);
        assert.ok(existsSync(dockerfile) && statSync(dockerfile).isFile(), `${dockerfile} is missing`);
        assert.equal(commandOf(service), entry);
        assert.equal(service.image, undefined, `${name}: built locally, no image name to pull`);
      }
      const replicas = (compose.services.worker as { deploy?: { replicas?: number } }).deploy?.replicas ?? 1;
      assert.ok(replicas >= 1, 'worker replicas');
    });

    it('the Dockerfile is the multi-stage node:20-bookworm-slim build the compose file expects', () => {
      const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
      assert.match(text, /node:20-bookworm-slim/);
      assert.equal((text.match(/^FROM\s/gm) ?? []).length, 2, 'a build and a runtime stage');
      assert.match(text, /npm ci\b/);
      assert.match(text, /npm run build\b/);
      assert.match(text, /npm prune --omit=dev\b/);
      assert.match(text, /^USER node$/m);
      assert.match(text, /^CMD \["node", "dist\/src\/api\/server\.js"\]$/m);
      assert.ok(existsSync(join(ROOT, '.dockerignore')), '.dockerignore is missing');
    });

    it('third-party images are pinned to a version tag', () => {
      for (const [name, service] of Object.entries(compose.services)) {
        if (service.build) continue;
        const image = service.image ?? '';
        const tag = /:([^/@]+)(@sha256:[0-9a-f]{64})?$/.exec(image)?.[1];
        assert.ok(tag && tag !== 'latest', `${name}: image ${image} is not pinned`);
      }
      assert.equal(compose.services.postgres!.image, 'postgres:16');
      assert.match(compose.services.temporal!.image ?? '', /^temporalio\/auto-setup:1\.(2[5-9]|[3-9]\d)\.\d+$/);
      assert.match(compose.services['temporal-ui']!.image ?? '', /^temporalio\/ui:\d+\.\d+\.\d+$/);
    });

    it('Temporal persists to the postgres service; the app has its own database, created by the mounted init script', () => {
      const temporal = environmentOf(compose.services.temporal!);
      assert.equal(temporal.DB, 'postgres12');
      assert.equal(temporal.POSTGRES_SEEDS, 'postgres');
      assert.equal(String(temporal.DB_PORT), '5432');
      assert.equal(temporal.DBNAME, 'temporal');
      assert.equal(temporal.VISIBILITY_DBNAME, 'temporal_visibility');
      assert.match(String(temporal.POSTGRES_PWD), /^\$\{POSTGRES_PASSWORD:\?/);

      const postgres = compose.services.postgres!;
      const mount = (postgres.volumes ?? [])
        .map((v) => (typeof v === 'string' ? v.split(':') : [v.source ?? '', v.target ?? '']))
        .find(([, target]) => target === '/docker-entrypoint-initdb.d');
      assert.ok(mount, 'postgres mounts nothing on /docker-entrypoint-initdb.d');
      const initDir = resolve(ROOT, mount[0] ?? '');
      const scripts = readdirSync(initDir).filter((f) => /\.(sh|sql)$/.test(f));
      assert.ok(scripts.length > 0, `${initDir} has no init script`);
      const script = scripts.map((f) => readFileSync(join(initDir, f), 'utf8')).join('\n');
      assert.match(script, /CREATE DATABASE vip_router/);
      assert.doesNotMatch(script, /PASSWORD\s+'[^']+'/i, 'the init script must not contain a literal password');
      assert.ok('postgres-data' in (compose.volumes ?? {}), 'postgres data lives in a named volume');
    });
  });
});
