import type { ConversationStatus } from '../../../src/domain/conversation';
import { signRespondioBody } from '../respondio-payloads';
import type { Ledger } from './ledger';
import type { World } from './topology';

/**
 * The service's clients as a case plays them: the platform opening conversations and posting messages through the
 * API or respond.io's webhook, an operator closing and changing agents. A request is sent to one API process; what
 * comes back short of a 2xx (a reset connection, a 5xx) is recorded as what the sender saw, and the request is sent
 * again, to the other API process too, as a sender (or respond.io's redelivery) would.
 */

export type Reply = { status: number; body: any } | { error: string };

const REQUEST_TIMEOUT_MS = 20_000;
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** A network failure as the sender sees it: `ECONNREFUSED`, `other side closed`, `timeout`. */
function describeNetworkError(error: unknown): string {
  const err = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'no answer (client timeout)';
  const cause = err.cause;
  if (cause?.code && cause.code !== 'UND_ERR_SOCKET') return cause.code;
  return cause?.message ?? err.message ?? String(error);
}

let nextContact = 1_000_000;
/** Contact ids as respond.io gives them (digits), so every run can name its contact to the respond.io stand-in. */
export function newContactId(): string {
  return String(nextContact++);
}

let nextMessage = 5_000_000;
export function newMessageNumber(): number {
  return nextMessage++;
}

export interface SendOptions {
  /** The API process tried first; the other one after a failure. Random when unset. */
  api?: number;
  /** Give up after this long (the case then finds what was lost). */
  deadlineMs?: number;
  /** Answers that end the attempts without being a failure to retry, e.g. 404 for a close of a closed run. */
  final?: (status: number) => boolean;
}

export class Driver {
  constructor(
    readonly world: World,
    readonly ledger: Ledger,
    private readonly random: () => number,
  ) {}

  get apiCount(): number {
    return this.world.apiUrls.length;
  }

