import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiResponseObject } from 'zod-openapi';
import { version } from '../../package.json';
import { errorBody, error } from './answers';
import { type Access, type Content, type Route, scopesOf } from './contract';
import { apiRoutes } from './routes';

/**
 * The OpenAPI 3.1 description of the HTTP API, generated (zod-openapi) from the route definitions of `./routes`:
 * request bodies and parameters are the zod schemas the routes parse with, answers the schemas of `./answers`.
 * Only the API process builds it: the workflow bundle, which checks input with the same schemas, never loads this.
 */

type Json = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: string;
  info: Json;
  servers: Json[];
  tags: Array<{ name: string; description: string }>;
  paths: Record<string, Record<string, Json>>;
  components: Record<string, Record<string, Json>>;
}

const TAGS: Record<string, string> = {
  Conversations: 'One routing run per open conversation of a contact.',
  Contacts: "A contact's messages.",
  Agents: 'Who takes conversations, and the queue of those waiting for one.',
  Directory: 'The built-in customer directory the default CRM step calls.',
  'respond.io': "respond.io's signed webhooks.",
  Codec: "Temporal's codec-server protocol: payloads are encrypted before they reach Temporal.",
  Health: 'Liveness, readiness and metrics, for an orchestrator and Prometheus.',
  Operator: 'The operator page and what it reads.',
  Docs: 'This description of the API.',
};

const retryAfter = { 'Retry-After': { description: 'Seconds to wait.', schema: { type: 'integer', minimum: 1 } } } as const;

/** The errors a route's door and its input can give, whatever the route: `components.responses`. */
const SHARED_ERRORS = {
  BadRequest: {
    description: 'The request is invalid (`validation_failed`, naming the failing fields) or not JSON (`invalid_json`).',
    example: error('validation_failed', 'the request is invalid', [{ path: 'contact.id', message: 'use letters, digits and . _ : @ + -' }]),
  },
  Unauthorized: {
    description: 'No API key, or an unknown or revoked one.',
    example: error('unauthorized', 'send an API key as "Authorization: Bearer <key>"'),
    headers: { 'WWW-Authenticate': { description: '`Bearer`', schema: { type: 'string' } } },
  },
  Forbidden: {
    description: "The key's scope does not allow this.",
    example: error('forbidden', 'a read key cannot do this; it needs admin or integration'),
  },
  PayloadTooLarge: {
    description: 'The body is too large: over 100 kB for /v1 routes, 1 MB for the webhook, 4 MB for the codec.',
    example: error('entity.too.large', 'request entity too large'),
  },
  RateLimited: {
    description:
      "Over the API key's rate limit (`VIP_ROUTER_RATE_LIMIT`, /v1 routes), or too many failed authentications from this address (20 a minute): retry after `Retry-After` seconds.",
    example: error('rate_limited', 'too many requests for this API key; retry in 1200 ms'),
    headers: retryAfter,
  },
  Unavailable: {
    description:
      'PostgreSQL or Temporal could not be reached, or too many API keys were being checked at once (`busy`): retry after `Retry-After` seconds. A retry is safe: message ids, event ids and open conversations are idempotent, so what part of the request took effect takes effect once.',
    example: error('unavailable', 'PostgreSQL is unavailable; retry in a few seconds (a retry is safe)'),
    headers: retryAfter,
  },
} satisfies Record<string, { description: string; example: unknown; headers?: Json }>;

function accessText(access: Access): string {
  switch (access) {
    case 'open':
      return 'Open: no API key.';
    case 'signature':
      return 'Signed: `X-Webhook-Signature`, no API key.';
    default:
      if ('keyInPath' in access) return `The API key is the \`key\` path segment; scopes: ${scopesOf(access).join(', ') || 'none'}.`;
      return `API key scopes: ${scopesOf(access).join(', ')}.`;
  }
}

const contentOf = ({ schema, examples, mediaType = 'application/json' }: Content) => ({ [mediaType]: { schema, ...(examples ? { examples } : {}) } });

