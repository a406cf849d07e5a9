import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { badUtf8Bytes, jsonArray, KB, type Valid } from './values';

/** Requests made bad: one field of a valid body, the body sent wrong (not JSON, bad UTF-8, content type), too large. */

export interface BadRequest {
  method: string;
  /** Path and query as sent, already encoded. */
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** Sent as a stream without Content-Length, so the size limit is met while reading. */
  chunked?: boolean;
  /** The statuses this request may get; all 4xx. */
  expect: readonly number[];
}

// ---------------------------------------------------------------------------------------------------------------
// Bodies: one field of a valid body made bad

export const REMOVE = Symbol('remove');

export function withField(base: Record<string, unknown>, path: readonly string[], value: unknown): unknown {
  const copy = structuredClone(base);
  let target = copy as Record<string, unknown>;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string, unknown>;
  const last = path[path.length - 1]!;
  if (value === REMOVE) delete target[last];
  else target[last] = value;
  return copy;
}

/** A valid body with exactly one field replaced by a value its schema refuses (or removed, when required). */
export function oneFieldBad(base: Valid, fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> {
  const bad = Object.entries(fields).map(([path, value]) => fc.tuple(fc.constant(path.split('.')), value));
  return fc.tuple(base, fc.oneof(...bad)).map(([body, [path, value]]) => withField(body, path, value));
}

/** The first arbitrary most of the time (one bad field), the others now and then (whole-body cases). */
export function mostly(first: fc.Arbitrary<unknown>, ...others: Array<fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 4 * others.length, arbitrary: first }, ...others);
}

/** Bodies that are no object at all, or an empty one (every body-taking route needs fields). */
export function notAnObjectBody(...more: Array<fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> {
  return fc.oneof(fc.constant({}), jsonArray, ...more);
}

/** An extra key for strict schemas; `__proto__` and friends are left out so the case stays unambiguous. */
export const unknownKey = (known: readonly string[]) =>
  fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !known.includes(k) && !['__proto__', 'constructor', 'prototype'].includes(k));

// ---------------------------------------------------------------------------------------------------------------
// Requests

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** A body sent as JSON, as it is (not necessarily valid JSON). */
export function textRequest(key: string, method: string, path: string, body: string | Uint8Array, expect: readonly number[] = [400]): BadRequest {
  return { method, path, headers: { ...bearer(key), 'content-type': 'application/json' }, body, expect };
}

export function jsonRequest(key: string, method: string, path: string, body: unknown, expect: readonly number[] = [400]): BadRequest {
  return textRequest(key, method, path, JSON.stringify(body), expect);
}

const WRONG_CONTENT_TYPES = [
  'text/plain',
  'text/plain;charset=UTF-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=bad-input-boundary',
  'application/xml',
  'application/octet-stream',
  'application/vnd.api+json',
  'application/json-patch+json',
  'text/json',
  'application/jsonx',
  '',
];

function asContentType(json: string, contentType: string): { headers: Record<string, string>; body: string | Uint8Array } {
  if (contentType === '') return { headers: {}, body: new TextEncoder().encode(json) };
  if (contentType.startsWith('multipart/')) {
    const part = [
      '--bad-input-boundary',
      'Content-Disposition: form-data; name="body"',
      'Content-Type: application/json',
      '',
      json,
      '--bad-input-boundary--',
      '',
    ];
    return { headers: { 'content-type': contentType }, body: part.join('\r\n') };
  }
  if (contentType === 'application/x-www-form-urlencoded') return { headers: { 'content-type': contentType }, body: `body=${encodeURIComponent(json)}` };
  return { headers: { 'content-type': contentType }, body: json };
}

/** Where a body's text gets what JSON.stringify cannot make: bad bytes, deep nesting. */
export const MARK = 'SPLICE-HERE';

/** The bytes of `text` with `bad` where MARK is. */
export function splice(text: string, bad: number[]): Uint8Array {
  const [head, tail] = text.split(MARK) as [string, string];
  return Buffer.concat([Buffer.from(head), Buffer.from(bad), Buffer.from(tail)]);
}

/** Bad bytes right after the opening brace: the JSON cannot parse, whatever the decoder makes of them. */
export const afterBrace = (json: string) => json.replace('{', `{${MARK}`);

