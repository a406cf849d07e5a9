import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { defaultPayloadConverter, METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { ConfigError } from '../domain/routing-config';
import { refusedPayload } from '../workflows/refused-payload';

/**
 * Metadata keys and layout (IV ‖ ciphertext ‖ tag) are those of Temporal's encryption samples, so their codec
 * servers and ours read each other's payloads.
 */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const METADATA_KEY_ID = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

const KEY_ID = /^[A-Za-z0-9._-]+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export interface CodecKey {
  id: string;
  /** 32 bytes: AES-256. */
  key: Buffer;
}

/** A payload this codec cannot decode: names the key id, never key material or the payload. */
export class CodecError extends Error {
  override name = 'CodecError';
}

/**
 * AES-256-GCM over the whole serialized Payload (its metadata included), a fresh random IV per payload. The first
 * key of the ring encrypts; every key decrypts, so histories written before a rotation still replay. Payloads that
 * are not `binary/encrypted` pass through decode unchanged: histories from before encryption keep replaying.
 */
export class AesGcmCodec implements PayloadCodec {
  private readonly keys: ReadonlyMap<string, KeyObject>;
  private readonly encryptingKeyId: string;

  constructor(ring: readonly CodecKey[]) {
    checkKeyRing(ring);
    this.keys = new Map(ring.map(({ id, key }) => [id, createSecretKey(key)]));
    this.encryptingKeyId = ring[0]!.id;
  }

  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const key = this.keys.get(this.encryptingKeyId)!;
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING), [METADATA_KEY_ID]: Buffer.from(this.encryptingKeyId) },
        data: sealed,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => (isEncrypted(payload) ? this.decrypt(payload) : payload));
  }

  private decrypt(payload: Payload): Payload {
    const keyIdBytes = payload.metadata?.[METADATA_KEY_ID];
    if (!keyIdBytes) throw new CodecError(`an encrypted payload has no ${METADATA_KEY_ID} metadata`);
    const keyId = Buffer.from(keyIdBytes).toString();
    const key = this.keys.get(keyId);
    if (!key) {
      throw new CodecError(`a payload is encrypted with key "${keyId}", which is not in the codec key ring (${this.keyIds.join(', ')})`);
    }
    const sealed = payload.data ?? new Uint8Array();
    if (sealed.length < IV_BYTES + TAG_BYTES) throw new CodecError(`a payload encrypted with key "${keyId}" is truncated`);
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
    } catch (error) {
      throw new CodecError(`a payload encrypted with key "${keyId}" failed authentication: it was altered, or the key under that id changed`, {
        cause: error,
      });
    }
    return temporal.api.common.v1.Payload.decode(plain);
  }
}

/**
 * The worker's codec: what `codec` cannot decrypt (a payload that is not encrypted, or one encrypted with a key the
 * ring does not hold, or altered) reaches the runs as a refused payload (see refused-payload.ts) rather than as
 * itself, so no one who can start or signal a run without the key steers it; and rather than as an error, which
 * would fail the run's workflow task for good. Every payload a run legitimately reads was written by a client or
 * worker holding the key (headers and search attributes do not pass through codecs).
 */
export function refusingUnencrypted(codec: AesGcmCodec, onRefused: (reason: string) => void = () => undefined): PayloadCodec {
  const refuse = (reason: string): Payload => {
    onRefused(reason);
    return defaultPayloadConverter.toPayload(refusedPayload(reason))!;
  };
  return {
    encode: (payloads) => codec.encode(payloads),
    decode: (payloads) =>
      Promise.all(
        payloads.map(async (payload) => {
          if (!isEncrypted(payload)) return refuse('a payload that is not encrypted');
          try {
            return (await codec.decode([payload]))[0]!;
          } catch (error) {
            if (!(error instanceof CodecError)) throw error;
            return refuse(error.message);
          }
        }),
      ),
  };
}

function isEncrypted(payload: Payload): boolean {
  const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
  return encoding !== undefined && Buffer.from(encoding).toString() === ENCRYPTED_ENCODING;
}

function checkKeyRing(ring: readonly CodecKey[]): void {
  if (ring.length === 0) throw new ConfigError('the codec key ring is empty: give at least one key');
  const seen = new Set<string>();
  for (const { id, key } of ring) {
    if (!KEY_ID.test(id)) throw new ConfigError(`codec key id "${id}" is invalid: use letters, digits and . _ -`);
    if (seen.has(id)) throw new ConfigError(`codec key id "${id}" appears more than once`);
    seen.add(id);
    if (key.length !== KEY_BYTES) throw new ConfigError(`codec key "${id}" is ${key.length} bytes; AES-256 needs ${KEY_BYTES}`);
  }
}

