/**
 * deploy/kubernetes/ against the published Kubernetes JSON schemas in strict mode (kubernetes-validate's, pinned;
 * see test/support/kubernetes-schema.ts), plus the deployment semantics the schemas cannot express.
 *
 *   node --import tsx --test test/deploy/kubernetes.test.ts
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';

import type { Client } from '@temporalio/client';
import { parseAllDocuments, parseDocument } from 'yaml';

import { createApp } from '../../src/api/app';
import { envSchema, parseEnv } from '../../src/service/config';
import type { Db } from '../../src/db/pool';
import { createLogger } from '../../src/observability/logger';
import { parseRoutingConfig } from '../../src/domain/routing-config';
import { ApiKeys } from '../../src/security/api-key-tokens';
import { CODEC_KEYS_ENV, CODEC_KEYS_FILE_ENV } from '../../src/security/codec';
import { serveWorkerMetrics } from '../../src/worker';
import {
  formatErrors,
  installKubernetesSchemas,
  KUBERNETES_VALIDATE_VERSION,
  KUBERNETES_VERSION,
  kubernetesValidator,
  runKubernetesValidateCli,
  type DocumentResult,
  type KubernetesDocument,
  type KubernetesSchemas,
} from '../support/kubernetes-schema';
import { REPO_ROOT } from '../../tools/repo';

// ---------------------------------------------------------------- types (shape guaranteed by the schema check)

interface Metadata {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface KeyRef {
  name: string;
  key: string;
  optional?: boolean;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: KeyRef; configMapKeyRef?: KeyRef; fieldRef?: unknown; resourceFieldRef?: unknown };
}
interface Probe {
  httpGet?: { path?: string; port: number | string };
  tcpSocket?: { port: number | string };
  exec?: unknown;
  grpc?: unknown;
  timeoutSeconds?: number;
}
interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  command?: string[];
  args?: string[];
  ports?: Array<{ name?: string; containerPort: number }>;
  env?: EnvVar[];
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string }; prefix?: string }>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[] } };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  terminationGracePeriodSeconds?: number;
  enableServiceLinks?: boolean;
  automountServiceAccountToken?: boolean;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  volumes?: Array<{ name: string; secret?: { secretName: string; optional?: boolean }; emptyDir?: object; configMap?: { name: string } }>;
}
interface Deployment {
  kind: 'Deployment';
  metadata: Metadata;
  spec: { replicas?: number; selector: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] }; template: { metadata: Metadata; spec: PodSpec } };
}
interface Service {
  kind: 'Service';
  metadata: Metadata;
  spec: { selector?: Record<string, string>; ports: Array<{ name?: string; port: number; targetPort?: number | string }> };
}
interface PodDisruptionBudget {
  kind: 'PodDisruptionBudget';
  metadata: Metadata;
  spec: { minAvailable?: number | string; maxUnavailable?: number | string; selector?: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] } };
}
interface ConfigMap {
  kind: 'ConfigMap';
  metadata: Metadata;
  data?: Record<string, string>;
}
interface Secret {
  kind: 'Secret';
  metadata: Metadata;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}
interface Kustomization {
  apiVersion: string;
  kind: string;
  resources?: string[];
  secretGenerator?: unknown[];
  configMapGenerator?: unknown[];
  images?: Array<{ name: string; newName?: string; newTag?: string }>;
  [key: string]: unknown;
}
interface Manifest {
  file: string;
  index: number;
  doc: KubernetesDocument;
}

// ---------------------------------------------------------------- helpers

const DIR = join(REPO_ROOT, 'deploy', 'kubernetes');
const KUSTOMIZATION = 'kustomization.yaml';
const SECRET_EXAMPLE = 'secret.example.yaml';
const SECRET_NAME = 'vip-router';
const CONFIG_MAP_NAME = 'vip-router';
/** Each Deployment's own client certificate: no two components share one. */
const TLS_SECRET_NAMES = { worker: 'vip-router-worker-tls', api: 'vip-router-api-tls' } as const;

