import fc from 'fast-check';
import type { OpenApiDocument } from '../../../src/api/openapi';
import { b64, bearer, type BadRequest, jsonRequest, mostly, nestedAt, notAnObjectBody, oneFieldBad, oversized, rawBodies, REMOVE, textRequest, unknownKey, withField } from './bodies';
import {
  aNumber,
  badCapacity,
  badEmail,
  badIdText,
  badLanguage,
  badPathId,
  badTimestamp,
  blank,
  freshAgentId,
  freshContactId,
  idChars,
  jsonArray,
  jsonObject,
  KB,
  LONE_SURROGATE,
  notABoolean,
  notAnArray,
  notAnObject,
  notAString,
  textOver,
  unknownId,
  type Valid,
} from './values';
import { webhookRequests } from './webhook';

export type Scope = 'admin' | 'integration' | 'read' | 'codec';

export interface Generator {
  name: string;
  runs: number;
  arb: fc.Arbitrary<BadRequest>;
  /** The operations whose input (body, path, query) it makes bad. */
  input?: string[];
}

/** What exists before the fuzzing: a request that got through to any of these would change something real. */
export interface Fixtures {
  keys: Record<Scope, string>;
  revokedKey: string;
  /** A contact whose conversation is open and waiting for the email. */
  openContact: string;
  agentId: string;
  customerEmail: string;
  codecKeyId: string;
}

type Json = any;

/** An operation of the document, its path filled in with what the fixtures hold, and a body valid but for its key. */
export interface TableRoute {
  operationId: string;
  method: string;
  /** As the document writes it: `/v1/agents/{agentId}`. */
  template: string;
  /** As sent: path and query, encoded. */
  path: string;
  /** Called with `Authorization: Bearer <key>`. */
  keyed: boolean;
  /** The scopes it allows besides admin. */
  scopes: string[];
  /** The first example of its request body. */
  body?: unknown;
  takesInput: boolean;
}

/** The route table of the OpenAPI document: every operation, called on the fixtures. */
export function routeTable(spec: OpenApiDocument, f: Fixtures): TableRoute[] {
  const fixtures: Record<string, string> = { contactId: f.openContact, agentId: f.agentId, email: f.customerEmail };
  return Object.entries(spec.paths).flatMap(([template, item]) =>
    Object.entries(item).map(([method, operation]: [string, Json]) => {
      const parameters: Json[] = operation.parameters ?? [];
      const valueOf = (name: string): string => fixtures[name] ?? parameters.find((p) => p.name === name)?.example;
      const query = new URLSearchParams(parameters.filter((p) => p.in === 'query').map((p): [string, string] => [p.name, valueOf(p.name)])).toString();
      const examples: Json = operation.requestBody?.content['application/json']?.examples ?? {};
      return {
        operationId: operation.operationId,
        method: method.toUpperCase(),
        template,
        path: template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(valueOf(name))) + (query ? `?${query}` : ''),
        keyed: operation.security.some((requirement: Json) => 'apiKey' in requirement),
        scopes: operation['x-scopes'].filter((scope: string) => scope !== 'admin'),
        body: Object.values<Json>(examples)[0]?.value,
        takesInput: parameters.length > 0 || operation.requestBody !== undefined,
      };
    }),
  );
}

