import fs from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { findFreePort } from '../../src/local/ports';
import { launch, waitUntil } from '../../src/local/processes';

/** mTLS to the Temporal frontend: the CA that signed its certificate, and the client's certificate and key. */
interface TemporalUiTls {
  caFile: string;
  certFile?: string;
  keyFile?: string;
  /** The name the frontend's certificate is checked against, when it is not the host of `address`. */
  serverName?: string;
}

export interface TemporalUiOptions {
  /** The Temporal UI server (see `resolveTemporalUi`). */
  binary: string;
  /** The Temporal frontend's gRPC address, host:port. */
  address: string;
  /** The namespace the UI opens on, and the one readiness is checked against. */
  namespace?: string;
  /** Where the config (`temporal-ui/ui.yaml`) and the log (`temporal-ui.log`) are written. */
  dir: string;
  /** The address the UI binds to; 127.0.0.1 unless said. */
  host?: string;
  /** 0 or undefined picks a free one. */
  port?: number;
  tls?: TemporalUiTls;
  /** A codec server the browser decodes payloads with (Temporal UI's remote codec protocol). */
  codecEndpoint?: string;
  /** Origins besides the UI's own that may call its API from a browser. */
  corsOrigins?: string[];
  /** Served under this path (behind a reverse proxy), e.g. `/temporal`; the root unless said. */
  publicPath?: string;
  readyTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface TemporalUi {
  /** The UI, e.g. http://127.0.0.1:8233 (with publicPath appended when given). */
  url: string;
  logFile: string;
  stop(): Promise<void>;
}

const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_NAMESPACE = 'default';
const READY_TIMEOUT_MS = 30_000;
const READY_PROBE_TIMEOUT_MS = 2_000;
const READY_RETRY_MS = 250;
const STOP_GRACE_MS = 5_000;
const OUTPUT_TAIL_CHARS = 3_000;

/**
 * Starts Temporal UI's server against a Temporal frontend and resolves once it serves both its page and the frontend's
 * answer for `namespace` through its API (so a wrong address or TLS setting fails here, with the UI's answer).
 */
export async function startTemporalUi(options: TemporalUiOptions): Promise<TemporalUi> {
  const log = options.log ?? (() => undefined);
  const host = options.host ?? DEFAULT_HOST;
  const port = options.port || (await findFreePort(host));
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const publicPath = publicPathOf(options);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}${publicPath}`;

  // The server reads `<dir>/base.yaml` and `<dir>/<env>.yaml`: a folder of its own, so no other base.yaml is merged in.
  const configDir = path.join(options.dir, 'temporal-ui');
  await fs.mkdir(configDir, { recursive: true });
  await fs.writeFile(path.join(configDir, 'ui.yaml'), stringify(temporalUiConfig(options, port)), { mode: 0o600 });
  const logFile = path.join(options.dir, 'temporal-ui.log');
  const child = launch('temporal ui', options.binary, ['--root', configDir, '--config', '.', '--env', 'ui', 'start'], { logFile, keepChars: OUTPUT_TAIL_CHARS, killOnExit: 'SIGTERM' });
  const stop = () => child.stop(STOP_GRACE_MS);

  try {
    await waitUntilUiServes(url, namespace, options.readyTimeoutMs ?? READY_TIMEOUT_MS, () =>
      child.gone() ? `Temporal UI server ${child.gone()} (log: ${logFile})` : undefined,
    );
  } catch (error) {
    await stop();
    const tail = child.output().trim();
    throw tail ? new Error(`${(error as Error).message}; its log:\n${tail}`, { cause: error }) : error;
  }
  log(`temporal ui: ${url} (Temporal at ${options.address}, namespace ${namespace}; log ${logFile})`);
  return { url, logFile, stop };
}

/** The UI server's YAML config (keys of github.com/temporalio/ui-server/v2 server/config.Config). */
export function temporalUiConfig(options: TemporalUiOptions, port: number): Record<string, unknown> {
  return {
    temporalGrpcAddress: options.address,
    host: options.host ?? DEFAULT_HOST,
    port,
    publicPath: publicPathOf(options),
    enableUi: true,
    defaultNamespace: options.namespace ?? DEFAULT_NAMESPACE,
    auth: { enabled: false },
    // Served over plain HTTP: a Secure CSRF cookie would not come back from a browser off localhost, and every write
    // (terminate, signal, reset) would be refused.
    cors: { allowOrigins: options.corsOrigins ?? [], unsafeAllowAllOrigins: false, cookieInsecure: true },
    // The endpoint carries a decode-only key in its path: `passAccessToken` would send the signed-in user's own OIDC
    // token (and only to https), never a key of ours.
    ...(options.codecEndpoint ? { codec: { endpoint: options.codecEndpoint } } : {}),
    ...(options.tls
      ? {
          tls: {
            caFile: options.tls.caFile,
            certFile: options.tls.certFile ?? '',
            keyFile: options.tls.keyFile ?? '',
            serverName: options.tls.serverName ?? '',
            // Off by default in the UI server, which then accepts any certificate the frontend shows.
            enableHostVerification: true,
          },
        }
      : {}),
    // Nothing reaches outside this machine: no news feed in the page, no release check by the server.
    disableNewsFetch: true,
    notifyOnNewVersion: false,
    // Not one line per request in temporal-ui.log; start-up errors still show.
    hideLogs: true,
  };
}

/** `/temporal` for `/temporal/` or `temporal`; empty for the root. */
const publicPathOf = (options: TemporalUiOptions) => (options.publicPath ? `/${options.publicPath.replace(/^\/+|\/+$/g, '')}` : '').replace(/^\/$/, '');

/** Until the page is served and the API answers for `namespace` from the Temporal frontend. */
async function waitUntilUiServes(url: string, namespace: string, timeoutMs: number, gone: () => string | undefined): Promise<void> {
  const probe = async (): Promise<true> => {
    const page = await fetch(`${url}/`, { signal: AbortSignal.timeout(READY_PROBE_TIMEOUT_MS) });
    await page.arrayBuffer();
    if (page.status !== 200) throw new Error(`GET / answered ${page.status}`);
    const api = await fetch(`${url}/api/v1/namespaces/${encodeURIComponent(namespace)}`, { signal: AbortSignal.timeout(READY_PROBE_TIMEOUT_MS) });
    const body = await api.text();
    if (api.status !== 200) throw new Error(`GET /api/v1/namespaces/${namespace} answered ${api.status}: ${body.replace(/\s+/g, ' ').slice(0, 500)}`);
    return true;
  };
  await waitUntil(`Temporal UI at ${url} serving namespace ${namespace}`, probe, { timeoutMs, intervalMs: READY_RETRY_MS, gone });
}