  /** One request to one API process, as it went. */
  async once(api: number, method: string, path: string, body?: unknown, headers: Record<string, string> = {}, raw?: string): Promise<Reply> {
    try {
      const response = await fetch(`${this.world.apiUrls[api]}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.world.infra.adminKey}`,
          ...(body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON
      }
      return { status: response.status, body: parsed };
    } catch (error) {
      return { error: describeNetworkError(error) };
    }
  }

  /**
   * Sends until a 2xx (or an answer `final` accepts), alternating API processes after failures; records every
   * failure the sender saw. Undefined when the deadline passed without one.
   */
  async reliably(
    label: string,
    method: string,
    path: string,
    body?: unknown,
    options: SendOptions & { headers?: Record<string, string>; raw?: string } = {},
  ): Promise<{ status: number; body: any; api: number } | undefined> {
    const deadline = Date.now() + (options.deadlineMs ?? 180_000);
    let api = options.api ?? Math.floor(this.random() * this.apiCount);
    for (let attempt = 1; ; attempt++) {
      const reply = await this.once(api, method, path, body, options.headers, options.raw);
      if ('status' in reply && ((reply.status >= 200 && reply.status < 300) || options.final?.(reply.status))) return { ...reply, api };
      const what = 'error' in reply ? `network error: ${reply.error}` : `${reply.status} ${reply.body?.error?.code ?? ''}`.trim();
      this.ledger.saw(`${label}: ${what}`);
      if ('status' in reply && reply.status >= 400 && reply.status < 500 && reply.status !== 429 && reply.status !== 408) {
        return undefined; // refused: sending it again will not help
      }
      if (Date.now() > deadline) return undefined;
      api = (api + 1) % this.apiCount;
      await sleep(Math.min(250 * attempt, 2_000));
    }
  }

  async open(contactId: string, contact: { email?: string; firstName?: string; language?: string } = {}, options: SendOptions = {}) {
    const reply = await this.reliably('POST /v1/conversations', 'POST', '/v1/conversations', { contact: { id: contactId, ...contact } }, options);
    if (reply) this.ledger.triggers.push({ contactId, via: `api-${reply.api + 1}`, status: reply.status });
    return reply;
  }

  async say(contactId: string, messageId: string, text: string, options: SendOptions = {}) {
    const reply = await this.reliably('POST /v1/contacts/{id}/messages', 'POST', `/v1/contacts/${contactId}/messages`, { messageId, text }, options);
    if (reply) this.ledger.messages.push({ contactId, messageId, via: `api-${reply.api + 1}`, status: reply.status });
    return reply;
  }

  async close(contactId: string, options: SendOptions = {}) {
    const reply = await this.reliably('POST /v1/conversations/{id}/close', 'POST', `/v1/conversations/${contactId}/close`, undefined, options);
    if (reply) this.ledger.closes.push({ contactId, via: `api-${reply.api + 1}`, status: reply.status });
    return reply;
  }

  async putAgent(id: string, agent: { name?: string; team: string; role?: 'agent' | 'manager'; capacity: number; online?: boolean }) {
    const reply = await this.reliably('PUT /v1/agents/{id}', 'PUT', `/v1/agents/${id}`, { name: id, email: `${id}@agents.example.com`, ...agent });
    if (!reply) throw new Error(`could not PUT agent ${id}`);
  }

  async patchAgent(id: string, change: { online?: boolean; capacity?: number }) {
    const reply = await this.reliably('PATCH /v1/agents/{id}', 'PATCH', `/v1/agents/${id}`, change);
    if (!reply) throw new Error(`could not PATCH agent ${id}`);
  }

  /** The run's state as the API reports it; undefined when no API answered 200. */
  async status(contactId: string, api?: number): Promise<ConversationStatus | undefined> {
    const order = api === undefined ? [0, 1] : [api, 1 - api];
    for (const i of order) {
      const reply = await this.once(i, 'GET', `/v1/conversations/${contactId}`);
      if ('status' in reply && reply.status === 200) return reply.body as ConversationStatus;
      if ('status' in reply && reply.status === 404) return undefined;
    }
    return undefined;
  }

  /** Polls the state until `done` holds; the last state seen otherwise. */
  async until(contactId: string, done: (s: ConversationStatus) => boolean, timeoutMs = 60_000, everyMs = 500): Promise<ConversationStatus | undefined> {
    const deadline = Date.now() + timeoutMs;
    let last: ConversationStatus | undefined;
    for (;;) {
      last = (await this.status(contactId)) ?? last;
      if (last && done(last)) return last;
      if (Date.now() > deadline) return last;
      await sleep(everyMs);
    }
  }

  /** One signed delivery of a respond.io event to one API process. */
  async webhookOnce(api: number, payload: object): Promise<Reply> {
    const raw = JSON.stringify(payload);
    return this.once(api, 'POST', '/v1/webhooks/respondio', undefined, { 'x-webhook-signature': signRespondioBody(raw, this.world.infra.webhookSigningKey) }, raw);
  }

  /** Delivers a respond.io event until one API answers 200, as respond.io redelivers; recorded as accepted. */
  async webhook(payload: { event_id: string; event_type: string; contact: { id: number }; message?: { messageId: number } }, options: SendOptions = {}) {
    const raw = JSON.stringify(payload);
    const reply = await this.reliably(`webhook ${payload.event_type}`, 'POST', '/v1/webhooks/respondio', undefined, {
      ...options,
      raw,
      headers: { 'x-webhook-signature': signRespondioBody(raw, this.world.infra.webhookSigningKey) },
    });
    if (reply) this.recordWebhook(payload, reply.status, reply.api, reply.body?.duplicate === true);
    return reply;
  }

  recordWebhook(payload: { event_id: string; event_type: string; contact: { id: number }; message?: { messageId: number } }, status: number, api: number, duplicate: boolean): void {
    this.ledger.webhooks.push({
      contactId: String(payload.contact.id),
      eventId: payload.event_id,
      eventType: payload.event_type,
      ...(payload.message ? { messageId: String(payload.message.messageId) } : {}),
      via: `api-${api + 1}`,
      status,
      duplicate,
    });
  }
}

/** A small seeded generator (mulberry32): a run's random choices can be replayed with its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Runs `work` over items, at most `limit` at a time. */
export async function inParallel<T, R>(items: T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]!, i);
      }
    }),
  );
  return results;
}