/** Arrays or objects nested thousands deep (under 100 kB), as the value of a field that must be a string. */
const deepValue = fc.oneof(
  fc.integer({ min: 1_000, max: 45_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
  fc.integer({ min: 1_000, max: 15_000 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
);
export const nestedAt = (valid: Valid, field: readonly string[]) =>
  fc.tuple(valid, deepValue).map(([body, deep]) => JSON.stringify(withField(body, field, MARK)).replace(`"${MARK}"`, deep));

export const INVALID_JSON = [
  "{'contact': {'id': 'x'}}",
  '{contact: {id: "x"}}',
  '{"a": NaN}',
  '{"a": 1,}',
  '/* comment */ {}',
  '{"a": undefined}',
  '{"a": "\\x41"}',
  '{"a": "\\u12"}',
  '{"a": "unterminated}',
  '\u0000',
  '[1, 2',
  '01',
  '-',
  '{"a": 1}{"b": 2}',
  'nul',
  'tru',
  '"just a string"',
  '42',
  'null',
  'true',
];

interface RawBodyOptions {
  key: string;
  method: string;
  path: string;
  /** Valid bodies for the route: refused here only for how they are sent. */
  valid: Valid;
  /** Where bad UTF-8 inside a value still breaks the body: an id (its rule is ASCII). */
  idField?: readonly string[];
  /** The route ignores its body (close): a body that is not read would let it through. */
  bodyIgnored?: boolean;
  bodyLimit?: number;
}

/** The same route, its body sent wrong: not JSON, bad UTF-8, another content type or charset, unknown encoding. */
export function rawBodies({ key, method, path, valid, idField, bodyIgnored = false }: RawBodyOptions): fc.Arbitrary<BadRequest> {
  const json = { ...bearer(key), 'content-type': 'application/json' };
  const invalidJson = valid.chain((body) => {
    const text = JSON.stringify(body);
    return fc.oneof(
      fc.integer({ min: 1, max: text.length - 1 }).map((cut) => text.slice(0, cut)),
      fc.constantFrom('x', '}', ',', ']', '\u0000').map((suffix) => text + suffix),
      fc.constantFrom(...INVALID_JSON),
    );
  });
  const structuralUtf8 = fc.tuple(valid, badUtf8Bytes).map(([body, bad]) => splice(afterBrace(JSON.stringify(body)), bad));
  // Decoded, bad UTF-8 becomes U+FFFD: only where that is refused too (an id) does it stay bad input.
  const utf8InId = idField
    ? fc.tuple(valid, badUtf8Bytes).map(([body, bad]) => splice(JSON.stringify(withField(body, idField, `id-${MARK}-x`)), bad))
    : structuralUtf8;
  const variants: Array<fc.Arbitrary<BadRequest>> = [
    invalidJson.map((body) => ({ method, path, headers: json, body, expect: [400] })),
    fc.oneof(structuralUtf8, utf8InId).map((body) => ({ method, path, headers: json, body, expect: [400] })),
    fc.tuple(valid, fc.constantFrom('latin1', 'iso-8859-1', 'koi8-r', 'windows-1252', 'ascii', 'x-unknown')).map(([body, charset]) => ({
      method,
      path,
      headers: { ...bearer(key), 'content-type': `application/json; charset=${charset}` },
      body: JSON.stringify(body),
      expect: [415],
    })),
    fc
      // Brotli has no header to fail on: garbage might decode to nothing, and an empty body is a valid close.
      .tuple(valid, fc.constantFrom(...(bodyIgnored ? [] : ['br']), 'gzip', 'deflate', 'compress', 'zstd', 'x-unknown', 'identity, gzip'))
      .map(([body, encoding]) => ({
        method,
        path,
        headers: { ...json, 'content-encoding': encoding },
        body: JSON.stringify(body),
        expect: [400, 415],
      })),
  ];
  if (!bodyIgnored) {
    variants.push(
      fc.tuple(valid, fc.constantFrom(...WRONG_CONTENT_TYPES)).map(([body, contentType]) => {
        const sent = asContentType(JSON.stringify(body), contentType);
        return { method, path, headers: { ...bearer(key), ...sent.headers }, body: sent.body, expect: [400] };
      }),
    );
  }
  return fc.oneof(...variants);
}

/** Bodies over the route's limit (100 kB for /v1, 4 MB for the codec), sized up front or streamed. */
export function oversized({ key, method, path, valid, bodyLimit = 100 * KB }: RawBodyOptions): fc.Arbitrary<BadRequest> {
  return fc.tuple(valid, fc.integer({ min: bodyLimit + 1, max: bodyLimit * 2 }), fc.boolean()).map(([body, size, chunked]) => ({
    method,
    path,
    headers: { ...bearer(key), 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, padding: 'x'.repeat(size) }),
    chunked,
    expect: [413],
  }));
}

export function b64(text: string | Uint8Array): string {
  return Buffer.from(text).toString('base64');
}

/** base64(HMAC-SHA256) over raw bytes, for bodies that are not valid UTF-8 (signRespondioBody takes text). */
export function signBytes(raw: Uint8Array, key: string): string {
  return createHmac('sha256', key).update(raw).digest('base64');
}
