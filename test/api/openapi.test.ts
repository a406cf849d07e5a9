import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Validator } from '@seriousme/openapi-schema-validator';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { openApiDocument } from '../../src/api/openapi';
import { apiRoutes } from '../../src/api/routes';
import { parseWebhookEvent } from '../../src/respondio/webhook';
import type { ApiKeyScope } from '../../src/security/api-key-tokens';
import { Harness } from '../support/harness';
import { deliverWebhook } from '../support/respondio-payloads';
import { type RespondioStandIn, startRespondioStandIn } from '../support/respondio-standin';

const TOKEN = 'respondio-test-token-openapi';
const SIGNING_KEY = 'whsec-openapi-0123456789abcdef';

type Json = any;
interface SpecOperation {
  method: string;
  path: string;
  operation: Json;
}

/** The route definition behind each operation of the document: what the route parses its input with. */
const routeOf = (operationId: string) => apiRoutes.find((route) => route.operationId === operationId);

/** The spec's operations, each with its method and path. */
function operationsOf(spec: Json): SpecOperation[] {
  return Object.entries(spec.paths as Record<string, Record<string, Json>>).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({ method: method.toUpperCase(), path, operation })),
  );
}

/** Express's own route table: each router's routes, under the path it is mounted at (`:name` made `{name}`). */
function servedRoutes(app: Json): string[] {
  const served: string[] = [];
  const walk = (stack: Json[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) for (const method of Object.keys(layer.route.methods)) served.push(`${method.toUpperCase()} ${prefix}${layer.route.path}`);
      else if (layer.handle?.stack) walk(layer.handle.stack, layer.rawPath && layer.rawPath !== '/' ? prefix + layer.rawPath : prefix);
    }
  };
  walk(app.router.stack, '');
  return served.map((route) => route.replace(/:(\w+)/g, '{$1}'));
}

