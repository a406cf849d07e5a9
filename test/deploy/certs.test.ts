/**
 * `npm run certs` (scripts/certs.ts): the certificates docker-compose.yml mounts, made by the cluster's own
 * clusterPki, checked with openssl, and kept on a second run.
 *
 *   node --import tsx --test test/deploy/certs.test.ts
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { type ClientComponent, CLIENT_COMPONENTS, FRONTEND_SERVER_NAME, INTERNODE_SERVER_NAME } from '../../tools/pki';
import { REPO_ROOT } from '../../tools/repo';

const COMPONENTS = Object.keys(CLIENT_COMPONENTS) as ClientComponent[];

const SCRIPT = join(REPO_ROOT, 'scripts', 'certs.ts');

function certs(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', SCRIPT, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The same, without waiting: for the runs that make nothing. */
function certsAsync(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', SCRIPT, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      done({ status: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

/** Every file of `dir`, name to bytes. */
function snapshot(dir: string): Map<string, string> {
  return new Map(readdirSync(dir).map((name) => [name, readFileSync(join(dir, name), 'base64')]));
}

function verify(dir: string, leaf: string, purpose: string): string {
  return execFileSync('openssl', ['verify', '-CAfile', join(dir, 'ca.crt'), '-purpose', purpose, join(dir, leaf)], { encoding: 'utf8', stdio: 'pipe' }).trim();
}

describe('npm run certs', () => {
  let scratch: string;
  let dir: string;
  let first: ReturnType<typeof certs>;

  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'certs-test-'));
    dir = join(scratch, 'deploy', 'certs');
    first = certs('--dir', dir);
  });

  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('makes the CA, the two server leaves and one client leaf per component in --dir (made on the way), and says what each is for', () => {
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`^made Temporal's mTLS certificates in ${dir}:`, 'm'));
    const clients = COMPONENTS.flatMap((component) => [`${component}.crt`, `${component}.key`]);
    for (const name of ['ca.crt', 'ca.key', 'frontend.crt', 'frontend.key', 'internode.crt', 'internode.key', ...clients]) {
      assert.ok(statSync(join(dir, name)).isFile(), `${name} is missing`);
      assert.match(first.stdout, new RegExp(`^  made ${name.replace('.', '\\.')} `, 'm'), `the output does not name ${name}`);
    }
  });

  it('the CA verifies each leaf, for what it is used for', () => {
    assert.equal(verify(dir, 'frontend.crt', 'sslserver'), `${join(dir, 'frontend.crt')}: OK`);
    assert.equal(verify(dir, 'internode.crt', 'sslserver'), `${join(dir, 'internode.crt')}: OK`);
    assert.equal(verify(dir, 'internode.crt', 'sslclient'), `${join(dir, 'internode.crt')}: OK`);
    for (const component of COMPONENTS) {
      assert.equal(verify(dir, `${component}.crt`, 'sslclient'), `${join(dir, `${component}.crt`)}: OK`);
      // And refuses what a leaf is not for: a client certificate cannot serve.
      assert.throws(() => verify(dir, `${component}.crt`, 'sslserver'));
    }
  });

  it("names the frontend and the internode certificates as the cluster's services check them; each key is its certificate's", () => {
    const certificate = (name: string) => new X509Certificate(readFileSync(join(dir, `${name}.crt`)));
    assert.match(certificate('frontend').subjectAltName ?? '', new RegExp(`(^|, )DNS:${FRONTEND_SERVER_NAME}(,|$)`));
    assert.match(certificate('internode').subjectAltName ?? '', new RegExp(`(^|, )DNS:${INTERNODE_SERVER_NAME}(,|$)`));
    // One certificate per component, each its own subject and key: none shares another's.
    assert.deepEqual(COMPONENTS.map((component) => certificate(component).subject), COMPONENTS.map((component) => `CN=${CLIENT_COMPONENTS[component]}`));
    assert.equal(new Set(COMPONENTS.map((component) => readFileSync(join(dir, `${component}.key`), 'utf8'))).size, COMPONENTS.length);
    assert.equal(certificate('ca').ca, true);
    for (const name of ['frontend', 'internode', ...COMPONENTS]) {
      assert.ok(certificate(name).checkPrivateKey(createPrivateKey(readFileSync(join(dir, `${name}.key`)))), `${name}.key`);
      assert.ok(certificate(name).checkIssued(certificate('ca')), `${name}.crt is not issued by ca.crt`);
      assert.equal(statSync(join(dir, `${name}.key`)).mode & 0o077, 0, `${name}.key is readable by others`);
    }
  });

  it("gives the keys the containers read to uid 1000 (as root), never the CA's", (t) => {
    if (process.getuid?.() !== 0) {
      t.diagnostic('not root: the script prints the chown instead');
      assert.match(first.stdout, /sudo chown 1000:1000 /);
      return;
    }
    const keys = ['frontend.key', 'internode.key', ...COMPONENTS.map((component) => `${component}.key`)];
    for (const name of keys) assert.equal(statSync(join(dir, name)).uid, 1000, name);
    assert.equal(statSync(join(dir, 'ca.key')).uid, 0, 'ca.key stays root’s');
    assert.match(first.stdout, new RegExp(`gave ${keys.join(', ').replaceAll('.', '\\.')} to uid 1000`));
  });

  it('a second run keeps every file as it is', () => {
    const before = snapshot(dir);
    const second = certs('--dir', dir);
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /^kept Temporal's mTLS certificates in .* \(all there already\):/m);
    assert.doesNotMatch(second.stdout, /^ {2}made /m);
    assert.deepEqual(snapshot(dir), before);
  });

  it("a missing client certificate is issued by the CA already there (a directory from before per-component certificates), and says so", () => {
    const ca = readFileSync(join(dir, 'ca.crt'), 'utf8');
    const frontend = readFileSync(join(dir, 'frontend.crt'), 'utf8');
    rmSync(join(dir, 'worker.key'));
    rmSync(join(dir, 'worker.crt'));
    const again = certs('--dir', dir);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /^made /m);
    assert.match(again.stdout, /^ {2}made worker\.key /m);
    assert.match(again.stdout, /^ {2}kept api\.key /m);
    assert.equal(readFileSync(join(dir, 'ca.crt'), 'utf8'), ca, 'the CA is kept');
    assert.equal(readFileSync(join(dir, 'frontend.crt'), 'utf8'), frontend, 'the other leaves are kept');
    assert.equal(verify(dir, 'worker.crt', 'sslclient'), `${join(dir, 'worker.crt')}: OK`);
  });

  it('a set missing a server key is made anew, clients included, and says so', () => {
    const ca = readFileSync(join(dir, 'ca.crt'), 'utf8');
    rmSync(join(dir, 'internode.key'));
    const again = certs('--dir', dir);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /^ {2}made internode\.key /m);
    assert.match(again.stdout, /^ {2}made api\.key /m);
    assert.notEqual(readFileSync(join(dir, 'ca.crt'), 'utf8'), ca, 'a new CA: the leaves are issued together');
    for (const component of COMPONENTS) assert.equal(verify(dir, `${component}.crt`, 'sslclient'), `${join(dir, `${component}.crt`)}: OK`);
  });

  it('refuses an unknown option or a bad --uid with its usage (exit 2); --help shows it (exit 0)', async () => {
    const [unknown, uid, help] = await Promise.all([certsAsync('--director', dir), certsAsync('--dir', dir, '--uid', 'temporal'), certsAsync('--help')]);
    for (const result of [unknown, uid]) {
      assert.equal(result.status, 2, result.stderr);
      assert.match(result.stderr, /usage: npm run certs -- \[--dir \.data\/certs\]/);
    }
    assert.match(unknown.stderr, /--director/);
    assert.match(uid.stderr, /--uid: not a user id: temporal/);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^usage: npm run certs -- \[--dir \.data\/certs\]/);
  });

  it('the default --dir (.data/certs) is ignored by git, as is deploy/certs', () => {
    for (const path of ['.data/certs/worker.key', 'deploy/certs/admin.key']) {
      assert.doesNotThrow(() => execFileSync('git', ['check-ignore', '-q', path], { cwd: REPO_ROOT }), `${path} is not git-ignored`);
    }
  });
});
