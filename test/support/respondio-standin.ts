import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

/**
 * respond.io's Developer API v2 on loopback, as respond.io documents it and strict about what it accepts, so that
 * a client that sends the wrong method, path, header or body fails here as it would there.
 */

export interface StandInUser {
  id: number;
  firstName: string;
  lastName: string;
  email: string;
  role: 'agent' | 'manager' | 'owner';
  team: { id: number; name: string } | null;
  [field: string]: unknown;
}

export interface RecordedCall {
  method: string;
  /** Decoded, with the `/v2` prefix: `/v2/contact/phone:+60123456789/message`. */
  path: string;
  /** The path exactly as it came on the wire, still encoded. */
  rawPath: string;
  query: Record<string, string>;
  identifier?: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON, the raw text when it is not JSON, undefined when empty. */
  body: unknown;
  /** What the stand-in answered; 'timeout' when it never did, 'dropped' when it closed the connection instead. */
  status: number | 'timeout' | 'dropped';
  at: Date;
}

interface CallMatch {
  method?: string;
  /** Matched against the decoded path, `/v2` included. */
  path?: string | RegExp;
}

type ScriptedResponse =
  | { status: number; headers?: Record<string, string>; body?: unknown }
  /** No answer, and no effect. */
  | 'timeout'
  /** The request takes effect (a message is kept and listed), then the connection is dropped without an answer. */
  | 'apply-then-drop'
  /** The request takes effect at once; its answer comes this much later (after the client gave up, if it is long). */
  | { applyThenAnswerAfterMs: number }
  /** The request takes effect, then `between` runs (a test kills a worker there), then the answer goes out. */
  | { applyThen: () => Promise<void> | void };

/** A message of a contact's as respond.io lists it. */
interface StandInMessage {
  messageId: number;
  channelMessageId: number;
  contactId: number;
  channelId: number;
  traffic: 'incoming' | 'outgoing';
  message: { type: 'text'; text: string };
  status: Array<{ value: string; timestamp: number; message?: string }>;
}

export interface RespondioStandIn {
  /** e.g. `http://127.0.0.1:PORT/v2`: what the client takes as its baseUrl. */
  readonly baseUrl: string;
  readonly calls: RecordedCall[];
  /** Read on every request: replace or edit it between syncs. */
  users: StandInUser[];
  /** The next `times` requests matching `match` get `response` instead of the real answer (and are recorded). */
  failNext(match: CallMatch, response: ScriptedResponse, times?: number): void;
  /** The contact's messages as respond.io keeps them, oldest first: what reached the contact, once per copy. */
  messagesOf(identifier: string): StandInMessage[];
  /** Adds a message to the contact's list as if sent or received some other way (by an agent, by the contact). */
  addMessage(identifier: string, traffic: 'incoming' | 'outgoing', text: string, at?: Date): StandInMessage;
  /** Forgets the calls and pending failures; users, contact ids, message ids and messages stay. */
  reset(): void;
  close(): Promise<void>;
}

export function respondioUser(id: number, fields: Partial<StandInUser> = {}): StandInUser {
  return { id, firstName: 'Agent', lastName: String(id), email: `agent${id}@example.com`, role: 'agent', team: null, ...fields };
}

const RESPONDIO_HOST_URL = 'https://api.respond.io/v2';

const identifierPattern = /^(id:\d+|email:[^\s@]+@[^\s@]+\.[^\s@]+|phone:\+\d+)$/;

const contactFields = {
  firstName: z.string(),
  lastName: z.string(),
  phone: z.string(),
  email: z.string(),
  language: z.string(),
  profilePic: z.string(),
  countryCode: z.string(),
  custom_fields: z.array(z.strictObject({ name: z.string(), value: z.string().nullable() })),
};

const bodies: Record<string, z.ZodType> = {
  'POST /contact/{identifier}/message': z.strictObject({
    message: z.strictObject({ type: z.literal('text'), text: z.string().min(1) }),
  }),
  'POST /contact/{identifier}/conversation/assignee': z.strictObject({
    assignee: z.union([z.string().min(1), z.number().int().positive(), z.null()]),
  }),
  'PUT /contact/{identifier}': z
    .strictObject(contactFields)
    .partial()
    .refine((body) => Object.keys(body).length > 0, 'give at least one field'),
  'POST /contact/{identifier}/comment': z.strictObject({ text: z.string().min(1) }),
  'POST /contact/{identifier}/conversation/status': z.strictObject({
    status: z.literal('close'),
    category: z.string().min(1).optional(),
    summary: z.string().optional(),
  }),
};

const messagesQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(10),
  cursorId: z.coerce.number().int().optional(),
});

const usersQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(10),
  cursorId: z.coerce.number().int().optional(),
});

const routes = new Set([...Object.keys(bodies), 'GET /space/user', 'GET /contact/{identifier}/message/list']);

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ');
}

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  if (raw === '') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

/** `/v2/contact/email%3Aana%40x.com/message` → the route `POST /contact/{identifier}/message` and its identifier. */
function routeOf(method: string, rawPath: string): { route: string; identifier?: string } | undefined {
  if (!rawPath.startsWith('/v2/')) return undefined;
  const segments = rawPath.slice('/v2'.length).split('/');
  if (segments[1] !== 'contact' || segments.length < 3) return { route: `${method} ${rawPath.slice('/v2'.length)}` };
  const identifier = decode(segments[2]!);
  if (identifier === undefined) return undefined;
  return { route: `${method} ${['', 'contact', '{identifier}', ...segments.slice(3)].join('/')}`, identifier };
}

class StandIn implements RespondioStandIn {
  baseUrl = '';
  readonly calls: RecordedCall[] = [];
  users: StandInUser[];
  private failures: Array<{ match: CallMatch; response: ScriptedResponse; remaining: number }> = [];
  private readonly contactIds = new Map<string, number>();
  private nextContactId = 1000;
  private nextMessageId = 1;
  private readonly messages = new Map<number, StandInMessage[]>();
  private readonly server = createServer((req, res) => {
    this.handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `stand-in failed: ${(error as Error).message}` }));
    });
  });

  constructor(
    private readonly token: string,
    users: StandInUser[],
  ) {
    this.users = users;
  }

  async listen(): Promise<this> {
    await new Promise<void>((ready) => this.server.listen(0, '127.0.0.1', ready));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v2`;
    return this;
  }

  failNext(match: CallMatch, response: ScriptedResponse, times = 1): void {
    this.failures.push({ match, response, remaining: times });
  }

  messagesOf(identifier: string): StandInMessage[] {
    return [...(this.messages.get(this.contactIdOf(identifier)) ?? [])];
  }

  addMessage(identifier: string, traffic: 'incoming' | 'outgoing', text: string, at = new Date()): StandInMessage {
    const contactId = this.contactIdOf(identifier);
    const messageId = this.nextMessageId++;
    const message: StandInMessage = {
      messageId,
      channelMessageId: messageId,
      contactId,
      channelId: 1,
      traffic,
      message: { type: 'text', text },
      status: [{ value: traffic === 'outgoing' ? 'sent' : 'received', timestamp: Math.floor(at.getTime() / 1000) }],
    };
    this.messages.set(contactId, [...(this.messages.get(contactId) ?? []), message]);
    return message;
  }

  reset(): void {
    this.calls.length = 0;
    this.failures = [];
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((done) => this.server.close(() => done()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const route = routeOf(method, url.pathname);
    const call: RecordedCall = {
      method,
      path: decode(url.pathname) ?? url.pathname,
      rawPath: url.pathname,
      query: Object.fromEntries(url.searchParams),
      ...(route?.identifier === undefined ? {} : { identifier: route.identifier }),
      headers: req.headers,
      body: await readBody(req),
      status: 'timeout',
      at: new Date(),
    };
    this.calls.push(call);
    const answer = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      call.status = status;
      const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, { ...(typeof body === 'object' ? { 'content-type': 'application/json' } : {}), ...headers }).end(text);
    };

    const scripted = this.takeFailure(call);
    if (scripted === 'timeout') return;
    if (scripted === 'apply-then-drop') {
      this.apply(req, call, route, () => undefined);
      call.status = 'dropped';
      req.socket.destroy();
      return;
    }
    if (scripted && 'status' in scripted) return answer(scripted.status, scripted.body, scripted.headers);
    if (scripted) {
      const later: Array<() => void> = [];
      this.apply(req, call, route, (status, body, headers) => later.push(() => answer(status, body, headers)));
      if ('applyThenAnswerAfterMs' in scripted) await new Promise((wait) => setTimeout(wait, scripted.applyThenAnswerAfterMs));
      else await scripted.applyThen();
      if (!res.destroyed) later.forEach((send) => send());
      return;
    }
    this.apply(req, call, route, answer);
  }

  /** What respond.io does with a request, and its answer. */
  private apply(
    req: IncomingMessage,
    call: RecordedCall,
    route: { route: string; identifier?: string } | undefined,
    answer: (status: number, body?: unknown, headers?: Record<string, string>) => void,
  ): void {
    if (req.headers.authorization !== `Bearer ${this.token}`) return answer(401, { message: 'Unauthorized' });
    if (!route || !routes.has(route.route)) return answer(404, { message: 'Not found' });
    if (route.route === 'GET /space/user') return this.listUsers(call.query, answer);
    if (route.route === 'GET /contact/{identifier}/message/list') return this.listMessages(route.identifier!, call.query, answer);

    if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) {
      return answer(415, { message: 'Content-Type must be application/json' });
    }
    if (typeof call.body !== 'object' || call.body === null) return answer(400, { message: 'body must be a JSON object' });
    const parsed = bodies[route.route]!.safeParse(call.body);
    if (!parsed.success) return answer(400, { message: describeIssues(parsed.error) });
    if (!identifierPattern.test(route.identifier!)) return answer(404, { message: 'Contact not found' });

    const contactId = this.contactIdOf(route.identifier!);
    if (route.route === 'POST /contact/{identifier}/message') {
      const { message } = parsed.data as { message: { text: string } };
      return answer(200, { contactId, messageId: this.addMessage(route.identifier!, 'outgoing', message.text).messageId });
    }
    if (route.route === 'POST /contact/{identifier}/comment') {
      const { text } = parsed.data as { text: string };
      return answer(200, { contactId, text, created_at: Math.floor(Date.now() / 1000) });
    }
    return answer(200, { contactId });
  }

  /** Newest first; `cursorId` is the last message id of the page before. */
  private listMessages(identifier: string, query: Record<string, string>, answer: (status: number, body: unknown) => void): void {
    const parsed = messagesQuery.safeParse(query);
    if (!parsed.success) return answer(400, { message: describeIssues(parsed.error) });
    if (!identifierPattern.test(identifier)) return answer(404, { message: 'Contact not found' });
    const { limit, cursorId } = parsed.data;
    const newestFirst = this.messagesOf(identifier).reverse();
    const after = newestFirst.filter((message) => cursorId === undefined || message.messageId < cursorId);
    const items = after.slice(0, limit);
    const last = items.at(-1);
    const next = after.length > limit && last ? `${RESPONDIO_HOST_URL}/contact/${identifier}/message/list?limit=${limit}&cursorId=${last.messageId}` : null;
    answer(200, { items, pagination: { next, previous: null } });
  }

  private listUsers(query: Record<string, string>, answer: (status: number, body: unknown) => void): void {
    const parsed = usersQuery.safeParse(query);
    if (!parsed.success) return answer(400, { message: describeIssues(parsed.error) });
    const { limit, cursorId } = parsed.data;
    const after = [...this.users].sort((a, b) => a.id - b.id).filter((user) => cursorId === undefined || user.id > cursorId);
    const items = after.slice(0, limit);
    const last = items.at(-1);
    // Deliberately respond.io's own host, as respond.io answers: a client must take the cursor, not the URL.
    const next = after.length > limit && last ? `${RESPONDIO_HOST_URL}/space/user?limit=${limit}&cursorId=${last.id}` : null;
    answer(200, { items, pagination: { next, previous: null } });
  }

  private takeFailure(call: RecordedCall): ScriptedResponse | undefined {
    const failure = this.failures.find(({ match }) => {
      if (match.method !== undefined && match.method.toUpperCase() !== call.method) return false;
      if (match.path === undefined) return true;
      return typeof match.path === 'string' ? match.path === call.path : match.path.test(call.path);
    });
    if (!failure) return undefined;
    if (--failure.remaining <= 0) this.failures.splice(this.failures.indexOf(failure), 1);
    return failure.response;
  }

  /** `id:123` is contact 123; other identifiers get a stable id of their own. */
  private contactIdOf(identifier: string): number {
    if (identifier.startsWith('id:')) return Number(identifier.slice('id:'.length));
    let id = this.contactIds.get(identifier);
    if (id === undefined) this.contactIds.set(identifier, (id = this.nextContactId++));
    return id;
  }
}

export function startRespondioStandIn({ token, users = [] }: { token: string; users?: StandInUser[] }): Promise<RespondioStandIn> {
  return new StandIn(token, [...users]).listen();
}