/** Ajv (JSON Schema 2020-12, as OpenAPI 3.1 uses) over the spec's components, so `$ref`s resolve as they do in the spec. */
function schemaValidator(spec: Json) {
  // Strict, but `oneOf: [{ required: [a] }, { required: [b] }]` (exactly one of two fields) names fields defined beside
  // it, and zod writes `type: [string, null]` for nullable fields.
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
  addFormats(ajv);
  // zod writes these beside the pattern that checks them (the codec's payload bytes).
  for (const format of ['base64', 'base64url']) ajv.addFormat(format, true);
  ajv.addKeyword('components');
  ajv.addSchema({ $id: 'urn:vip-router:openapi', components: { schemas: spec.components.schemas } });
  const inSpec = (schema: Json): Json =>
    JSON.parse(JSON.stringify(schema).replace(/"#\/components\/schemas\//g, '"urn:vip-router:openapi#/components/schemas/'));
  const compile = (schema: Json) => ajv.compile(inSpec(schema));
  /** What is wrong with the value, by the schema; compiling throws on a schema that is not valid JSON Schema. */
  const problems = (schema: Json, value: unknown): string[] => {
    const validate = compile(schema);
    return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message} ${JSON.stringify(e.params)}`);
  };
  return { compile, problems };
}

/** A response of the spec, `$ref`s to components.responses followed. */
function responseOf(spec: Json, operation: Json, status: number): Json | undefined {
  const response = operation.responses[String(status)];
  return response?.$ref ? spec.components.responses[response.$ref.split('/').pop()] : response;
}

describe('the OpenAPI description', () => {
  let h: Harness;
  let respondio: RespondioStandIn;
  let spec: Json;
  let operations: SpecOperation[];
  let check: ReturnType<typeof schemaValidator>['problems'];
  let compile: ReturnType<typeof schemaValidator>['compile'];

  before(async () => {
    respondio = await startRespondioStandIn({ token: TOKEN });
    h = await Harness.start({ respondio: { baseUrl: respondio.baseUrl, token: TOKEN, signingKeys: [SIGNING_KEY] } });
    const response = await fetch(`${h.baseUrl}/openapi.json`);
    assert.equal(response.status, 200, 'GET /openapi.json (is the docs router mounted in createApp?)');
    spec = await response.json();
    operations = operationsOf(spec);
    ({ problems: check, compile } = schemaValidator(spec));
  });
  after(async () => {
    await h?.close();
    await respondio?.close();
  });

  const byId = (operationId: string) => {
    const found = operations.find(({ operation }) => operation.operationId === operationId);
    assert.ok(found, `the spec has operation ${operationId}`);
    return found;
  };
  const parameterExamples = (operation: Json, where: 'path' | 'query') =>
    Object.fromEntries((operation.parameters ?? []).filter((p: Json) => p.in === where).map((p: Json) => [p.name, p.example]));
  const requestExamples = (operation: Json): Array<[string, unknown]> =>
    Object.entries(operation.requestBody?.content['application/json'].examples ?? {}).map(([name, example]) => [name, (example as Json).value]);

  it('is served as JSON at /openapi.json, without an API key, and is the document openapi.ts builds', async () => {
    const response = await fetch(`${h.baseUrl}/openapi.json`);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(await response.json(), JSON.parse(JSON.stringify(openApiDocument())));
    assert.equal(spec.openapi, '3.1.0');
    assert.match(spec.info.version, /^\d+\.\d+\.\d+/);
  });

  it('is browsable at /docs: an HTML page that loads /openapi.json, its scripts and styles served locally', async () => {
    const response = await fetch(`${h.baseUrl}/docs`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
    const page = await response.text();
    assert.match(page, /url: '\/openapi\.json'/);
    const assets = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(assets.some((asset) => asset.endsWith('swagger-ui-bundle.js')), `the page loads Swagger UI: ${assets.join(', ')}`);
    for (const asset of assets) {
      assert.match(asset, /^\/docs\//, 'no CDN: the service may run offline');
      assert.equal((await fetch(`${h.baseUrl}${asset}`)).status, 200, asset);
    }
    // The package's demo page, which would fetch a sample API from the internet, is not served.
    assert.equal((await fetch(`${h.baseUrl}/docs/index.html`)).status, 404);
  });

  it('is a valid OpenAPI 3.1 document: the official schema holds, every $ref resolves, every schema compiles', async () => {
    const result = await new Validator().validate(structuredClone(spec));
    assert.deepEqual(result, { valid: true });
    // Ajv checks each schema against the JSON Schema 2020-12 meta-schema as it compiles it; strict, it also refuses unknown keywords.
    for (const [name, schema] of Object.entries(spec.components.schemas)) assert.doesNotThrow(() => compile(schema), name);
    const ids = operations.map(({ operation }) => operation.operationId);
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  });

  it("passes Redocly's recommended rules: no error, and no warning but a 4xx answer missing where nothing a client sends can be wrong", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'openapi-lint-'));
    try {
      await writeFile(join(dir, 'openapi.json'), JSON.stringify(spec));
      const redocly = join(__dirname, '..', '..', 'node_modules', '.bin', 'redocly');
      const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' };
      // Exit status 1 on errors: the report is read either way.
      const { stdout } = await promisify(execFile)(redocly, ['lint', '--format=json', '--extends=recommended', join(dir, 'openapi.json')], { env }).catch(
        (failure: { stdout?: string }) => ({ stdout: failure.stdout ?? '' }),
      );
      const { totals, problems } = JSON.parse(stdout) as { totals: { errors: number }; problems: Array<{ ruleId: string; severity: string; message: string; location: Array<{ pointer: string }> }> };
      const found = problems.map(({ ruleId, severity, message, location }) => `${severity} ${ruleId} at ${location[0]?.pointer}: ${message}`);
      assert.equal(totals.errors, 0, found.join('\n'));
      // Health checks and the pages open to anyone take no input and no key: they have no 4xx to answer.
      const noInput = operations
        .filter(({ operation }) => operation.security.length === 0 && !operation.parameters && !operation.requestBody)
        .map(({ method, path }) => `#/paths/${path.replaceAll('/', '~1')}/${method.toLowerCase()}/responses`);
      const accepted = (problem: (typeof problems)[number]) => problem.ruleId === 'operation-4xx-response' && noInput.includes(problem.location[0]?.pointer ?? '');
      assert.deepEqual(problems.filter((problem) => !accepted(problem)).map((problem) => found[problems.indexOf(problem)]), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('describes every route the API serves, and no other', () => {
    const served = servedRoutes(h.api.app);
    assert.ok(served.includes('GET /healthz') && served.includes('POST /v1/conversations'), `the routes were found: ${served.join(', ')}`);
    const described = operations.map(({ method, path }) => `${method} ${path}`);
    assert.deepEqual(
      { servedButNotDescribed: served.filter((route) => !described.includes(route)), describedButNotServed: described.filter((route) => !served.includes(route)) },
      { servedButNotDescribed: [], describedButNotServed: [] },
    );
  });

  it("names each route's API key scopes as the route enforces them, and which routes need no key", async () => {
    const keys = {} as Record<Exclude<ApiKeyScope, 'admin'>, string>;
    for (const scope of ['integration', 'read', 'codec', 'decode', 'metrics'] as const) keys[scope] = (await h.apiKeys.create(scope, `openapi ${scope}`)).key;
    const outcomes: string[] = [];
    for (const { method, path, operation } of operations) {
      const scopes: string[] = operation['x-scopes'];
      const pathOf = (key?: string) =>
        path.replace(/\{(\w+)\}/g, (_, name: string) => (name === 'key' && key ? key : encodeURIComponent(parameterExamples(operation, 'path')[name]))) +
        (operation.parameters?.some((p: Json) => p.in === 'query') ? `?${new URLSearchParams(parameterExamples(operation, 'query'))}` : '');
      // An empty body: where the key gets through, validation refuses it, so nothing happens.
      const probeBody = operation.requestBody ? {} : undefined;
      const bearer = operation.security.some((requirement: Json) => 'apiKey' in requirement);
      if (bearer) {
        assert.equal((await h.requestAs(null, method, pathOf(), probeBody)).status, 401, `${method} ${path} without a key`);
        for (const [scope, key] of Object.entries(keys)) {
          const { status } = await h.requestAs(key, method, pathOf(), probeBody);
          outcomes.push(`${scope} ${method} ${path} ${status === 403 ? 'forbidden' : 'allowed'}`);
          assert.equal(status === 403, !scopes.includes(scope), `${scope} key, ${method} ${path}: ${status}; the spec says ${scopes.join(', ')}`);
        }
      } else if (path.includes('{key}')) {
        for (const [scope, key] of Object.entries(keys)) {
          const { status } = await h.requestAs(null, method, pathOf(key), probeBody);
          assert.equal(status === 403, !scopes.includes(scope), `${scope} key in the path, ${method} ${path}: ${status}`);
        }
      } else {
        assert.deepEqual(scopes, [], `${method} ${path} is open or signed: no scopes`);
        if (method === 'GET') assert.notEqual((await fetch(`${h.baseUrl}${pathOf()}`)).status, 401, `${method} ${path} needs no key`);
      }
    }
    assert.ok(outcomes.filter((o) => o.endsWith('allowed')).length >= 10, outcomes.join('\n'));
  });

  it('has an example for every request body and parameter, each accepted by the route’s own schema and by the spec’s', () => {
    for (const { method, path, operation } of operations) {
      const where = `${method} ${path}`;
      const route = routeOf(operation.operationId);
      assert.ok(route, `${where}: a route definition has operation ${operation.operationId}`);
      for (const parameter of operation.parameters ?? []) {
        assert.notEqual(parameter.example, undefined, `${where}: parameter ${parameter.name} has an example`);
        assert.deepEqual(check(parameter.schema, parameter.example), [], `${where}: parameter ${parameter.name}`);
      }
      for (const location of ['path', 'query'] as const) {
        const examples = parameterExamples(operation, location);
        const schema = location === 'path' ? route.params : route.query;
        if (Object.keys(examples).length > 0) assert.ok(schema?.safeParse(examples).success, `${where}: ${location} parameters ${JSON.stringify(examples)}`);
      }
      if (!operation.requestBody) continue;
      const media = operation.requestBody.content['application/json'];
      const examples = requestExamples(operation);
      assert.ok(examples.length > 0, `${where} has request examples`);
      for (const [name, value] of examples) {
        assert.deepEqual(check(media.schema, value), [], `${where}, example ${name}, against the spec`);
        const parsed = route.body?.schema.safeParse(value);
        assert.ok(parsed?.success, `${where}, example ${name}, against the route's schema: ${JSON.stringify(parsed?.error?.issues)}`);
        // The webhook reads its body itself: each example is an event the flow acts on.
        if (route.body?.readByHandler) assert.notEqual(parseWebhookEvent(value).intent.kind, 'ignore', `${where}, example ${name}`);
      }
    }
  });

  it('has examples for the answers, each matching its response schema', () => {
    let checked = 0;
    for (const { method, path, operation } of operations) {
      for (const status of Object.keys(operation.responses)) {
        const media = responseOf(spec, operation, Number(status))?.content?.['application/json'];
        if (!media) continue;
        if (status.startsWith('2') && operation.operationId !== 'openapi') assert.ok(media.examples, `${method} ${path} ${status} has examples`);
        for (const [name, example] of Object.entries<Json>(media.examples ?? {})) {
          assert.deepEqual(check(media.schema, example.value), [], `${method} ${path} ${status}, example ${name}`);
          checked++;
        }
      }
    }
    assert.ok(checked >= 30, `${checked} response examples`);
  });

  it('has request examples that work: each, sent as it is, is accepted and answered as the spec says', async () => {
    // The examples' contact ids, made unique to this test: other tests share the Temporal server.
    const contacts = new Map([
      ['c-1', h.contactId('openapi-c-1')],
      ['c-2', h.contactId('openapi-c-2')],
    ]);
    const respondioContacts = new Map([1048576, 1048577].map((id) => [id, 9_000_000_000 + Math.floor(Math.random() * 1e9)]));
    const personal = <T>(value: T): T =>
      value === undefined
        ? value
        : JSON.parse(
            JSON.stringify(value)
              .replace(/"(c-[12])"/g, (_, id: string) => `"${contacts.get(id) ?? id}"`)
              .replace(/\b(1048576|1048577)\b/g, (match) => String(respondioContacts.get(Number(match))))
              // The examples' respond.io times (June 2025), moved to the last hour: older events are refused as too old.
              .replace(/\b17489\d{5}\b/g, (match) => String(Math.floor(Date.now() / 1000) - (1_748_946_000 - Number(match)))),
          );
    const sent = new Set<string>();
    const statuses: string[] = [];

    /** Sends each request example of the operation (or the operation once, without a body) and checks the answer. */
    const send = async (operationId: string, refusedWith?: number) => {
      const { method, path, operation } = byId(operationId);
      sent.add(operationId);
      const pathParams = personal(parameterExamples(operation, 'path'));
      const query = new URLSearchParams(parameterExamples(operation, 'query')).toString();
      const url = path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(name === 'key' ? h.adminKey : pathParams[name])) + (query ? `?${query}` : '');
      const examples: Array<[string, unknown]> = operation.requestBody ? requestExamples(operation) : [['(no body)', undefined]];
      for (const [name, example] of examples) {
        const body = personal(example);
        const { status, body: answer } =
          operationId === 'receiveRespondioEvent'
            ? ((await deliverWebhook(`${h.baseUrl}${url}`, body, SIGNING_KEY)) as { status: number; body: Json })
            : operation.security.length === 0 && method === 'GET'
              ? await fetch(`${h.baseUrl}${url}`).then(async (r) => ({ status: r.status, body: r.headers.get('content-type')?.includes('json') ? await r.json() : await r.text() }))
              : await h.request(method, url, body);
        const where = `${method} ${url} (${operationId}, example ${name}) → ${status} ${JSON.stringify(answer)}`;
        assert.ok(operation.responses[String(status)], `${where}: a status the spec documents`);
        if (refusedWith !== undefined) {
          assert.equal(status, refusedWith, where);
          continue;
        }
        statuses.push(`${operationId}/${name} ${status}`);
        assert.ok(![400, 401, 403, 413, 429].includes(status), `${where}: the example was refused`);
        const media = responseOf(spec, operation, status)?.content?.['application/json'];
        if (media) assert.deepEqual(check(media.schema, answer), [], `${where}: the answer matches the spec`);
      }
    };
    const stateOf = (contactId: string, state: string) => h.waitForState(contacts.get(contactId)!, state as Json);

    await h.putAgent('sam', { team: 'vip' });
    await send('putAgent');
    await send('patchAgent');
    await send('putCustomer');
    await send('findCustomer');
    await send('startConversation');
    await stateOf('c-1', 'assigned');
    await stateOf('c-2', 'asking_email');
    await send('getConversation');
    await send('postMessage');
    await send('getTranscript');
    await send('transferConversation');
    await send('listAgents');
    await send('getQueue');
    await send('getOperatorOverview');
    await send('closeConversation');
    await send('receiveRespondioEvent');
    await send('eraseContact');
    // Temporal UI's endpoint decodes only: its encode is documented as always 403.
    await send('codecUiEncode', 403);
    for (const operationId of ['codecEncode', 'codecDecode', 'codecUiDecode', 'liveness', 'readiness', 'openapi', 'docs', 'metrics', 'operatorPage']) await send(operationId);

    assert.deepEqual(
      operations.map(({ operation }) => operation.operationId).filter((id) => !sent.has(id)),
      [],
      'every operation is tried with its examples',
    );
    const refused = statuses.filter((s) => !/ 2\d\d$/.test(s));
    assert.deepEqual(refused, [], `every example succeeded: ${statuses.join(', ')}`);
  });
});