/** The route's own answers, and the errors its door and its input can give (`components.responses`). */
function responsesOf(route: Route): Record<string, ZodOpenApiResponseObject | { $ref: string }> {
  const byStatus: Record<string, ZodOpenApiResponseObject | { $ref: string }> = {};
  for (const [status, { description, content }] of Object.entries(route.responses)) {
    byStatus[status] = { description, ...(content ? { content: contentOf(content) } : {}) };
  }
  const otherwise = (status: number, name: keyof typeof SHARED_ERRORS) => (byStatus[status] ??= { $ref: `#/components/responses/${name}` });
  const keyed = typeof route.access === 'object';
  if (route.body || route.params || route.query) otherwise(400, 'BadRequest');
  if (keyed) otherwise(401, 'Unauthorized');
  if (keyed) otherwise(403, 'Forbidden');
  if (route.body) otherwise(413, 'PayloadTooLarge');
  // Every key check limits failed authentications per client address; /v1 also limits each key's requests.
  if (keyed) otherwise(429, 'RateLimited');
  if (keyed || route.path.startsWith('/v1/')) otherwise(503, 'Unavailable');
  return byStatus;
}

function operationOf(route: Route): ZodOpenApiOperationObject {
  const bearer = typeof route.access === 'object' && 'scopes' in route.access;
  const security = bearer ? [{ apiKey: [] }] : route.access === 'signature' ? [{ webhookSignature: [] }] : [];
  const requestParams = route.params || route.query ? { ...(route.params ? { path: route.params } : {}), ...(route.query ? { query: route.query } : {}) } : undefined;
  return {
    operationId: route.operationId,
    tags: [route.tag],
    summary: route.summary,
    description: [route.description, accessText(route.access)].filter(Boolean).join('\n\n'),
    'x-scopes': scopesOf(route.access),
    security,
    ...(requestParams ? { requestParams } : {}),
    ...(route.body ? { requestBody: { required: true, content: contentOf(route.body) } } : {}),
    responses: responsesOf(route),
  };
}

/** Each parameter with the route's example value for it. */
function withParameterExamples(document: OpenApiDocument, routes: readonly Route[]): void {
  for (const route of routes) {
    const parameters = (document.paths[route.path]?.[route.method]?.['parameters'] ?? []) as Array<{ name: string; example?: string }>;
    for (const parameter of parameters) parameter.example = route.paramExamples?.[parameter.name];
  }
}

/** The OpenAPI document of the routes. Pure: build it once and serve it. */
export function openApiDocument(routes: readonly Route[] = apiRoutes): OpenApiDocument {
  const paths: Record<string, Record<string, ZodOpenApiOperationObject>> = {};
  for (const route of routes) (paths[route.path] ??= {})[route.method] = operationOf(route);
  const tags = [...new Set(routes.map((route) => route.tag))];
  const document = createDocument({
    openapi: '3.1.0',
    info: {
      title: 'vip-router',
      version,
      description: [
        'Routes customer conversations to the right agent, VIP customers first. The README explains the API in its sections **HTTP API (v1)** (routes and errors), **Security** (API keys and their scopes) and **respond.io** (the webhook).',
        'Every `/v1` route needs `Authorization: Bearer <API key>`, except the respond.io webhook (signed instead). A key has one scope: `admin` (everything), `integration` (open, messages, close, state), `read` (GETs), `metrics` (`/metrics` only), `codec` (the codec endpoints) or `decode` (decoding only, for Temporal UI); each operation names the scopes it allows (also in `x-scopes`). `npm run api-key -- create --scope admin` makes a key.',
        'Errors are `{ "error": { "code", "message", "details"? } }`. Bad input never starts a workflow or writes a row.',
      ].join('\n\n'),
      license: { name: 'MIT', identifier: 'MIT' },
    },
    // Wherever the API runs: the document is served by the API it describes.
    servers: [{ url: '/', description: 'The vip-router API serving this document.' }],
    tags: tags.map((name) => ({ name, description: TAGS[name] ?? name })),
    paths,
    components: {
      responses: Object.fromEntries(
        Object.entries(SHARED_ERRORS).map(([name, { example, ...response }]) => [
          name,
          { ...response, content: { 'application/json': { schema: errorBody, examples: { [name]: { summary: response.description, value: example } } } } },
        ]),
        // Headers written as OpenAPI header objects, which zod-openapi passes through.
      ) as Record<string, ZodOpenApiResponseObject>,
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'An API key (`vr_…`), made with `npm run api-key`; its scope decides what it may do.' },
        webhookSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Webhook-Signature',
          description: "base64(HMAC-SHA256(raw body, the webhook's signing key)), as respond.io signs its webhooks.",
        },
      },
    },
  }) as unknown as OpenApiDocument;
  withParameterExamples(document, routes);
  return document;
}
