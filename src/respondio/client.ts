import { z } from 'zod';
import { platformCalls } from '../observability/metrics';
import { deadline } from '../net/deadline';

/** respond.io Developer API v2. Free of Temporal: activities wrap it and decide what to retry. */
export const RESPONDIO_API_URL = 'https://api.respond.io/v2';

export type RespondioErrorKind = 'rate_limited' | 'server' | 'network' | 'timeout' | 'rejected';

/** A respond.io user id or email; null un-assigns. */
export type RespondioAssignee = string | number | null;

export interface RespondioClientOptions {
  token: string;
  baseUrl?: string;
  fetch?: typeof globalThis.fetch;
  timeoutMs?: number;
}

/** Per call: an activity passes its cancellation signal here. */
export interface RequestOptions {
  signal?: AbortSignal;
}

interface RespondioErrorInit {
  kind: RespondioErrorKind;
  endpoint: string;
  status?: number;
  retryAfterMs?: number;
  responseMessage?: string;
  /** The request never left: the connection was refused or the host not found. */
  neverSent?: boolean;
  /** Completes the message `respond.io <endpoint> …`. */
  reason: string;
}

export class RespondioError extends Error {
  override readonly name = 'RespondioError';
  readonly kind: RespondioErrorKind;
  /** Method and path template, e.g. `POST /contact/{identifier}/message`: never the contact's identifier. */
  readonly endpoint: string;
  readonly status?: number;
  readonly retryAfterMs?: number;
  /** respond.io's own explanation (the answer's `message`), when it gave one. */
  readonly responseMessage?: string;
  readonly neverSent: boolean;

  constructor(init: RespondioErrorInit, options?: ErrorOptions) {
    super(`respond.io ${init.endpoint} ${init.reason}`, options);
    this.kind = init.kind;
    this.endpoint = init.endpoint;
    this.status = init.status;
    this.retryAfterMs = init.retryAfterMs;
    this.responseMessage = init.responseMessage;
    this.neverSent = init.neverSent ?? false;
  }
}

const retryableKinds: ReadonlySet<RespondioErrorKind> = new Set(['rate_limited', 'server', 'network', 'timeout']);

/**
 * Whether trying again may succeed. A timeout or network failure on a POST may have taken effect already:
 * the caller decides whether repeating it (e.g. a second customer message) is acceptable.
 */
export function isRetryable(error: unknown): boolean {
  return error instanceof RespondioError && retryableKinds.has(error.kind);
}

/**
 * What a failed call did at respond.io: `none` when respond.io refused it (a 4xx, a 429) or never got it; `over` when
 * it answered (a 5xx: the request is finished, but may have taken effect); `unknown` when no answer came (a timeout,
 * a connection dropped after the request went out): it may have taken effect, or still be taking it.
 */
export function effectOfFailure(error: unknown): 'none' | 'over' | 'unknown' {
  if (!(error instanceof RespondioError)) return 'unknown';
  if (error.neverSent) return 'none';
  if (error.status === undefined) return 'unknown';
  return error.status >= 400 && error.status < 500 ? 'none' : 'over';
}

/** The connection was never made: the request cannot have reached respond.io. */
const neverConnected = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

interface Endpoint<T> {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  /** What a 2xx answer must look like. */
  answer: z.ZodType<T>;
}

/** Answers we have no use for are not checked. */
const ignored = z.unknown();

const messageSent = z.object({ messageId: z.union([z.number(), z.string().min(1)]) });

/** Loose: fields respond.io adds later are kept as they came. */
const user = z.looseObject({
  id: z.number().int(),
  firstName: z.string().nullish(),
  lastName: z.string().nullish(),
  email: z.string().nullish(),
  // agent | manager | owner today; a role added later must not stop the whole listing.
  role: z.string(),
  team: z.looseObject({ id: z.number(), name: z.string() }).nullish(),
});

export type RespondioUser = z.infer<typeof user>;

/** A message of the contact's, as respond.io lists it; its status entries carry when each happened (Unix time). */
const listedMessage = z.looseObject({
  messageId: z.union([z.number(), z.string().min(1)]),
  traffic: z.string(),
  message: z.looseObject({ type: z.string(), text: z.string().nullish() }),
  status: z.array(z.looseObject({ value: z.string(), timestamp: z.number().nullish() })).nullish(),
});

export type RespondioListedMessage = z.infer<typeof listedMessage>;