/**
 * `id:base64key` entries separated by commas or newlines; blank lines and `#` comments are skipped. The first
 * entry encrypts. Errors name the entry and the id, never the key.
 */
export function parseCodecKeys(text: string): CodecKey[] {
  const entries = text
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .flatMap((line) => line.split(','))
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const ring = entries.map((entry, index): CodecKey => {
    const colon = entry.indexOf(':');
    if (colon <= 0) throw new ConfigError(`codec key entry ${index + 1} is not of the form id:base64key`);
    const id = entry.slice(0, colon).trim();
    const encoded = entry.slice(colon + 1).trim();
    if (!KEY_ID.test(id)) throw new ConfigError(`codec key entry ${index + 1}: the id is invalid: use letters, digits and . _ -`);
    if (!BASE64.test(encoded) || encoded.length % 4 !== 0) throw new ConfigError(`codec key "${id}" is not valid base64`);
    return { id, key: Buffer.from(encoded, 'base64') };
  });
  checkKeyRing(ring);
  return ring;
}

/** A fresh `id:base64key` line. Rotation: put a new line first and keep the old ones while histories use them. */
export function generateCodecKey(id = `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`): string {
  if (!KEY_ID.test(id)) throw new ConfigError(`codec key id "${id}" is invalid: use letters, digits and . _ -`);
  return `${id}:${randomBytes(KEY_BYTES).toString('base64')}`;
}

export const CODEC_KEYS_ENV = 'VIP_ROUTER_CODEC_KEYS';
export const CODEC_KEYS_FILE_ENV = 'VIP_ROUTER_CODEC_KEYS_FILE';
const GENERATED_FILE = 'codec-keys';

export interface LoadedCodecKeys {
  keys: CodecKey[];
  /** `generated`: the data-dir file was created just now; `data-dir`: it was made by an earlier start. */
  source: 'env' | 'file' | 'generated' | 'data-dir';
  path?: string;
}

export interface LoadCodecKeysOptions {
  env: NodeJS.ProcessEnv;
  dataDir?: string;
  /** Create `<dataDir>/codec-keys` when no key is configured (what `npm start` does). */
  generate: boolean;
}

/** VIP_ROUTER_CODEC_KEYS, else VIP_ROUTER_CODEC_KEYS_FILE, else (when allowed) a key file kept in the data dir. */
export async function loadCodecKeys({ env, dataDir, generate }: LoadCodecKeysOptions): Promise<LoadedCodecKeys> {
  const inline = env[CODEC_KEYS_ENV]?.trim();
  if (inline) return { keys: withSource(CODEC_KEYS_ENV, () => parseCodecKeys(inline)), source: 'env' };

  const file = env[CODEC_KEYS_FILE_ENV]?.trim();
  if (file) {
    const path = resolve(file);
    const text = await readFile(path, 'utf8').catch((error: unknown) => {
      throw new ConfigError(`${CODEC_KEYS_FILE_ENV}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`, { cause: error });
    });
    return { keys: withSource(path, () => parseCodecKeys(text)), source: 'file', path };
  }

  if (dataDir && !generate) {
    // An operator command beside `npm start`: its key file, when there is one.
    const path = join(resolve(dataDir), GENERATED_FILE);
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text !== undefined) return { keys: withSource(path, () => parseCodecKeys(text)), source: 'data-dir', path };
  }

  if (generate && dataDir) {
    const path = join(resolve(dataDir), GENERATED_FILE);
    await mkdir(resolve(dataDir), { recursive: true });
    // `wx`: when two processes start together, one creates the file and the other reads it.
    const created = await writeFile(path, generatedKeyFile(), { flag: 'wx', mode: 0o600 }).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'EEXIST') return false;
        throw error;
      },
    );
    const text = await readFile(path, 'utf8');
    return { keys: withSource(path, () => parseCodecKeys(text)), source: created ? 'generated' : 'data-dir', path };
  }

  throw new ConfigError(
    `no payload codec keys: set ${CODEC_KEYS_ENV} (id:base64key[,id:base64key…], the first encrypts) or ${CODEC_KEYS_FILE_ENV} (a file of such lines)`,
  );
}

function generatedKeyFile(): string {
  return [
    '# vip-router payload codec keys: id:base64key, one a line. The first encrypts, all decrypt.',
    '# Rotate by adding a new line on top; keep the old lines while histories encrypted with them are retained.',
    '# Losing this file makes those histories unreadable.',
    generateCodecKey(),
    '',
  ].join('\n');
}

function withSource<T>(source: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`${source}: ${error.message}`, { cause: error });
    throw error;
  }
}
