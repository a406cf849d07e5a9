/**
 * The published Kubernetes JSON schemas, installed at test time (never vendored into this repository).
 *
 * The PyPI package kubernetes-validate bundles the schemas of the kubernetes-json-schema project, one directory per
 * Kubernetes minor release, each in a `-strict` variant (every object `additionalProperties: false`: an unknown or
 * misspelled field is an error), and a CLI validating against them. It is pinned in tools/kubernetes-validate.ts
 * (KUBERNETES_VALIDATE) and installed into the same cached venv as the Temporal binaries, by
 * `npx tsx scripts/ensure-temporal.ts all` (what .ci/run runs up front) or, failing that, by the first test here.
 *
 * Two validators read the same files: Ajv (every error of a document at once, no process per document), and the
 * package's own CLI (its Python jsonschema), which the tests run as a cross-check.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import type { ErrorObject, ValidateFunction } from 'ajv';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

import { ensureVenvTool } from '../../src/local/temporal-cli';
import { KUBERNETES_VALIDATE } from '../../tools/kubernetes-validate';

const execFileAsync = promisify(execFile);

/** The Kubernetes release the manifests are checked against (its schemas are `v<version>-local-strict`). */
export const KUBERNETES_VERSION = '1.33.0';
/** The pinned kubernetes-validate release, from KUBERNETES_VALIDATE's `name==version`. */
export const KUBERNETES_VALIDATE_VERSION = KUBERNETES_VALIDATE.pipPackage.split('==')[1]!;

export interface KubernetesSchemas {
  /** The strict schema directory of KUBERNETES_VERSION inside the installed package. */
  dir: string;
  /** kubernetes-validate's version as installed (importlib.metadata). */
  packageVersion: string;
  kubernetesVersion: string;
  /** The package's CLI. */
  cli: string;
}

/** kubernetes-validate from the cache's venv (installed first when missing) and its strict schemas of KUBERNETES_VERSION. */
export async function installKubernetesSchemas(log?: (msg: string) => void): Promise<KubernetesSchemas> {
  const tool = await ensureVenvTool(KUBERNETES_VALIDATE, { log });
  const { stdout } = await execFileAsync(tool.python, [
    '-c',
    'import importlib.metadata, os, kubernetes_validate\n' +
      'print(os.path.dirname(kubernetes_validate.__file__))\n' +
      'print(importlib.metadata.version("kubernetes-validate"))',
  ]);
  const [packageDir = '', packageVersion = ''] = stdout.trim().split('\n');
  const dir = join(packageDir, 'kubernetes-json-schema', `v${KUBERNETES_VERSION}-local-strict`);
  if (!existsSync(join(dir, '_definitions.json'))) {
    throw new Error(`kubernetes-validate ${packageVersion} has no strict schemas of Kubernetes ${KUBERNETES_VERSION} (${dir})`);
  }
  return { dir, packageVersion, kubernetesVersion: KUBERNETES_VERSION, cli: tool.path };
}

export interface KubernetesDocument {
  apiVersion?: unknown;
  kind?: unknown;
  [key: string]: unknown;
}

export interface DocumentResult {
  /** The schema file the document was checked against, relative to the schema directory. */
  schemaFile: string;
  valid: boolean;
  errors: ErrorObject[];
}

/**
 * The schema file of a document, named as kubernetes-validate names it: `<kind>-<group>-<version>.json` with the
 * group's domain dropped (`apps/v1` → `apps-v1`, `policy/v1` → `policy-v1`, `v1` → `v1`).
 */
function schemaFileFor(doc: KubernetesDocument): string {
  if (typeof doc.kind !== 'string' || typeof doc.apiVersion !== 'string') throw new Error('a document without kind or apiVersion');
  const apiVersion = doc.apiVersion.replace(/^([^./]*)(?:\.[^/]*)?\//, '$1-');
  return `${doc.kind.toLowerCase()}-${apiVersion}.json`;
}

/** A validator for any document whose kind the schemas have; a kind they lack is an error, not a pass. */
export function kubernetesValidator(schemas: KubernetesSchemas): (doc: KubernetesDocument) => DocumentResult {
  // The schemas are draft 2020-12; they carry OpenAPI extensions (x-kubernetes-*) Ajv's strict mode would refuse as
  // unknown keywords. Formats (int32, int64, byte, double, date-time) are checked, as the API server does.
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  ajv.addSchema(JSON.parse(readFileSync(join(schemas.dir, '_definitions.json'), 'utf8')) as object);
  const compiled = new Map<string, ValidateFunction>();
  return (doc) => {
    const schemaFile = schemaFileFor(doc);
    let validate = compiled.get(schemaFile);
    if (!validate) {
      const path = join(schemas.dir, schemaFile);
      if (!existsSync(path)) throw new Error(`no schema for kind ${String(doc.kind)} of ${String(doc.apiVersion)} in Kubernetes ${schemas.kubernetesVersion} (${schemaFile})`);
      validate = ajv.compile(JSON.parse(readFileSync(path, 'utf8')) as object);
      compiled.set(schemaFile, validate);
    }
    const valid = validate(doc) as boolean;
    return { schemaFile, valid, errors: validate.errors ?? [] };
  };
}

export function formatErrors(errors: readonly ErrorObject[]): string {
  return errors
    .map((e) => {
      const extra = e.keyword === 'additionalProperties' ? ` ('${String(e.params.additionalProperty)}')` : '';
      return `${e.instancePath || '/'} ${e.message ?? ''}${extra}`;
    })
    .join('\n');
}

export interface CliRun {
  code: number;
  lines: string[];
  /** Every line that is not `INFO … passed`: ERROR, and WARN too (the CLI only warns about a kind it has no schema for, and exits 0). */
  problems: string[];
}

/** The package's own CLI in strict mode against KUBERNETES_VERSION: files, or one YAML text on stdin. */
export async function runKubernetesValidateCli(schemas: KubernetesSchemas, input: { files: string[]; cwd?: string } | { stdin: string }): Promise<CliRun> {
  const args = ['--strict', '--kubernetes-version', schemas.kubernetesVersion, ...('files' in input ? input.files : ['-'])];
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    const child = execFile(schemas.cli, args, { cwd: 'files' in input ? input.cwd : undefined, timeout: 60_000 }, (error, stdout, stderr) => {
      const status = (error as (NodeJS.ErrnoException & { code?: unknown }) | null)?.code;
      if (error && typeof status !== 'number') return reject(error);
      resolve({ code: typeof status === 'number' ? status : 0, stdout, stderr });
    });
    if ('stdin' in input) child.stdin?.end(input.stdin);
  });
  const lines = `${stdout}\n${stderr}`.split('\n').map((line) => line.trim()).filter(Boolean);
  return { code, lines, problems: lines.filter((line) => !/^INFO \S+ passed for resource /.test(line)) };
}
