import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * Certificates made with the `openssl` command (OPENSSL_PATH, else on PATH): a certificate authority and the leaves
 * it signs, EC P-256, each as `<name>.crt` + `<name>.key` in one directory. For test clusters and a first
 * deployment; a production PKI issues its own and mounts them the same way.
 */
export interface CertificateRequest {
  name: string;
  /** A subject such as `/CN=vip-router-worker`. */
  subject: string;
  /** extendedKeyUsage: `serverAuth`, `clientAuth` or both (`serverAuth,clientAuth`). */
  usage: string;
  /** subjectAltName, e.g. `IP:127.0.0.1,DNS:localhost`. */
  san?: string;
}

export interface Certificate {
  cert: string;
  key: string;
}

const openssl = () => process.env['OPENSSL_PATH'] ?? 'openssl';

export class CertificateAuthority {
  private constructor(
    readonly dir: string,
    readonly name: string,
    private readonly days: number,
  ) {}

  get cert(): string {
    return path.join(this.dir, `${this.name}.crt`);
  }

  /** The CA already in `dir` (its `<name>.crt` and `<name>.key`), to issue more leaves with. */
  static open(dir: string, name: string, days: number): CertificateAuthority {
    return new CertificateAuthority(dir, name, days);
  }

  /** A new CA in `dir` (made when missing), valid for `days`. */
  static async create(dir: string, name: string, subject: string, days = 2): Promise<CertificateAuthority> {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const ca = new CertificateAuthority(dir, name, days);
    const config = await ca.extensionsFile(`${name}.cnf`, ['basicConstraints = critical,CA:TRUE', 'keyUsage = critical,keyCertSign,cRLSign', 'subjectKeyIdentifier = hash']);
    await run('req', '-x509', '-new', ...NEW_KEY, '-keyout', ca.file(`${name}.key`), '-out', ca.cert, '-days', String(days), '-subj', subject, '-config', config, '-extensions', 'ext');
    return ca;
  }

  /** A leaf signed by this CA, written beside it. */
  async issue(request: CertificateRequest): Promise<Certificate> {
    const config = await this.extensionsFile(`${request.name}.cnf`, [
      'basicConstraints = critical,CA:FALSE',
      'keyUsage = critical,digitalSignature',
      `extendedKeyUsage = ${request.usage}`,
      'authorityKeyIdentifier = keyid',
      ...(request.san ? [`subjectAltName = ${request.san}`] : []),
    ]);
    const leaf = { cert: this.file(`${request.name}.crt`), key: this.file(`${request.name}.key`) };
    const csr = this.file(`${request.name}.csr`);
    await run('req', '-new', ...NEW_KEY, '-keyout', leaf.key, '-out', csr, '-subj', request.subject, '-config', config);
    await run(
      'x509', '-req', '-in', csr, '-CA', this.cert, '-CAkey', this.file(`${this.name}.key`), '-set_serial', `0x${randomBytes(8).toString('hex')}`,
      '-days', String(this.days), '-extfile', config, '-extensions', 'ext', '-out', leaf.cert,
    );
    await fs.rm(csr);
    return leaf;
  }

  private file(name: string): string {
    return path.join(this.dir, name);
  }

  /** One openssl config that serves `req` (a subject given on the command line) and the `ext` extensions section. */
  private async extensionsFile(name: string, extensions: string[]): Promise<string> {
    const file = this.file(name);
    await fs.writeFile(file, ['[req]', 'distinguished_name = dn', 'prompt = no', '[dn]', 'CN = unused', '[ext]', ...extensions, ''].join('\n'));
    return file;
  }
}

const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

async function run(...args: string[]): Promise<void> {
  try {
    await execFileAsync(openssl(), args, { timeout: 30_000 });
  } catch (error) {
    const e = error as Error & { stderr?: string };
    throw new Error(`openssl ${args[0]} failed: ${(e.stderr || e.message).trim()}`, { cause: error });
  }
}

/**
 * Who connects to the frontend, each with a certificate of its own (`CN` below): one leaked or rotated key concerns one
 * component, and the frontend's logs and any authorizer tell them apart.
 */
export const CLIENT_COMPONENTS = {
  worker: 'vip-router-worker',
  api: 'vip-router-api',
  ui: 'temporal-ui',
  /** The namespace job, the Temporal CLI, the cluster's own checks. */
  admin: 'temporal-admin',
} as const;
export type ClientComponent = keyof typeof CLIENT_COMPONENTS;

/** What a Temporal cluster with mTLS on the frontend and between its services needs, and each client's pair. */
export interface ClusterPki extends Record<ClientComponent, Certificate> {
  ca: string;
  /** The CA's private key: signs the others; no service or client needs it. */
  caKey: string;
  /** Served by the frontend to clients; SAN the frontend's name, localhost and 127.0.0.1. */
  frontend: Certificate;
  /** Between Temporal's services (server and client); also what its system worker presents to the frontend. */
  internode: Certificate;
}

export const FRONTEND_SERVER_NAME = 'temporal-frontend';
export const INTERNODE_SERVER_NAME = 'temporal-internode';
const CA_DAYS = 365;

const exists = (file: string) => fs.access(file).then(() => true, () => false);

/**
 * Made once in `dir` and kept: a restart of the cluster keeps its certificates (valid a year). A directory made
 * before a component had its own certificate gets the missing ones from the CA already there.
 */
export async function clusterPki(dir: string): Promise<ClusterPki> {
  const leaf = (name: string): Certificate => ({ cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) });
  const clients = Object.fromEntries(Object.keys(CLIENT_COMPONENTS).map((component) => [component, leaf(component)])) as Record<ClientComponent, Certificate>;
  const kept: ClusterPki = { ca: path.join(dir, 'ca.crt'), caKey: path.join(dir, 'ca.key'), frontend: leaf('frontend'), internode: leaf('internode'), ...clients };
  const servers = await Promise.all([kept.ca, kept.frontend.key, kept.internode.key].map(exists));
  const newCa = !servers.every(Boolean);
  if (newCa) {
    const ca = await CertificateAuthority.create(dir, 'ca', '/CN=vip-router cluster CA', CA_DAYS);
    await ca.issue({ name: 'frontend', subject: `/CN=${FRONTEND_SERVER_NAME}`, usage: 'serverAuth', san: `DNS:${FRONTEND_SERVER_NAME},DNS:localhost,IP:127.0.0.1` });
    await ca.issue({ name: 'internode', subject: `/CN=${INTERNODE_SERVER_NAME}`, usage: 'serverAuth,clientAuth', san: `DNS:${INTERNODE_SERVER_NAME},IP:127.0.0.1` });
  }
  for (const [component, commonName] of Object.entries(CLIENT_COMPONENTS) as Array<[ClientComponent, string]>) {
    if (!newCa && (await exists(kept[component].key))) continue;
    if (!(await exists(kept.caKey))) {
      throw new Error(`${kept[component].key} is missing and ${dir} holds no ca.key to issue it: put your PKI's ${component}.crt and ${component}.key there`);
    }
    await CertificateAuthority.open(dir, 'ca', CA_DAYS).issue({ name: component, subject: `/CN=${commonName}`, usage: 'clientAuth' });
  }
  return kept;
}
