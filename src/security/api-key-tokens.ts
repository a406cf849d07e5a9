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
import { apiKeyReads } from '../observability/metrics';

export type { ApiKeyRecord, ApiKeyScope };

export const API_KEY_SCOPES: readonly ApiKeyScope[] = ['admin', 'integration', 'read', 'codec', 'decode', 'metrics'];

/** What each scope may do, for help texts and the README. */
export const SCOPE_MEANING: Record<ApiKeyScope, string> = {
  admin: 'everything',
  integration: 'open conversations, post messages, close, read a conversation state',
  read: 'every GET',
  codec: 'the payload codec endpoints (encode and decode)',
  decode: 'the payload codec\'s decode only (what Temporal UI calls)',
  metrics: 'GET /metrics only (a Prometheus scraper)',
};

/** What an operator-chosen key must be: 32 random bytes written out, or more. */
const KEY_STRENGTH_RULE = '32 random bytes or more: 64+ hex digits (openssl rand -hex 32) or 43+ base64/base64url characters (openssl rand -base64 32)';

const MAX_KEY_LENGTH = 512;
const HEX = /^[0-9a-f]+$/i;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Whether a presented value could be a key at all: 32 random bytes' worth in hex (64 digits) or base64/base64url
 * (43 characters without padding). Our own keys (`vr_` and 43 base64url characters) are base64url. Anything else is
 * refused without a database read.
 */
function isWellFormedKey(key: string): boolean {
  if (key.length > MAX_KEY_LENGTH) return false;
  if (HEX.test(key)) return key.length >= 64;
  if (BASE64URL.test(key) || BASE64.test(key)) return key.replace(/=+$/, '').length >= 43;
  return false;
}

const KEY_PREFIX = 'vr_';

function hashApiKey(key: string): string {
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

interface CacheEntry {
  record: ApiKeyRecord | undefined;
  until: number;
}

/** At most `max` entries; the least recently used goes first. (A Map keeps insertion order: a hit re-inserts.) */
class LruCache<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly max: number) {}

  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }
}

export interface ApiKeysOptions {
  /** How long a found key is trusted without a read: a revocation reaches every API process within this. */
  cacheMs?: number;
  /** How long "no such key" is remembered: the same wrong key sent again costs no read. */
  negativeCacheMs?: number;
  cacheEntries?: number;
  /** How long a key found once is vouched for: its reads need no failure allowance of the client's address. */
  vouchMs?: number;
}

/**
 * Keys by hash, with a short cache so a busy client costs one database read every few seconds, not one per
 * request; a revoked key stops working within `cacheMs` on every API process. A value that cannot be a key costs
 * no read, the same unknown key costs one read per `negativeCacheMs`, and concurrent reads of one key are one read.
 */
export class ApiKeys {
  private readonly cache: LruCache<CacheEntry>;
  /** Keys found active lately, by hash, until when: a flood from their client's address does not lock them out. */
  private readonly vouchedUntil: LruCache<number>;
  private readonly vouchMs: number;
  private readonly reading = new Map<string, Promise<ApiKeyRecord | undefined>>();
  private readonly cacheMs: number;
  private readonly negativeCacheMs: number;

  constructor(
    private readonly db: Db,
    { cacheMs = 5_000, negativeCacheMs = 30_000, cacheEntries = 10_000, vouchMs = 3_600_000 }: ApiKeysOptions = {},
  ) {
    this.vouchedUntil = new LruCache(cacheEntries);
    this.vouchMs = vouchMs;
    this.cacheMs = cacheMs;
    this.negativeCacheMs = negativeCacheMs;
    this.cache = new LruCache(cacheEntries);
  }

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