/** The generators, on the fixtures, for the routes of the document; the webhook's events signed with `signingKey`. */
export function generators(f: Fixtures, spec: OpenApiDocument, signingKey: string): Generator[] {
  const admin = f.keys.admin;
  const open = f.openContact;
  const routes = routeTable(spec, f);
  const anyRoute = fc.constantFrom(...routes.filter((route) => route.keyed));
  const requestFor = (route: TableRoute, headers: Record<string, string>, expect: readonly number[]): BadRequest => ({
    method: route.method,
    path: route.path,
    headers: route.body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    body: route.body === undefined ? undefined : JSON.stringify(route.body),
    expect,
  });

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
  const unauthenticated = fc.tuple(anyRoute, badAuthorization, fc.boolean()).map(([route, authorization, keyInOtherHeader]) => {
    const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
    if (keyInOtherHeader) headers['x-api-key'] = admin;
    return requestFor(route, headers, [401]);
  });
  const codecKeyInPath = fc
    .tuple(fc.constantFrom('encode', 'decode'), fc.oneof(fc.constantFrom(f.revokedKey, f.keys.read, `${f.keys.codec}x`, 'x'), badPathId))
    .map(([operation, key]): BadRequest => ({
      ...jsonRequest(admin, 'POST', `/codec/ui/${key}/${operation}`, { payloads: [] }),
      headers: { 'content-type': 'application/json' },
      expect: [400, 401, 403, 404],
    }));
  const forbidden = anyRoute.chain((route) => {
    const refused = (['integration', 'read', 'codec'] as const).filter((scope) => !route.scopes.includes(scope));
    return fc.constantFrom(...refused).map((scope) => requestFor(route, bearer(f.keys[scope]), [403]));
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
  const ROUTED = new Set(routes.map((route) => `${route.method} ${route.path.split('?')[0]}`));
  // A key in the path is checked before the route is looked up.
  const paths = [...new Set(routes.filter((route) => !route.template.includes('{key}')).map((route) => route.path.split('?')[0]!))];
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
  const { badSignature, signedMalformed, signedUnreadable, webhookTooLarge } = webhookRequests(signingKey);

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
    { name: 'codec key in the path wrong', input: ['codecUiEncode', 'codecUiDecode'], runs: 15, arb: codecKeyInPath },
    { name: 'key whose scope does not allow the route', runs: 90, arb: forbidden },
    { name: 'POST /v1/conversations: bad fields', input: ['startConversation'], runs: 110, arb: at('POST', '/v1/conversations', startBody) },
    { name: 'POST /v1/conversations: body sent wrong', runs: 50, arb: raw('POST', '/v1/conversations', contactBase, ['contact', 'id']) },
    { name: 'POST /v1/contacts/{id}/messages: bad fields, open conversation', input: ['postMessage'], runs: 80, arb: at('POST', messagesPath(open), messageBody) },
    { name: 'POST /v1/contacts/{id}/messages: body sent wrong', runs: 40, arb: raw('POST', messagesPath(open), messageBase) },
    { name: 'POST /v1/contacts/{id}/messages: bad id', runs: 30, arb: atBadPath('POST', messagesPath, messageBase) },
    { name: 'POST /v1/contacts/{id}/messages: no open conversation', runs: 15, arb: atUnknown('POST', messagesPath, messageBase) },
    {
      name: 'GET /v1/contacts/{id}/messages: bad or unknown id',
      input: ['getTranscript'],
      runs: 30,
      arb: fc.oneof(atBadPath('GET', messagesPath, fc.constant(undefined)), atUnknown('GET', messagesPath, fc.constant(undefined))),
    },
    {
      name: 'GET /v1/conversations/{id}: bad or unknown id',
      input: ['getConversation'],
      runs: 40,
      arb: fc.oneof(
        atBadPath('GET', (id) => `/v1/conversations/${id}`, fc.constant(undefined)),
        atUnknown('GET', (id) => `/v1/conversations/${id}`, fc.constant(undefined)),
      ),
    },
    {
      name: 'POST /v1/conversations/{id}/close: bad or unknown id',
      input: ['closeConversation'],
      runs: 35,
      arb: fc.oneof(
        atBadPath('POST', (id) => `/v1/conversations/${id}/close`, closeValid),
        atUnknown('POST', (id) => `/v1/conversations/${id}/close`, closeValid),
      ),
    },
    { name: 'DELETE /v1/contacts/{id}: bad id, or a directory flag not true or false, open conversation', input: ['eraseContact'], runs: 30, arb: erasure },
    {
      name: 'POST /v1/conversations/{id}/close: body sent wrong, open conversation',
      runs: 20,
      arb: raw('POST', `/v1/conversations/${open}/close`, closeValid, undefined, true),
    },
    { name: 'POST /v1/conversations/{id}/transfer: bad fields, open conversation', input: ['transferConversation'], runs: 60, arb: at('POST', transferPath(open), transferBody) },
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
      input: ['putAgent'],
      runs: 80,
      arb: fc.tuple(fc.oneof(fc.constant(f.agentId), freshAgentId), putAgentBody).map(([id, body]) => jsonRequest(admin, 'PUT', agentPath(id), body)),
    },
    {
      name: 'PUT /v1/agents/{id}: bad id, body sent wrong',
      runs: 40,
      arb: fc.oneof(atBadPath('PUT', agentPath, agentBase), raw('PUT', agentPath(f.agentId), agentBase)),
    },
    { name: 'PATCH /v1/agents/{id}: bad fields', input: ['patchAgent'], runs: 50, arb: at('PATCH', agentPath(f.agentId), patchAgentBody) },
    {
      name: 'PATCH /v1/agents/{id}: bad id, unknown agent, body sent wrong',
      runs: 30,
      arb: fc.oneof(atBadPath('PATCH', agentPath, patchBase), atUnknown('PATCH', agentPath, patchBase), raw('PATCH', agentPath(f.agentId), patchBase)),
    },
    {
      name: 'PUT /v1/directory/customers/{email}: bad fields',
      input: ['putCustomer'],
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
      input: ['findCustomer'],
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
      input: ['codecEncode', 'codecDecode'],
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
    { name: 'webhook: signed but malformed event', input: ['receiveRespondioEvent'], runs: 110, arb: signedMalformed },
    { name: 'webhook: signed but not JSON or bad UTF-8', runs: 30, arb: signedUnreadable },
    { name: 'webhook: over 1 MB', runs: 4, arb: webhookTooLarge },
  ];
}
