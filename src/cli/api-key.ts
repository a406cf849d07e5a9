import { parseArgs } from 'node:util';
import { parseEnv } from '../service/config';
import { listApiKeys, revokeApiKey } from '../db/api-keys';
import { API_KEY_SCOPES, type ApiKeyScope, ApiKeys, SCOPE_MEANING } from '../security/api-key-tokens';
import { openDatabase } from './local';

const USAGE = `usage:
  npm run api-key -- create --scope <${API_KEY_SCOPES.join('|')}> [--name <name>]
  npm run api-key -- list
  npm run api-key -- revoke <key id>

scopes:
${API_KEY_SCOPES.map((scope) => `  ${scope.padEnd(12)}${SCOPE_MEANING[scope]}`).join('\n')}`;

/** `npm run api-key`: make, list and revoke the API's keys. A new key is printed once; only its hash is kept. */
async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { scope: { type: 'string' }, name: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  if (command === 'create' && !API_KEY_SCOPES.includes(values.scope as ApiKeyScope)) {
    console.error(`create needs --scope, one of ${API_KEY_SCOPES.join(', ')}\n\n${USAGE}`);
    return 2;
  }
  if (command === 'revoke' && rest.length !== 1) {
    console.error(`revoke needs the key's id (see list)\n\n${USAGE}`);
    return 2;
  }
  if (!['create', 'list', 'revoke'].includes(command)) {
    console.error(`unknown command ${command}\n\n${USAGE}`);
    return 2;
  }

  const { db, close } = await openDatabase(parseEnv());
  try {
    switch (command) {
      case 'create': {
        const scope = values.scope as ApiKeyScope;
        const { key, record } = await new ApiKeys(db).create(scope, values.name ?? `${scope} key`);
        console.log(`created ${record.id} (${scope}: ${SCOPE_MEANING[scope]}); the key, shown this once:\n\n  ${key}\n`);
        return 0;
      }
      case 'list': {
        for (const key of await listApiKeys(db)) {
          const state = key.revokedAt ? `revoked ${new Date(key.revokedAt).toISOString()}` : 'active';
          const used = key.lastUsedAt ? `last used ${new Date(key.lastUsedAt).toISOString()}` : 'never used';
          console.log(`${key.id}\t${key.scope}\t${state}\t${used}\t${key.name}`);
        }
        return 0;
      }
      default: {
        const revoked = await revokeApiKey(db, rest[0]!);
        console.log(revoked ? `revoked ${rest[0]}` : `no active key ${rest[0]}`);
        return revoked ? 0 : 1;
      }
    }
  } finally {
    await close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