/**
 * Every document of a YAML file, read as YAML 1.2 (this repository's parser) and as YAML 1.1 (kubectl's and
 * PyYAML's): the two must agree, so a value such as `0440` (octal in 1.1, decimal in 1.2) or `yes` cannot mean one
 * thing here and another to the cluster.
 */
function readYaml(text: string, file: string): KubernetesDocument[] {
  const read = (version: '1.1' | '1.2') =>
    parseAllDocuments(text, { version, prettyErrors: true }).flatMap((doc) => {
      assert.deepEqual(doc.errors.map(String), [], `${file} is not valid YAML ${version}`);
      assert.deepEqual(doc.warnings.map(String), [], `${file} has YAML ${version} warnings`);
      const value = doc.toJS() as KubernetesDocument | null;
      return value === null ? [] : [value];
    });
  const docs = read('1.2');
  assert.deepEqual(read('1.1'), docs, `${file} reads differently as YAML 1.1 (kubectl) and 1.2`);
  return docs;
}

function loadYaml(file: string): KubernetesDocument[] {
  return readYaml(readFileSync(join(DIR, file), 'utf8'), file);
}

function loadKustomization(): Kustomization {
  const [kustomization, ...rest] = loadYaml(KUSTOMIZATION);
  assert.equal(rest.length, 0, 'kustomization.yaml holds one document');
  return kustomization as unknown as Kustomization;
}

function manifestsOf(files: string[]): Manifest[] {
  return files.flatMap((file) => loadYaml(file).map((doc, index) => ({ file, index, doc })));
}

function loadCompose(): { services: Record<string, { command?: string[]; stop_grace_period?: string }> } {
  const doc = parseDocument(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });
  assert.deepEqual(doc.errors.map(String), []);
  return doc.toJS() as { services: Record<string, { command?: string[]; stop_grace_period?: string }> };
}

function one<T extends { kind: string; metadata: Metadata }>(docs: KubernetesDocument[], kind: T['kind'], name: string): T {
  const found = docs.filter((doc) => doc.kind === kind && (doc.metadata as Metadata | undefined)?.name === name);
  assert.equal(found.length, 1, `exactly one ${kind} ${name} among the kustomization's resources`);
  return found[0] as unknown as T;
}

function ofKind<T>(docs: KubernetesDocument[], kind: string): T[] {
  return docs.filter((doc) => doc.kind === kind) as unknown as T[];
}

/** A matchLabels selector selects a pod when every label it names is the pod's. */
function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

