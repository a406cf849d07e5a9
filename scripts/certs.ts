import { X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type ClientComponent, CLIENT_COMPONENTS, clusterPki, type ClusterPki } from '../tools/pki';

/** The users of the images that read the keys: temporalio/server, admin-tools and ui (`temporal`), node (`node`). */
const CONTAINER_UID = 1000;

const USAGE = `usage: npm run certs -- [--dir .data/certs] [--uid ${CONTAINER_UID}]

Makes the Temporal cluster's mTLS certificates in --dir, the way \`npm run cluster\` makes its own (tools/pki.ts):
a CA, the frontend's server certificate (temporal-frontend), the one Temporal's services present to each other
(temporal-internode), and one client certificate per component: worker, api, ui (Temporal UI) and admin (the
namespace job and the CLI). Files already there are kept: run it again and nothing changes (a directory from before
the per-component certificates gets the missing ones, signed by the CA already there). For docker-compose.yml: npm run certs -- --dir deploy/certs

The containers read the private keys as uid ${CONTAINER_UID} (the images' temporal and node users): run as root, this
gives them the frontend, internode and client keys (ca.key stays yours and is mounted nowhere); otherwise it prints
the chown to run. --uid: the host uid the containers' user maps to, when not ${CONTAINER_UID} (rootless Docker, userns-remap).`;

/** Each file, and who uses it. */
function described(pki: ClusterPki): Array<[file: string, role: string]> {
  return [
    [pki.ca, 'CA certificate: every service and client trusts it'],
    [pki.caKey, "CA private key: signs these certificates; no container gets it"],
    [pki.frontend.cert, "the frontend's server certificate (Temporal's clients connect to it)"],
    [pki.frontend.key, 'its key'],
    [pki.internode.cert, "what Temporal's services present to each other (server and client)"],
    [pki.internode.key, 'its key'],
    ...(Object.keys(CLIENT_COMPONENTS) as ClientComponent[]).flatMap((component): Array<[string, string]> => [
      [pki[component].cert, `${CLIENT_ROLES[component]}'s client certificate (CN=${CLIENT_COMPONENTS[component]})`],
      [pki[component].key, 'its key'],
    ]),
  ];
}

const CLIENT_ROLES: Record<ClientComponent, string> = {
  worker: "vip-router's workers",
  api: "vip-router's API",
  ui: 'Temporal UI',
  admin: 'the namespace job and the Temporal CLI',
};

/** The keys the containers read. */
function containerKeys(pki: ClusterPki): string[] {
  return [pki.frontend.key, pki.internode.key, ...(Object.keys(CLIENT_COMPONENTS) as ClientComponent[]).map((component) => pki[component].key)];
}

function certificateDetails(file: string, pem: Buffer): string {
  if (!file.endsWith('.crt')) return '';
  const certificate = new X509Certificate(pem);
  const subject = certificate.subject.replaceAll('\n', ', ');
  const san = certificate.subjectAltName ? `; ${certificate.subjectAltName}` : '';
  return ` [${subject}${san}; until ${new Date(certificate.validTo).toISOString().slice(0, 10)}]`;
}

async function main(): Promise<number> {
  let values: { dir?: string; uid?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        dir: { type: 'string', default: path.join('.data', 'certs') },
        uid: { type: 'string', default: String(CONTAINER_UID) },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const uid = Number(values.uid);
  if (!Number.isInteger(uid) || uid < 0) {
    console.error(`--uid: not a user id: ${values.uid}\n\n${USAGE}`);
    return 2;
  }
  const dir = path.resolve(values.dir!);
  const before = await contents(dir);
  const pki = await clusterPki(dir);
  const files = described(pki);
  const made = await Promise.all(files.map(async ([file]) => !before.get(path.basename(file))?.equals(await fs.readFile(file))));

  const relative = path.relative(process.cwd(), dir);
  const where = relative === '' ? '.' : relative.startsWith('..') ? dir : relative;
  console.log(made.some(Boolean) ? `made Temporal's mTLS certificates in ${where}:` : `kept Temporal's mTLS certificates in ${where} (all there already):`);
  for (const [i, [file, role]] of files.entries()) {
    const state = made[i] ? 'made' : 'kept';
    console.log(`  ${state} ${path.basename(file).padEnd(14)} ${role}${certificateDetails(file, await fs.readFile(file))}`);
  }

  const keys = containerKeys(pki);
  const owners = await Promise.all(keys.map(async (file) => (await fs.stat(file)).uid));
  if (owners.every((owner) => owner === uid)) {
    console.log(`the containers (uid ${uid}) can read the keys they use`);
  } else if (process.getuid?.() === 0) {
    await Promise.all(keys.map((file) => fs.chown(file, uid, uid)));
    console.log(`gave ${keys.map((file) => path.basename(file)).join(', ')} to uid ${uid}, the containers' user (mode 0600 kept)`);
  } else {
    const named = keys.map((file) => path.join(where, path.basename(file)));
    console.log(`the containers read the keys as uid ${uid}; run: sudo chown ${uid}:${uid} ${named.join(' ')}`);
  }
  return 0;
}

/** What `dir` holds now, file name to bytes (nothing when it does not exist yet). */
async function contents(dir: string): Promise<Map<string, Buffer>> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  return new Map(await Promise.all(names.map(async (name) => [name, await fs.readFile(path.join(dir, name)).catch(() => Buffer.alloc(0))] as const)));
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