  /**
   * A key the operator chose (from the environment), stored (hashed) under `name` with this scope, and the only
   * active key of that name: changing the value in the environment revokes the value before. A value revoked
   * before, or stored as another key, is refused rather than brought back.
   */
  async adopt(key: string, name: string, scope: ApiKeyScope = 'admin'): Promise<void> {
    if (!isWellFormedKey(key)) throw new Error(`${name}: a key set in the environment must be ${KEY_STRENGTH_RULE}`);
    const record = await ensureApiKey(this.db, { id: newKeyId(), name, scope, keyHash: hashApiKey(key) });
    if (record.revokedAt !== null) throw new Error(`${name}: this key was revoked (${record.id}); set a new one`);
    if (record.name !== name || record.scope !== scope) throw new Error(`${name}: this value is already the key ${record.id} (${record.scope}, "${record.name}"); choose another`);
    await revokeApiKeysNamed(this.db, name, record.id);
  }

  async anyActive(): Promise<boolean> {
    return (await countActiveApiKeys(this.db)) > 0;
  }

  /**
   * What the cache knows of a presented value without a read: the key, `null` when it is known not to be one
   * (malformed, or unknown when last read), `undefined` when only a read can tell.
   */
  known(presented: string): ApiKeyRecord | null | undefined {
    if (!isWellFormedKey(presented)) return null;
    const cached = this.cache.get(hashApiKey(presented));
    if (!cached || cached.until <= Date.now()) return undefined;
    return cached.record ?? null;
  }

  /** Whether this value was an active key lately (it may have been revoked since: only a read tells). */
  vouched(presented: string): boolean {
    return (this.vouchedUntil.get(hashApiKey(presented)) ?? 0) > Date.now();
  }

  /** Reads the key from the database (one read for concurrent callers of one key) and caches the answer. */
  async read(presented: string): Promise<ApiKeyRecord | undefined> {
    const hash = hashApiKey(presented);
    const pending = this.reading.get(hash);
    if (pending) return pending;
    const reading = useApiKey(this.db, hash)
      .then((record) => {
        apiKeyReads.inc({ outcome: record ? 'found' : 'unknown' });
        if (record) this.vouchedUntil.set(hash, Date.now() + this.vouchMs);
        else this.vouchedUntil.delete(hash);
        this.cache.set(hash, { record, until: Date.now() + (record ? this.cacheMs : this.negativeCacheMs) });
        return record;
      })
      .finally(() => this.reading.delete(hash));
    this.reading.set(hash, reading);
    return reading;
  }

  /** The active key this presented value is, if any. */
  async verify(presented: string): Promise<ApiKeyRecord | undefined> {
    const known = this.known(presented);
    if (known !== undefined) return known ?? undefined;
    return this.read(presented);
  }
}

const BOOTSTRAP_KEY_NAME = 'bootstrap';
const UI_CODEC_KEY_NAME = 'Temporal UI codec (VIP_ROUTER_UI_CODEC_KEY)';

/**
 * The first admin key: the operator's own (VIP_ROUTER_BOOTSTRAP_API_KEY) when set; else, when `createIfNone` (what
 * `npm start` does) and no key is active yet, a new one, returned so it can be shown once.
 */
export async function bootstrapApiKeys(
  keys: ApiKeys,
  options: { bootstrapKey?: string; uiCodecKey?: string; createIfNone: boolean },
): Promise<{ created?: string; anyActive: boolean }> {
  if (options.uiCodecKey && options.uiCodecKey === options.bootstrapKey) throw new Error('VIP_ROUTER_UI_CODEC_KEY and VIP_ROUTER_BOOTSTRAP_API_KEY must differ');
  if (options.uiCodecKey) await keys.adopt(options.uiCodecKey, UI_CODEC_KEY_NAME, 'decode');
  if (options.bootstrapKey) {
    await keys.adopt(options.bootstrapKey, BOOTSTRAP_KEY_NAME);
    return { anyActive: true };
  }
  if (await keys.anyActive()) return { anyActive: true };
  if (!options.createIfNone) return { anyActive: false };
  const { key } = await keys.create('admin', 'first admin key (npm start)');
  return { created: key, anyActive: true };
}