function containerPort(container: Container, port: number | string): number | undefined {
  if (typeof port === 'number') return container.ports?.some((p) => p.containerPort === port) ? port : undefined;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/** Kubernetes quantities of memory, in bytes (the binary and decimal suffixes). */
function bytes(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity);
  assert.ok(match, `not a memory quantity: ${quantity}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[match[2] ?? ''] ?? 1;
  return Number(match[1]) * unit;
}

/** What the app reads from its environment: src/service/config.ts's schema, the payload codec's two names, and NODE_ENV (Express's). */
const KNOWN_ENV = new Set([...Object.keys(envSchema.shape), CODEC_KEYS_ENV, CODEC_KEYS_FILE_ENV, 'NODE_ENV']);
/** Names whose values are secrets: they must come from the Secret, never from a value or the ConfigMap. */
const SECRET_LIKE = /KEY|TOKEN|SECRET|PASSWORD|DATABASE_URL/;
/** TEMPORAL_TLS_KEY names a file path (in the mounted TLS Secret), not key material. */
const SECRET_LIKE_PATHS = new Set(['TEMPORAL_TLS_KEY']);
/** README, Performance, "Waiting at scale": one worker's RSS with 10,000 conversations waiting (VIP_ROUTER_WORKFLOW_CACHE=1000). */
const WORKER_RSS_AT_10K_WAITING = 767 * 2 ** 20;

// ---------------------------------------------------------------- tests

describe('deploy/kubernetes', () => {
  let schemas: KubernetesSchemas;
  let validate: (doc: KubernetesDocument) => DocumentResult;
  let installMs = 0;
  let kustomization: Kustomization;
  let resourceFiles: string[];
  /** The documents `kubectl apply -k` applies. */
  let resources: KubernetesDocument[];
  /** Those and secret.example.yaml: everything the schemas check. */
  let manifests: Manifest[];
  let worker: Deployment;
  let api: Deployment;
  let configMap: ConfigMap;
  let secretExample: Secret;

  before(async () => {
    const started = performance.now();
    schemas = await installKubernetesSchemas((msg) => console.error(msg));
    installMs = performance.now() - started;
    validate = kubernetesValidator(schemas);
    kustomization = loadKustomization();
    resourceFiles = kustomization.resources ?? [];
    resources = manifestsOf(resourceFiles).map((m) => m.doc);
    manifests = manifestsOf([...resourceFiles, SECRET_EXAMPLE]);
    worker = one<Deployment>(resources, 'Deployment', 'vip-router-worker');
    api = one<Deployment>(resources, 'Deployment', 'vip-router-api');
    configMap = one<ConfigMap>(resources, 'ConfigMap', CONFIG_MAP_NAME);
    secretExample = one<Secret>(manifestsOf([SECRET_EXAMPLE]).map((m) => m.doc), 'Secret', SECRET_NAME);
  });

  describe(`Kubernetes ${KUBERNETES_VERSION} JSON schemas, strict (kubernetes-validate ${KUBERNETES_VALIDATE_VERSION})`, () => {
    it('are the published schemas, installed from PyPI into the tools venv', (t) => {
      t.diagnostic(`kubernetes-validate ${schemas.packageVersion} ready in ${installMs.toFixed(0)} ms`);
      t.diagnostic(`schemas: ${schemas.dir}`);
      assert.equal(schemas.packageVersion, KUBERNETES_VALIDATE_VERSION);
      assert.ok(schemas.dir.endsWith(`v${KUBERNETES_VERSION}-local-strict`), schemas.dir);
      assert.ok(!schemas.dir.startsWith(REPO_ROOT), 'the schemas must come from the installed package, not from this repo');
      const deploymentSchema = JSON.parse(readFileSync(join(schemas.dir, 'deployment-apps-v1.json'), 'utf8')) as Record<string, unknown>;
      assert.equal(deploymentSchema.$schema, 'https://json-schema.org/draft/2020-12/schema');
      assert.equal(deploymentSchema.additionalProperties, false, 'the strict variant');
      // A real validator, not a pass-everything stub.
      const minimal = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { a: 'b' } };
      assert.equal(validate(minimal).valid, true, formatErrors(validate(minimal).errors));
    });

    it('accepts every document of the manifests (and of secret.example.yaml)', () => {
      assert.ok(manifests.length >= 7, `documents found: ${manifests.length}`);
      const problems = manifests.flatMap(({ file, index, doc }) => {
        const result = validate(doc);
        return result.valid ? [] : [`${file}#${index} (${result.schemaFile}):\n${formatErrors(result.errors)}`];
      });
      assert.deepEqual(problems, []);
    });

    it("agrees with the package's own CLI in strict mode", async (t) => {
      const files = [...resourceFiles, SECRET_EXAMPLE];
      const run = await runKubernetesValidateCli(schemas, { files, cwd: DIR });
      for (const line of run.lines) t.diagnostic(line);
      assert.deepEqual(run.problems, []);
      assert.equal(run.code, 0);
      assert.equal(run.lines.length, manifests.length, 'one "passed" line per document');
    });

    it('rejects a misspelled field, naming it (Ajv and the CLI)', async () => {
      const broken = structuredClone(worker) as unknown as Record<string, any>;
      const container = broken.spec.template.spec.containers[0];
      container.readynessProbe = container.readinessProbe;
      delete container.readinessProbe;
      const result = validate(broken);
      assert.equal(result.valid, false, 'a misspelled container field must fail');
      assert.ok(
        result.errors.some((e) => e.keyword === 'additionalProperties' && e.params.additionalProperty === 'readynessProbe' && e.instancePath === '/spec/template/spec/containers/0'),
        formatErrors(result.errors),
      );
      const run = await runKubernetesValidateCli(schemas, { stdin: JSON.stringify(broken) });
      assert.notEqual(run.code, 0);
      assert.match(run.problems.join('\n'), /^ERROR .*spec\.template\.spec\.containers\.0: Additional properties are not allowed \('readynessProbe' was unexpected\)/m);
    });

    it('rejects a wrong type, and a misspelled kind that has no schema (which the CLI only warns about)', async () => {
      const wrongType = structuredClone(api) as unknown as Record<string, any>;
      wrongType.spec.replicas = 'two';
      const result = validate(wrongType);
      assert.equal(result.valid, false);
      assert.match(formatErrors(result.errors), /^\/spec\/replicas must be integer/m);

      const misspelledKind = { ...structuredClone(api), kind: 'Deploymnet' };
      assert.throws(() => validate(misspelledKind), /no schema for kind Deploymnet of apps\/v1/);
      const run = await runKubernetesValidateCli(schemas, { stdin: JSON.stringify(misspelledKind) });
      assert.equal(run.code, 0, 'kubernetes-validate exits 0 on a kind it does not know…');
      assert.match(run.problems.join('\n'), /^WARN .*Deploymnet/m, '…so a WARN line counts as a problem here');
    });
  });

  describe('kustomization and secrets', () => {
    it('lists every manifest beside it except secret.example.yaml, and nothing that is missing', () => {
      assert.equal(kustomization.apiVersion, 'kustomize.config.k8s.io/v1beta1');
      assert.equal(kustomization.kind, 'Kustomization');
      for (const file of resourceFiles) assert.ok(existsSync(join(DIR, file)), `${file} is listed but missing`);
      const yamls = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f) && f !== KUSTOMIZATION);
      assert.deepEqual(yamls.filter((f) => f !== SECRET_EXAMPLE).sort(), [...resourceFiles].sort(), 'every other manifest is a resource');
      assert.ok(!resourceFiles.includes(SECRET_EXAMPLE), 'secret.example.yaml must never be applied');
      assert.ok(existsSync(join(DIR, 'README.md')), 'deploy/kubernetes/README.md');
    });

    it('applies no Secret with data, and generates none', () => {
      for (const secret of ofKind<Secret>(resources, 'Secret')) {
        assert.ok(!secret.data && !secret.stringData, `Secret ${secret.metadata.name} carries values`);
      }
      assert.equal(kustomization.secretGenerator, undefined, 'a secretGenerator would put values in the repository');
    });

    it('secret.example.yaml holds placeholders only: CHANGE_ME, or empty (unset)', () => {
      assert.equal(secretExample.data, undefined, 'stringData only, readable placeholders');
      const values = Object.entries(secretExample.stringData ?? {});
      assert.ok(values.length > 0);
      for (const [key, value] of values) assert.ok(value === '' || value.includes('CHANGE_ME'), `${key} holds a value`);
    });

    it('the ConfigMap holds no secret, and no container sets one as a plain value', () => {
      for (const [key, value] of Object.entries(configMap.data ?? {})) {
        if (SECRET_LIKE_PATHS.has(key)) assert.match(value, /^\//, `${key} must be a file path`);
        else assert.doesNotMatch(key, SECRET_LIKE, `${key} belongs in the Secret`);
      }
      for (const deployment of [worker, api]) {
        for (const env of deployment.spec.template.spec.containers.flatMap((c) => c.env ?? [])) {
          if (SECRET_LIKE.test(env.name)) assert.ok(env.valueFrom?.secretKeyRef, `${deployment.metadata.name}: ${env.name} must come from the Secret`);
        }
      }
    });

    it('the images are vip-router:latest, the name kustomization.yaml retags', () => {
      for (const deployment of [worker, api]) {
        for (const container of deployment.spec.template.spec.containers) assert.equal(container.image, 'vip-router:latest');
      }
      assert.ok((kustomization.images ?? []).some((image) => image.name === 'vip-router'), 'images: names vip-router');
    });
  });

  describe('environment', () => {
    it('every variable a container gets is one the app reads (src/service/config.ts, the payload codec, NODE_ENV)', () => {
      const unknown: string[] = [];
      const known = (where: string, name: string) => KNOWN_ENV.has(name) || unknown.push(`${where}: ${name}`);
      for (const [key] of Object.entries(configMap.data ?? {})) known(`ConfigMap ${CONFIG_MAP_NAME}`, key);
      for (const key of Object.keys(secretExample.stringData ?? {})) known(`Secret ${SECRET_NAME}`, key);
      for (const deployment of [worker, api]) {
        for (const container of deployment.spec.template.spec.containers) {
          for (const env of container.env ?? []) known(`${deployment.metadata.name}/${container.name}`, env.name);
          for (const from of container.envFrom ?? []) {
            assert.equal(from.prefix, undefined, 'envFrom with a prefix renames the variables');
            assert.equal(from.secretRef, undefined, 'secrets are named one by one (secretKeyRef), so each can be checked');
            assert.equal(from.configMapRef?.name, CONFIG_MAP_NAME);
          }
        }
      }
      assert.deepEqual(unknown, []);
      // The check can fail: a name src/service/config.ts does not read is caught.
      assert.ok(!KNOWN_ENV.has('TEMPORAL_TLS_CRT') && KNOWN_ENV.has('TEMPORAL_TLS_CERT') && KNOWN_ENV.has('VIP_ROUTER_CODEC_KEYS'));
    });

    it('every secretKeyRef names the Secret vip-router and a key of secret.example.yaml equal to the variable; only DATABASE_URL and the codec keys are required', () => {
      const exampleKeys = new Set(Object.keys(secretExample.stringData ?? {}));
      const referenced = new Set<string>();
      for (const deployment of [worker, api]) {
        const required: string[] = [];
        for (const env of deployment.spec.template.spec.containers.flatMap((c) => c.env ?? [])) {
          const ref = env.valueFrom?.secretKeyRef;
          assert.equal(env.valueFrom?.configMapKeyRef, undefined, 'the ConfigMap comes in whole through envFrom');
          if (!ref) continue;
          assert.equal(ref.name, SECRET_NAME, `${env.name}`);
          assert.equal(ref.key, env.name, `${env.name}: the key is the variable's name`);
          assert.ok(exampleKeys.has(ref.key), `${ref.key} is missing from secret.example.yaml`);
          referenced.add(ref.key);
          if (!ref.optional) required.push(env.name);
        }
        assert.deepEqual(required.sort(), ['DATABASE_URL', CODEC_KEYS_ENV].sort(), `${deployment.metadata.name}: the required secrets`);
      }
      assert.deepEqual([...exampleKeys].filter((key) => !referenced.has(key)), [], 'keys of secret.example.yaml no container reads');
    });

    it('what each container gets passes src/service/config.ts: no demo data, production, the worker reaches the API through its Service', () => {
      const service = one<Service>(resources, 'Service', 'vip-router-api');
      for (const deployment of [worker, api]) {
        const container = deployment.spec.template.spec.containers[0]!;
        const plain = Object.fromEntries((container.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
        const secrets = Object.fromEntries((container.env ?? []).filter((e) => e.valueFrom?.secretKeyRef).map((e) => [e.name, secretExample.stringData?.[e.name] ?? '']));
        const env = parseEnv({ ...configMap.data, ...secrets, ...plain });
        assert.equal(env.VIP_ROUTER_SEED_DEMO, '0');
        assert.equal(env.TEMPORAL_ADDRESS !== undefined && env.DATABASE_URL !== undefined, true, 'the production entries refuse to start without them');
        assert.equal(env.TEMPORAL_API_KEY, undefined, 'an empty optional secret is unset');
        assert.equal(configMap.data?.NODE_ENV, 'production');
      }
      const apiUrl = new URL(configMap.data?.VIP_ROUTER_API_URL ?? '');
      assert.equal(apiUrl.hostname, service.metadata.name);
      assert.equal(Number(apiUrl.port), service.spec.ports[0]!.port);
    });

    it('TEMPORAL_TLS_* point at tls.crt, tls.key and ca.crt of the Deployment\'s own mounted Secret (vip-router-worker-tls, vip-router-api-tls)', () => {
      const data = configMap.data ?? {};
      const secretsOf = (deployment: typeof worker) => (deployment.spec.template.spec.volumes ?? []).flatMap((v) => (v.secret?.secretName ? [v.secret.secretName] : []));
      // Neither mounts the other's certificate.
      assert.ok(!secretsOf(worker).includes(TLS_SECRET_NAMES.api), 'the worker mounts the API\'s certificate');
      assert.ok(!secretsOf(api).includes(TLS_SECRET_NAMES.worker), 'the API mounts the worker\'s certificate');
      for (const [deployment, secretName] of [[worker, TLS_SECRET_NAMES.worker], [api, TLS_SECRET_NAMES.api]] as const) {
        const pod = deployment.spec.template.spec;
        const volume = pod.volumes?.find((v) => v.secret?.secretName === secretName);
        assert.ok(volume, `${deployment.metadata.name} mounts no ${secretName}`);
        const mount = pod.containers[0]!.volumeMounts?.find((m) => m.name === volume.name);
        assert.ok(mount?.readOnly, `${deployment.metadata.name}: ${secretName} mounted read-only`);
        for (const [name, file] of [
          ['TEMPORAL_TLS_CERT', 'tls.crt'],
          ['TEMPORAL_TLS_KEY', 'tls.key'],
          ['TEMPORAL_TLS_CA', 'ca.crt'],
        ] as const) {
          assert.equal(data[name], `${mount.mountPath}/${file}`, name);
        }
      }
    });
  });

  describe('pods', () => {
    it('run the commands of docker-compose.yml', () => {
      const compose = loadCompose();
      for (const [deployment, service] of [
        [worker, 'worker'],
        [api, 'api'],
      ] as const) {
        const container = deployment.spec.template.spec.containers[0]!;
        assert.deepEqual(container.command, compose.services[service]!.command, `${deployment.metadata.name} runs compose's ${service} command`);
        assert.equal(container.args, undefined);
      }
    });

    it('two replicas each; every Deployment selects its own pod template and nothing else', () => {
      for (const deployment of [worker, api]) {
        assert.equal(deployment.spec.replicas, 2, deployment.metadata.name);
        assert.equal(deployment.spec.selector.matchExpressions, undefined);
        assert.ok(selects(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels), `${deployment.metadata.name} selects its pods`);
      }
      assert.ok(!selects(worker.spec.selector.matchLabels, api.spec.template.metadata.labels), 'the worker selects API pods');
      assert.ok(!selects(api.spec.selector.matchLabels, worker.spec.template.metadata.labels), 'the API selects worker pods');
    });

    it('a PodDisruptionBudget with minAvailable 1 selects exactly the pods of each Deployment', () => {
      const budgets = ofKind<PodDisruptionBudget>(resources, 'PodDisruptionBudget');
      assert.equal(budgets.length, 2);
      for (const deployment of [worker, api]) {
        const other = deployment === worker ? api : worker;
        const mine = budgets.filter((pdb) => selects(pdb.spec.selector?.matchLabels, deployment.spec.template.metadata.labels));
        assert.equal(mine.length, 1, `one PDB selects ${deployment.metadata.name}'s pods`);
        const pdb = mine[0]!;
        assert.equal(pdb.spec.minAvailable, 1);
        assert.equal(pdb.spec.selector?.matchExpressions, undefined);
        assert.deepEqual(pdb.spec.selector?.matchLabels, deployment.spec.selector.matchLabels, `${pdb.metadata.name}: the Deployment's selector`);
        assert.ok(!selects(pdb.spec.selector?.matchLabels, other.spec.template.metadata.labels), `${pdb.metadata.name} also selects ${other.metadata.name}'s pods`);
        assert.ok((deployment.spec.replicas ?? 1) > Number(pdb.spec.minAvailable), 'a drain can move one pod at a time');
      }
    });

    it('the Service selects the API pods only, on the port the API listens on', () => {
      const service = one<Service>(resources, 'Service', 'vip-router-api');
      assert.ok(selects(service.spec.selector, api.spec.template.metadata.labels));
      assert.ok(!selects(service.spec.selector, worker.spec.template.metadata.labels));
      const container = api.spec.template.spec.containers[0]!;
      const target = containerPort(container, service.spec.ports[0]!.targetPort ?? service.spec.ports[0]!.port);
      const port = container.env?.find((e) => e.name === 'PORT')?.value;
      assert.equal(String(target), port, 'targetPort is the container port PORT says');
    });

    it("the API's probes ask /healthz, which src/api/routes/health-routes.ts serves, on its port; readiness does not hang on Temporal", async () => {
      const container = api.spec.template.spec.containers[0]!;
      assert.equal(container.livenessProbe?.httpGet?.path, '/healthz');
      // Not /readyz: with Temporal out every pod would fail it at once and the Service would refuse connections,
      // where the API answers 503 + Retry-After and keeps recording webhooks.
      assert.equal(container.readinessProbe?.httpGet?.path, '/healthz');
      const listening = Number(container.env?.find((e) => e.name === 'PORT')?.value);
      for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) {
        if (probe?.httpGet) assert.equal(containerPort(container, probe.httpGet.port), listening);
      }

      // The app's own route table (no server): the paths exist, and /readyz answers 503 when PostgreSQL does not.
      let postgresUp = true;
      const db = { query: async () => (postgresUp ? { rows: [] } : Promise.reject(new Error('connection refused'))) } as unknown as Db;
      const client = { workflowService: { getSystemInfo: async () => ({}) } } as unknown as Client;
      const { app } = createApp({ client, db, routing: parseRoutingConfig({}), taskQueue: 'unused', log: createLogger('silent'), apiKeys: new ApiKeys(db) });
      const routes = new Map<string, (req: unknown, res: unknown, next: unknown) => unknown>();
      const walk = (stack: any[]) => {
        for (const layer of stack) {
          if (layer.route?.methods?.get && layer.route.stack?.length === 1) routes.set(`GET ${layer.route.path}`, layer.route.stack[0].handle);
          // Routers mounted at the root only: a probe path is absolute.
          else if (layer.handle?.stack && (!layer.rawPath || layer.rawPath === '/')) walk(layer.handle.stack);
        }
      };
      walk((app as any).router.stack);
      const call = (route: string) =>
        new Promise<{ status: number; body: any }>((resolveResponse, reject) => {
          const handler = routes.get(route);
          if (!handler) return reject(new Error(`the API serves no ${route} at its root`));
          const res = { statusCode: 200, status: (code: number) => ((res.statusCode = code), res), json: (body: unknown) => resolveResponse({ status: res.statusCode, body }) };
          Promise.resolve(handler({}, res, reject)).catch(reject);
        });
      for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) {
        if (probe?.httpGet?.path) assert.ok(routes.has(`GET ${probe.httpGet.path}`), `GET ${probe.httpGet.path} is not an API route`);
      }
      assert.deepEqual(await call('GET /healthz'), { status: 200, body: { status: 'ok' } });
      assert.equal((await call('GET /readyz')).status, 200);
      postgresUp = false;
      assert.equal((await call('GET /readyz')).status, 503);
      assert.deepEqual(await call('GET /healthz'), { status: 200, body: { status: 'ok' } }, 'the probed path stays 200 while a dependency is out');
    });

    it("the worker's probes ask GET /metrics on VIP_ROUTER_METRICS_PORT, the only path its server answers", async () => {
      const container = worker.spec.template.spec.containers[0]!;
      const metricsPort = Number(configMap.data?.VIP_ROUTER_METRICS_PORT ?? parseEnv({}).VIP_ROUTER_METRICS_PORT);
      for (const probe of [container.livenessProbe, container.readinessProbe]) {
        assert.equal(probe?.httpGet?.path, '/metrics');
        assert.equal(containerPort(container, probe.httpGet.port), metricsPort);
        assert.ok((probe.timeoutSeconds ?? 1) > 2, '/metrics waits up to 2 s for the SDK’s metrics');
      }
      const annotations = worker.spec.template.metadata.annotations ?? {};
      assert.equal(annotations['prometheus.io/port'], String(metricsPort));
      assert.equal(annotations['prometheus.io/path'], '/metrics');

      // The worker's own metrics server, on a free port of this machine, asked over loopback.
      const server = await serveWorkerMetrics(0);
      try {
        const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        const metrics = await fetch(`${base}/metrics`);
        assert.equal(metrics.status, 200);
        assert.match(await metrics.text(), /vip_router_/);
        assert.equal((await fetch(`${base}/healthz`)).status, 404, 'the worker has no health path: the probes use /metrics');
      } finally {
        await new Promise((closed) => server.close(closed));
      }
    });

    it("the worker's grace period matches docker-compose.yml's stop_grace_period (it drains on SIGTERM)", () => {
      const compose = loadCompose();
      const grace = /^(\d+)s$/.exec(compose.services.worker!.stop_grace_period ?? '')?.[1];
      assert.ok(grace, 'compose gives the worker a stop_grace_period in seconds');
      assert.equal(worker.spec.template.spec.terminationGracePeriodSeconds, Number(grace));
      assert.ok((api.spec.template.spec.terminationGracePeriodSeconds ?? 30) >= 10);
    });

    it('run as the non-root node user (numeric, so the kubelet can check), read-only, no privileges, no service links, no token', () => {
      assert.match(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'), /^USER node$/m, 'the image runs as node (uid 1000 in the node images)');
      for (const deployment of [worker, api]) {
        const pod = deployment.spec.template.spec;
        const name = deployment.metadata.name;
        assert.equal(pod.securityContext?.runAsNonRoot, true, name);
        assert.equal(pod.securityContext?.runAsUser, 1000, name);
        assert.equal(pod.enableServiceLinks, false, `${name}: a Service named temporal would inject TEMPORAL_PORT=tcp://…`);
        assert.equal(pod.automountServiceAccountToken, false, name);
        for (const container of pod.containers) {
          const sc = container.securityContext;
          assert.equal(sc?.allowPrivilegeEscalation, false, name);
          assert.equal(sc?.readOnlyRootFilesystem, true, name);
          assert.deepEqual(sc?.capabilities?.drop, ['ALL'], name);
          const tmp = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
          assert.ok(tmp && pod.volumes?.find((v) => v.name === tmp.name)?.emptyDir, `${name}: a writable /tmp`);
        }
      }
    });

    it("size the worker on the README's figures: the limit holds 10,000 waiting conversations, requests within limits", () => {
      const resourcesOf = (d: Deployment) => d.spec.template.spec.containers[0]!.resources ?? {};
      const workerResources = resourcesOf(worker);
      assert.equal(configMap.data?.VIP_ROUTER_WORKFLOW_CACHE, '1000', 'the figures were measured with a cache of 1000 runs');
      assert.ok(bytes(workerResources.limits?.memory ?? '0') >= WORKER_RSS_AT_10K_WAITING * 1.2, 'worker memory limit ≥ 767 MiB + 20 %');
      for (const deployment of [worker, api]) {
        const { requests = {}, limits = {} } = resourcesOf(deployment);
        assert.ok(requests.cpu && requests.memory && limits.memory, `${deployment.metadata.name}: cpu and memory requests, a memory limit`);
        assert.ok(bytes(requests.memory) <= bytes(limits.memory), `${deployment.metadata.name}: request ≤ limit`);
      }
    });
  });
});

// The YAML reader itself: `0440` is where YAML 1.1 (kubectl, PyYAML) and 1.2 part ways.
describe('readYaml', () => {
  it('refuses a manifest that YAML 1.1 and 1.2 read differently, and reads one they agree on', () => {
    assert.throws(() => readYaml('defaultMode: 0440\n', 'octal.yaml'), /octal\.yaml reads differently as YAML 1\.1/);
    assert.throws(() => readYaml('enabled: yes\n', 'yes.yaml'), /yes\.yaml reads differently/);
    assert.deepEqual(readYaml('defaultMode: 288\n---\nenabled: "yes"\n', 'fine.yaml'), [{ defaultMode: 288 }, { enabled: 'yes' }]);
  });
});
