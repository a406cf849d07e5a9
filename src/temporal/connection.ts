import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../domain/routing-config';

const unsetWhenEmpty = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/**
 * How the worker and the API reach a secured Temporal: mTLS to a self-hosted cluster, or Temporal Cloud with an API
 * key or certificates. Spread its shape into the service's env schema; `temporalConnectionOptions` checks how the
 * values fit together and reads the PEM files.
 */
export const temporalConnectionEnv = z.object({
  /** Client certificate for mTLS: a file path or inline PEM. */
  TEMPORAL_TLS_CERT: unsetWhenEmpty,
  /** Its private key: a file path or inline PEM. */
  TEMPORAL_TLS_KEY: unsetWhenEmpty,
  /** The CA the server's certificate is checked against; unset: the system's trusted CAs. */
  TEMPORAL_TLS_CA: unsetWhenEmpty,
  /** The name the server's certificate is checked against (and sent as SNI), when not the address's host. */
  TEMPORAL_TLS_SERVER_NAME: unsetWhenEmpty,
  /** 'true' turns TLS on without any other TLS setting; 'false' keeps an API key on a plaintext connection. */
  TEMPORAL_TLS: unsetWhenEmpty.pipe(z.enum(['true', 'false']).optional()).transform((v) => (v === undefined ? undefined : v === 'true')),
  TEMPORAL_API_KEY: unsetWhenEmpty,
});

export type TemporalConnectionEnv = z.output<typeof temporalConnectionEnv>;

interface TemporalTlsOptions {
  serverNameOverride?: string;
  serverRootCACertificate?: Buffer;
  clientCertPair?: { crt: Buffer; key: Buffer };
}

/** Accepted as is by both `Connection.connect` (@temporalio/client) and `NativeConnection.connect` (@temporalio/worker). */
export interface TemporalConnectionOptions {
  address: string;
  /** Always explicit: the SDKs turn TLS on by themselves when an API key is set and `tls` is left out. */
  tls: TemporalTlsOptions | boolean;
  apiKey?: string;
  metadata?: Record<string, string>;
}

const PEM_MARKER = '-----BEGIN';

/**
 * The connection options for `address` from the TEMPORAL_TLS_* and TEMPORAL_API_KEY settings. TLS is on when any
 * TLS setting or an API key is given, unless TEMPORAL_TLS=false. Throws a ConfigError listing every problem, naming
 * variables and file paths, never key material.
 */