const messagesPage = z.object({
  items: z.array(listedMessage),
  pagination: z.object({ next: z.string().nullish() }).nullish(),
});

const usersPage = z.object({
  items: z.array(user),
  pagination: z.object({ next: z.string().nullish() }),
});

const endpoints = {
  sendMessage: { method: 'POST', path: '/contact/{identifier}/message', answer: messageSent },
  setAssignee: { method: 'POST', path: '/contact/{identifier}/conversation/assignee', answer: ignored },
  updateContact: { method: 'PUT', path: '/contact/{identifier}', answer: ignored },
  addComment: { method: 'POST', path: '/contact/{identifier}/comment', answer: ignored },
  setConversationStatus: { method: 'POST', path: '/contact/{identifier}/conversation/status', answer: ignored },
  listUsers: { method: 'GET', path: '/space/user', answer: usersPage },
  listMessages: { method: 'GET', path: '/contact/{identifier}/message/list', answer: messagesPage },
} satisfies Record<string, Endpoint<unknown>>;

const endpointName = (endpoint: Endpoint<unknown>) => `${endpoint.method} ${endpoint.path}`;

/** `id:123`, `email:ana@x.com`, `phone:+60123456789` go into the path as written; anything else unsafe is encoded. */
function encodeIdentifier(identifier: string): string {
  if (identifier === '') throw new TypeError('a respond.io contact identifier is required');
  return encodeURIComponent(identifier).replace(/%3A|%40|%2B/gi, (escaped) => decodeURIComponent(escaped));
}

/** `Retry-After` is either delay-seconds or an HTTP date. */
function parseRetryAfter(header: string | null): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function kindOfStatus(status: number): RespondioErrorKind {
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'server';
  return 'rejected';
}

function messageOf(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null && 'message' in parsed && typeof parsed.message === 'string') {
      return parsed.message.slice(0, 500);
    }
  } catch {
    // Not JSON: respond.io gave no message to pass on.
  }
  return undefined;
}

/** fetch says `fetch failed`; what failed (refused, reset, DNS) is in its cause. */
function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message;
}

/**
 * The pagination's `next` is an absolute URL on respond.io's own host: only its cursor is taken, and the next
 * page is asked of our baseUrl.
 */
function cursorOf(next: string | null | undefined, endpoint: string): string | undefined {
  if (!next) return undefined;
  const cursorId = new URL(next, RESPONDIO_API_URL).searchParams.get('cursorId');
  if (!cursorId) {
    throw new RespondioError({ kind: 'rejected', endpoint, status: 200, reason: 'answered a pagination.next without a cursorId' });
  }
  return cursorId;
}

