/**
 * The official Compose Specification JSON schema, fetched at test time (never vendored into this repository).
 *
 * The schema docker compose itself validates against ships inside the Go module
 * github.com/compose-spec/compose-go/v2 (file `schema/compose-spec.json`, embedded by `schema/schema.go`).
 * `go mod download -json <module>@<version>` fetches that module from the Go module proxy into the Go module
 * cache, checks it against the Go checksum database, and reports the extracted directory (`Dir`).
 * A second call is served from the module cache, with no network.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import Ajv, { type ValidateFunction } from 'ajv';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

const execFileAsync = promisify(execFile);

const COMPOSE_GO_MODULE = 'github.com/compose-spec/compose-go/v2';
/** Pinned release of compose-go (its schema uses JSON Schema draft 2020-12). */
export const COMPOSE_GO_VERSION = 'v2.16.2';
/** go.sum hash of the pinned release (`h1:` = SHA-256 of the module tree); checked on every download. */
const COMPOSE_GO_SUM = 'h1:pTp1DqQwJzFd85GzlWsSszKA1ABrV/ySqsClujIcWA8=';

export interface ComposeSchema {
  /** The parsed schema document. */
  schema: Record<string, unknown>;
  /** Absolute path of compose-spec.json inside the Go module cache. */
  path: string;
  module: string;
  version: string;
  /** go.sum hash reported by the go command. */
  sum: string;
  /** The schema's `$schema` (JSON Schema dialect). */
  dialect: string;
}

export interface DownloadOptions {
  /** compose-go version; defaults to the pinned COMPOSE_GO_VERSION (whose hash is then checked). */
  version?: string;
  /** Kill `go mod download` after this long. Default 120 s. */
  timeoutMs?: number;
  /** Extra environment for the go command (e.g. GOMODCACHE, GOPROXY). */
  env?: NodeJS.ProcessEnv;
}

interface GoModDownload {
  Path?: string;
  Version?: string;
  Dir?: string;
  Sum?: string;
  Error?: string;
}

/** Downloads (or reuses from the Go module cache) compose-go and returns its Compose Specification schema. */
export async function downloadComposeSchema(options: DownloadOptions = {}): Promise<ComposeSchema> {
  const version = options.version ?? COMPOSE_GO_VERSION;
  const target = `${COMPOSE_GO_MODULE}@${version}`;
  const inheritedFlags = options.env?.GOFLAGS ?? process.env.GOFLAGS ?? '';
  // An empty working directory: no go.mod / go.work of any enclosing project can interfere.
  const cwd = await mkdtemp(join(tmpdir(), 'compose-schema-'));
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync('go', ['mod', 'download', '-json', target], {
      cwd,
      timeout: options.timeoutMs ?? 120_000,
      maxBuffer: 1024 * 1024,
      env: {
        ...process.env,
        ...options.env,
        GOFLAGS: `${inheritedFlags} -mod=mod`.trim(),
        GOWORK: 'off',
        GO111MODULE: 'on',
      },
    }));
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') {
      throw new Error(
        `test/deploy/compose.test.ts needs Go: the \`go\` command fetches the Compose Specification schema (${target}) ` +
          'from the Go module proxy, and it is not on PATH. Install Go and let it reach the Go module proxy (GOPROXY).',
      );
    }
    const reported = parseDownload(e.stdout ?? '')?.Error;
    const proxy = options.env?.GOPROXY ?? process.env.GOPROXY ?? "Go's default";
    throw new Error(
      `go mod download ${target} failed: ${reported ?? e.stderr ?? e.message}\n` +
        `test/deploy/compose.test.ts needs the Go module proxy (GOPROXY=${proxy}) or a Go module cache that holds ${target}.`,
    );
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }

  const info = parseDownload(stdout);
  if (!info?.Dir) throw new Error(`go mod download ${target}: no Dir in its output: ${stdout}`);
  if (info.Error) throw new Error(`go mod download ${target}: ${info.Error}`);
  const sum = info.Sum ?? '';
  if (version === COMPOSE_GO_VERSION && sum !== COMPOSE_GO_SUM) {
    throw new Error(`${target}: module hash ${sum} differs from the pinned ${COMPOSE_GO_SUM}`);
  }

  const path = join(info.Dir, 'schema', 'compose-spec.json');
  const schema = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  const dialect = typeof schema.$schema === 'string' ? schema.$schema : '';
  return { schema, path, module: COMPOSE_GO_MODULE, version: info.Version ?? version, sum, dialect };
}

function parseDownload(stdout: string): GoModDownload | undefined {
  try {
    return JSON.parse(stdout) as GoModDownload;
  } catch {
    return undefined;
  }
}

/**
 * Compiles the schema with the Ajv class matching its dialect: compose-go up to v2.9 used draft-07,
 * later releases use draft 2020-12 (`unevaluatedProperties`, `$defs`), which the default Ajv class rejects.
 */
export function compileComposeValidator(compose: ComposeSchema): ValidateFunction {
  const options = { allErrors: true, strict: false } as const;
  const ajv = compose.dialect.includes('2020-12') ? new Ajv2020(options) : new Ajv(options);
  addFormats(ajv);
  return ajv.compile(compose.schema);
}
