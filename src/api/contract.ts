import { type Request, type RequestHandler, type Response, Router } from 'express';
import type { z } from 'zod';
import type { ApiKeyScope } from '../security/api-key-tokens';
import { allow } from './auth';
import { HttpError } from './errors';
import { noteContact } from './request-log';

/**
 * One operation of the HTTP API, declared once: what it takes, who may call it and what it answers feed both Express
 * (`mount`) and the OpenAPI document (`./openapi`). Adding a route is one definition in a group of `./routes`.
 */

interface Example<T> {
  summary: string;
  value: T;
}
export type Examples<T> = Record<string, Example<T>>;

export interface Content {
  schema: z.ZodType;
  examples?: Examples<unknown>;
  /** `application/json` unless said. */
  mediaType?: string;
}

interface RequestBody extends Content {
  /** The handler reads the body itself (the webhook's signed bytes); the schema only describes it. */
  readByHandler?: true;
}

export interface Answer {
  description: string;
  content?: Content;
}

/**
 * Who may call: API keys of these scopes (admin always may), a key in the path (none: every key is refused, with
 * `refusal`), the webhook signature, or anyone.
 */
export type Access = { scopes: ApiKeyScope[] } | { keyInPath: ApiKeyScope[]; refusal?: string } | 'signature' | 'open';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

interface RouteInput<P, Q, B> {
  params: Parsed<P>;
  query: Parsed<Q>;
  /** Not parsed (undefined) when the handler reads the body itself. */
  body: Parsed<B>;
}

interface RouteDefinition<D, P, Q, B> {
  method: Method;
  /** OpenAPI style: `/v1/agents/{agentId}`. */
  path: string;
  operationId: string;
  tag: string;
  summary: string;
  description?: string;
  access: Access;
  params?: P;
  query?: Q;
  /** One example value per parameter. */
  paramExamples?: Record<string, string>;
  body?: RequestBody & { schema: B; examples: Examples<B extends z.ZodType ? z.input<B> : never> };
  responses: Record<number, Answer>;
  /** Run after the access check, before the input is parsed: a body parser of the route's own. */
  use?: RequestHandler[];
  /** Input parsed by the route's schemas (a ZodError is a 400 naming the fields). */
  handle(input: RouteInput<P, Q, B>, deps: D, res: Response, req: Request): unknown;
}

/** A definition with its schemas' types erased, as the router and the document see it. */
export type Route<D = never> = RouteDefinition<D, z.ZodObject | undefined, z.ZodObject | undefined, z.ZodType | undefined>;

/** `route<Deps>()({ … })`: the handler's input is typed by the definition's own schemas. */
export const route =
  <D>() =>
  <P extends z.ZodObject | undefined = undefined, Q extends z.ZodObject | undefined = undefined, B extends z.ZodType | undefined = undefined>(
    definition: RouteDefinition<D, P, Q, B>,
  ): Route<D> =>
    definition as unknown as Route<D>;

interface MountOptions {
  /** The prefix the router is mounted at (`app.use(prefix, …)`), in OpenAPI style: route paths are relative to it. */
  under?: string;
  /** Authentication before each route's access check (where no prefix-wide check runs before). */
  authenticate?: RequestHandler;
  /** Who may call each route, instead of its `access`: for the codec endpoints served outside this API's keys. */
  guard?: (route: Route<never>) => RequestHandler[];
}

/** An Express router serving the routes: access check, the route's own middleware, input parsing, handler. */
export function mount<D>(routes: ReadonlyArray<Route<D>>, deps: D, { under = '', authenticate, guard = guardOf }: MountOptions = {}): Router {
  const router = Router({ mergeParams: true });
  // A route naming a contact names it in the request's log line.
  router.param('contactId', noteContact);
  for (const definition of routes) {
    if (!definition.path.startsWith(under)) throw new Error(`${definition.operationId}: ${definition.path} is not under ${under}`);
    const path = expressPath(definition.path.slice(under.length));
    const before = [...(authenticate ? [authenticate] : []), ...guard(definition as Route<never>), ...(definition.use ?? [])];
    router[definition.method](path, ...before, async (req, res) => {
      const input = {
        params: definition.params?.parse(req.params),
        query: definition.query?.parse(req.query),
        body: definition.body && !definition.body.readByHandler ? definition.body.schema.parse(req.body) : undefined,
      };
      await definition.handle(input, deps, res, req);
    });
  }
  return router;
}

/** `/v1/agents/{agentId}` as Express writes it: `/v1/agents/:agentId`. */
const expressPath = (path: string): string => path.replace(/\{(\w+)\}/g, ':$1');

function guardOf({ access }: Route<never>): RequestHandler[] {
  if (typeof access === 'string') return [];
  if ('scopes' in access) return [allow(...access.scopes)];
  if (access.keyInPath.length > 0) return [allow(...access.keyInPath)];
  const refusal = access.refusal ?? 'no key may call this';
  return [
    () => {
      throw new HttpError(403, 'forbidden', refusal);
    },
  ];
}

/** The scopes whose keys may call (admin first), as the document lists them in `x-scopes`. */
export function scopesOf(access: Access): ApiKeyScope[] {
  if (typeof access === 'string') return [];
  if ('keyInPath' in access) return access.keyInPath.length > 0 ? ['admin', ...access.keyInPath] : [];
  return ['admin', ...access.scopes];
}

/** A request body and its examples, each an input the schema accepts. */
export const body = <S extends z.ZodType>(schema: S, examples: Examples<z.input<S>>): { schema: S; examples: Examples<z.input<S>> } => ({ schema, examples });