export function createRespondioClient({
  token,
  baseUrl = RESPONDIO_API_URL,
  fetch = globalThis.fetch,
  timeoutMs = 10_000,
}: RespondioClientOptions) {
  if (!token) throw new TypeError('a respond.io API token is required');
  const root = new URL(baseUrl).href.replace(/\/+$/, '');
  const redact = (text: string) => text.replaceAll(token, '[token]');

  /** Every call counted by endpoint and outcome (`ok`, or the error's kind). */
  async function call<T>(
    endpoint: Endpoint<T>,
    request: { identifier?: string; query?: Record<string, string>; body?: unknown },
    options: RequestOptions = {},
  ): Promise<T> {
    try {
      const answer = await send(endpoint, request, options);
      platformCalls.inc({ endpoint: endpointName(endpoint), outcome: 'ok' });
      return answer;
    } catch (error) {
      if (error instanceof RespondioError) platformCalls.inc({ endpoint: error.endpoint, outcome: error.kind });
      throw error;
    }
  }

  async function send<T>(
    endpoint: Endpoint<T>,
    request: { identifier?: string; query?: Record<string, string>; body?: unknown },
    options: RequestOptions = {},
  ): Promise<T> {
    const name = endpointName(endpoint);
    const path =
      request.identifier === undefined ? endpoint.path : endpoint.path.replace('{identifier}', encodeIdentifier(request.identifier));
    const query = request.query ? `?${new URLSearchParams(request.query).toString()}` : '';
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    const within = deadline(timeoutMs, options.signal);

    let response: Response;
    let text: string;
    try {
      response = await fetch(`${root}${path}${query}`, {
        method: endpoint.method,
        headers,
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        signal: within.signal,
      });
      text = await response.text();
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      const code = error instanceof Error && error.cause instanceof Error ? (error.cause as NodeJS.ErrnoException).code : undefined;
      const failure: RespondioErrorInit = within.expired
        ? { kind: 'timeout', endpoint: name, reason: `got no answer within ${timeoutMs} ms` }
        : { kind: 'network', endpoint: name, neverSent: code !== undefined && neverConnected.has(code), reason: `failed: ${redact(describeFailure(error))}` };
      throw new RespondioError(failure, { cause: error });
    } finally {
      within.dispose();
    }

    if (!response.ok) {
      const found = messageOf(text);
      const responseMessage = found === undefined ? undefined : redact(found);
      throw new RespondioError({
        kind: kindOfStatus(response.status),
        endpoint: name,
        status: response.status,
        retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
        responseMessage,
        reason: `answered ${response.status}${responseMessage === undefined ? '' : `: ${responseMessage}`}`,
      });
    }

    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const parsed = endpoint.answer.safeParse(json);
    if (!parsed.success) {
      throw new RespondioError({
        kind: 'rejected',
        endpoint: name,
        status: response.status,
        reason: `answered ${response.status} with an unexpected body: ${z.prettifyError(parsed.error)}`,
      });
    }
    return parsed.data;
  }

  return {
    /** How long a call waits for respond.io's answer. */
    timeoutMs,

    /** No channelId: respond.io sends on the channel the contact last wrote on. */
    async sendMessage(identifier: string, text: string, options?: RequestOptions): Promise<{ messageId: string }> {
      const answer = await call(endpoints.sendMessage, { identifier, body: { message: { type: 'text', text } } }, options);
      return { messageId: String(answer.messageId) };
    },

    async setAssignee(identifier: string, assignee: RespondioAssignee, options?: RequestOptions): Promise<void> {
      await call(endpoints.setAssignee, { identifier, body: { assignee } }, options);
    },

    async updateContactEmail(identifier: string, email: string, options?: RequestOptions): Promise<void> {
      await call(endpoints.updateContact, { identifier, body: { email } }, options);
    },

    /** An internal note on the conversation, seen by agents only. */
    async addComment(identifier: string, text: string, options?: RequestOptions): Promise<void> {
      await call(endpoints.addComment, { identifier, body: { text } }, options);
    },

    async closeConversation(
      identifier: string,
      { category, summary }: { category?: string; summary?: string } = {},
      options?: RequestOptions,
    ): Promise<void> {
      const body = { status: 'close', ...(category === undefined ? {} : { category }), ...(summary === undefined ? {} : { summary }) };
      await call(endpoints.setConversationStatus, { identifier, body }, options);
    },

    /** The contact's messages, newest first, page by page (a request per `limit` messages). */
    async *listMessages(identifier: string, { limit = 50 }: { limit?: number } = {}, options?: RequestOptions): AsyncGenerator<RespondioListedMessage> {
      yield* paged(endpoints.listMessages, identifier, limit, options);
    },

    /** Every user of the workspace, page by page (a request per `limit` users), ordered as respond.io lists them. */
    async *listUsers({ limit = 100 }: { limit?: number } = {}, options?: RequestOptions): AsyncGenerator<RespondioUser> {
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
        throw new RangeError('limit must be an integer from 1 to 100');
      }
      yield* paged(endpoints.listUsers, undefined, limit, options);
    },
  };

  /** The items of a listing, following its cursors; a cursor answered twice would loop, so it is refused. */
  async function* paged<T>(
    endpoint: Endpoint<{ items: T[]; pagination?: { next?: string | null } | null }>,
    identifier: string | undefined,
    limit: number,
    options?: RequestOptions,
  ): AsyncGenerator<T> {
    const name = endpointName(endpoint);
    const seen = new Set<string>();
    let cursorId: string | undefined;
    for (;;) {
      const query: Record<string, string> = { limit: String(limit), ...(cursorId === undefined ? {} : { cursorId }) };
      const page = await call(endpoint, { identifier, query }, options);
      yield* page.items;
      if (page.items.length === 0) return;
      cursorId = cursorOf(page.pagination?.next, name);
      if (cursorId === undefined) return;
      if (seen.has(cursorId)) {
        const reason = `answered cursorId ${cursorId} a second time`;
        throw new RespondioError({ kind: 'rejected', endpoint: name, status: 200, reason });
      }
      seen.add(cursorId);
    }
  }
}

export type RespondioClient = ReturnType<typeof createRespondioClient>;