export function temporalConnectionOptions(
  address: string,
  env: TemporalConnectionEnv & { TEMPORAL_NAMESPACE?: string },
): TemporalConnectionOptions {
  const problems: string[] = [];
  const crt = readPem('TEMPORAL_TLS_CERT', env.TEMPORAL_TLS_CERT, problems);
  const key = readPem('TEMPORAL_TLS_KEY', env.TEMPORAL_TLS_KEY, problems);
  const ca = readPem('TEMPORAL_TLS_CA', env.TEMPORAL_TLS_CA, problems);

  if (env.TEMPORAL_TLS_CERT && !env.TEMPORAL_TLS_KEY) {
    problems.push('TEMPORAL_TLS_CERT: set without TEMPORAL_TLS_KEY; a client certificate needs its private key');
  }
  if (env.TEMPORAL_TLS_KEY && !env.TEMPORAL_TLS_CERT) {
    problems.push('TEMPORAL_TLS_KEY: set without TEMPORAL_TLS_CERT; a private key needs its client certificate');
  }
  if (crt && key) checkClientCertPair(crt, key, problems);
  if (ca) checkCertificate('TEMPORAL_TLS_CA', ca, problems);

  const tlsSettings = (['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CA', 'TEMPORAL_TLS_SERVER_NAME'] as const).filter(
    (name) => env[name] !== undefined,
  );
  if (env.TEMPORAL_TLS === false && tlsSettings.length > 0) {
    problems.push(`TEMPORAL_TLS: 'false' contradicts ${tlsSettings.join(', ')}; unset one or the other`);
  }
  if (problems.length > 0) {
    throw new ConfigError(`Temporal connection settings are invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }

  const apiKey = env.TEMPORAL_API_KEY;
  const tlsOn = env.TEMPORAL_TLS ?? (tlsSettings.length > 0 || apiKey !== undefined);
  const tlsOptions: TemporalTlsOptions = {
    ...(env.TEMPORAL_TLS_SERVER_NAME && { serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME }),
    ...(ca && { serverRootCACertificate: ca }),
    ...(crt && key && { clientCertPair: { crt, key } }),
  };
  let tls: TemporalConnectionOptions['tls'] = false;
  if (tlsOn) tls = Object.keys(tlsOptions).length > 0 ? tlsOptions : true;
  return {
    address,
    tls,
    ...(apiKey && {
      apiKey,
      // Temporal Cloud expects the namespace in this header with an API key; the SDKs add it only to calls whose
      // request names a namespace, not to the connection check (GetSystemInfo).
      ...(env.TEMPORAL_NAMESPACE && { metadata: { 'temporal-namespace': env.TEMPORAL_NAMESPACE } }),
    }),
  };
}

/** For logs: how the connection is secured, e.g. `mTLS (client cert CN=worker)`; never keys or PEM material. */
export function describeTemporalConnection(options: Pick<TemporalConnectionOptions, 'tls' | 'apiKey'>): string {
  const { tls, apiKey } = options;
  const details: string[] = [];
  if (typeof tls === 'object') {
    if (tls.clientCertPair) details.push(`client cert ${subjectName(tls.clientCertPair.crt)}`);
    if (tls.serverRootCACertificate) details.push(`CA ${subjectName(tls.serverRootCACertificate)}`);
    if (tls.serverNameOverride) details.push(`server name ${tls.serverNameOverride}`);
  }
  const transport = !tls ? 'plaintext' : typeof tls === 'object' && tls.clientCertPair ? 'mTLS' : 'TLS';
  const described = details.length > 0 ? `${transport} (${details.join(', ')})` : transport;
  if (!apiKey) return described;
  return `API key ${maskApiKey(apiKey)} over ${described}`;
}

/** A file path or inline PEM text. */
function readPem(variable: string, value: string | undefined, problems: string[]): Buffer | undefined {
  if (value === undefined) return undefined;
  // An env file or a CI secret often carries PEM text with its newlines escaped.
  if (value.startsWith(PEM_MARKER)) {
    const text = value.includes('\n') ? value : value.replaceAll('\\n', '\n');
    return Buffer.from(text.endsWith('\n') ? text : `${text}\n`);
  }
  if (/[\r\n]/.test(value) || Buffer.from(value, 'base64').toString('latin1').startsWith(PEM_MARKER)) {
    // Key material that is not PEM must not be echoed back as if it were a path.
    problems.push(`${variable}: neither a file path nor PEM text starting with ${PEM_MARKER} (base64-encoded PEM must be decoded first)`);
    return undefined;
  }
  let content: Buffer;
  try {
    content = readFileSync(value);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'a directory' : code;
    problems.push(`${variable}: cannot read file ${value} (${reason ?? 'unreadable'})`);
    return undefined;
  }
  if (!content.toString('latin1').includes(PEM_MARKER)) {
    problems.push(`${variable}: file ${value} holds no PEM block (${PEM_MARKER} …)`);
    return undefined;
  }
  return content;
}

function checkCertificate(variable: string, pem: Buffer, problems: string[]): X509Certificate | undefined {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch {
    problems.push(`${variable}: not a PEM certificate`);
    return undefined;
  }
  if (Date.parse(certificate.validTo) < Date.now()) {
    problems.push(`${variable}: the certificate ${subjectName(pem)} expired on ${new Date(certificate.validTo).toISOString()}`);
  }
  return certificate;
}

function checkClientCertPair(crt: Buffer, key: Buffer, problems: string[]): void {
  const certificate = checkCertificate('TEMPORAL_TLS_CERT', crt, problems);
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    problems.push('TEMPORAL_TLS_KEY: not a PEM private key, or an encrypted one (the SDK needs it unencrypted)');
    return;
  }
  if (certificate && !certificate.checkPrivateKey(privateKey)) {
    problems.push('TEMPORAL_TLS_KEY: does not belong to the certificate in TEMPORAL_TLS_CERT');
  }
}

function subjectName(pem: Buffer): string {
  try {
    const { subject } = new X509Certificate(pem);
    const commonName = /^CN=(.*)$/m.exec(subject)?.[1];
    return commonName ? `CN=${commonName}` : subject.replaceAll('\n', ', ');
  } catch {
    return '(unparseable)';
  }
}

function maskApiKey(apiKey: string): string {
  // Short keys would give away too much of themselves.
  return apiKey.length >= 16 ? `****${apiKey.slice(-4)}` : '****';
}
