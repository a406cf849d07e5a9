import { createHash, randomBytes } from 'node:crypto';
import {
  type ApiKeyRecord,
  type ApiKeyScope,
  countActiveApiKeys,
  ensureApiKey,
  insertApiKey,
  revokeApiKeysNamed,
  useApiKey,
} from '../db/api-keys';
import type { Db } from '../db/pool';

export type { ApiKeyRecord, ApiKeyScope };

export const API_KEY_SCOPES: readonly ApiKeyScope[] = ['admin', 'integration', 'read', 'codec'];

/** What each scope may do, for help texts and the README. */
export const SCOPE_MEANING: Record<ApiKeyScope, string> = {
  admin: 'everything',
  integration: 'open conversations, post messages, close, read a conversation state',
  read: 'every GET',
  codec: 'the payload codec endpoints Temporal UI calls',
};

/** A bootstrap key chosen by an operator must not be guessable. */
export const MIN_KEY_LENGTH = 24;

const KEY_PREFIX = 'vr_';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A key as printed once: `vr_` and 256 random bits. */
export function generateApiKey(): string {
  return `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

function newKeyId(): string {
  return `key_${randomBytes(6).toString('hex')}`;
}

/** Whether a key of `scope` may use a route open to `allowed` (admin may use every route). */
export function scopeAllows(scope: ApiKeyScope, allowed: readonly ApiKeyScope[]): boolean {
  return scope === 'admin' || allowed.includes(scope);
}

/** The last four characters, the most of a key a log line or a listing ever shows. */
export function maskKey(key: string): string {
  return key.length <= 8 ? '****' : `****${key.slice(-4)}`;
}

interface CacheEntry {
  record: ApiKeyRecord | undefined;
  until: number;
}

/**
 * Keys by hash, with a short cache so a busy client costs one database read every few seconds, not one per
 * request; a revoked key stops working within `cacheMs` on every API process.
 */
export class ApiKeys {
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    private readonly db: Db,
    private readonly cacheMs = 5_000,
  ) {}

  async create(scope: ApiKeyScope, name: string): Promise<{ key: string; record: ApiKeyRecord }> {
    const key = generateApiKey();
    const record = await insertApiKey(this.db, { id: newKeyId(), name, scope, keyHash: hashApiKey(key) });
    return { key, record };
  }

  /** Makes a key of this name and revokes the ones made before it (a process's own key, renewed at each start). */
  async renew(scope: ApiKeyScope, name: string): Promise<string> {
    const { key, record } = await this.create(scope, name);
    await revokeApiKeysNamed(this.db, name, record.id);
    return key;
  }

  /** A key the operator chose (from the environment), stored (hashed) with this scope if it is not yet. */
  async adopt(key: string, name: string, scope: ApiKeyScope = 'admin'): Promise<void> {
    if (key.length < MIN_KEY_LENGTH) throw new Error(`an API key set in the environment must be at least ${MIN_KEY_LENGTH} characters long`);
    await ensureApiKey(this.db, { id: newKeyId(), name, scope, keyHash: hashApiKey(key) });
  }

  async anyActive(): Promise<boolean> {
    return (await countActiveApiKeys(this.db)) > 0;
  }

  /** The active key this presented value is, if any. */
  async verify(presented: string): Promise<ApiKeyRecord | undefined> {
    const hash = hashApiKey(presented);
    const now = Date.now();
    const cached = this.cache.get(hash);
    if (cached && cached.until > now) return cached.record;
    const record = await useApiKey(this.db, hash);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { record, until: now + this.cacheMs });
    return record;
  }
}

/**
 * The first admin key: the operator's own (VIP_ROUTER_BOOTSTRAP_API_KEY) when set; else, when `createIfNone` (what
 * `npm start` does) and no key is active yet, a new one, returned so it can be shown once.
 */
export async function bootstrapApiKeys(
  keys: ApiKeys,
  options: { bootstrapKey?: string; uiCodecKey?: string; createIfNone: boolean },
): Promise<{ created?: string; anyActive: boolean }> {
  if (options.uiCodecKey) await keys.adopt(options.uiCodecKey, 'Temporal UI codec (VIP_ROUTER_UI_CODEC_KEY)', 'codec');
  if (options.bootstrapKey) {
    await keys.adopt(options.bootstrapKey, 'bootstrap');
    return { anyActive: true };
  }
  if (await keys.anyActive()) return { anyActive: true };
  if (!options.createIfNone) return { anyActive: false };
  const { key } = await keys.create('admin', 'first admin key (npm start)');
  return { created: key, anyActive: true };
}
