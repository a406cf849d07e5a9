import type { Request, RequestHandler, Response } from 'express';
import { authenticationsRefused } from '../observability/metrics';
import { type ApiKeyRecord, type ApiKeys, type ApiKeyScope, scopeAllows } from '../security/api-key-tokens';
import { HttpError } from './errors';
import { type RateLimit, RateLimiter } from './rate-limit';

/** The key a request was authenticated with (set by `authenticate`). */
function apiKeyOf(res: Response): ApiKeyRecord | undefined {
  return res.locals['apiKey'] as ApiKeyRecord | undefined;
}

function bearerToken(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

export interface KeyCheckOptions {
  /** Failed authentications a client address may make: a burst, refilled over the window. */
  failuresPerAddress?: RateLimit;
  /** Key reads in the database at once, at most: the rest of the pool stays free for the webhook and the routes. */
  concurrentReads?: number;
  /** Requests waiting for a read, at most; more are answered 503 at once. */
  waitingReads?: number;
}

const DEFAULT_FAILURES: RateLimit = { requests: 20, windowMs: 60_000 };

/**
 * Checks presented API keys so that a flood of wrong ones costs the database little: a value that cannot be a key
 * and a key known to be unknown are refused from memory; a read is made only while the client's address has
 * failures left (each read reserves one, given back when the key is found) or for a key found active lately, and at
 * most `concurrentReads` at once. An address out of failures gets 429 with Retry-After.
 */
export class KeyCheck {
  private readonly failures: RateLimiter;
  private readonly reads: ReadGate;

  constructor(
    readonly keys: ApiKeys,
    { failuresPerAddress = DEFAULT_FAILURES, concurrentReads = 4, waitingReads = 256 }: KeyCheckOptions = {},
  ) {
    this.failures = new RateLimiter(failuresPerAddress);
    this.reads = new ReadGate(concurrentReads, waitingReads);
  }

  /**
   * Every request through here needs `Authorization: Bearer <API key>`: missing or unknown → 401, over the key's
   * rate limit → 429 with Retry-After. Which routes a key's scope opens is each route's `allow(…)`.
   */
  bearer(limiter?: RateLimiter): RequestHandler {
    return async (req, res, next) => {
      const presented = bearerToken(req.get('authorization'));
      if (!presented) {
        res.set('WWW-Authenticate', 'Bearer');
        throw new HttpError(401, 'unauthorized', 'send an API key as "Authorization: Bearer <key>"');
      }
      const key = await this.verified(presented, req, res);
      const taken = limiter?.take(key.id);
      if (taken && !taken.allowed) throw rateLimited(res, taken.retryAfterMs, 'too many requests for this API key');
      res.locals['apiKey'] = key;
      next();
    };
  }

  /**
   * The key in the path (`/codec/ui/<key>/decode`): Temporal UI sends no header of ours to a codec server (it can
   * pass only its own user's access token), so the endpoint it is given carries a key of scope decode.
   */
  fromPath(param = 'key'): RequestHandler {
    return async (req, res, next) => {
      const presented = req.params[param];
      res.locals['apiKey'] = await this.verified(typeof presented === 'string' ? presented : '', req, res);
      next();
    };
  }

  private async verified(presented: string, req: Request, res: Response): Promise<ApiKeyRecord> {
    const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const known = this.keys.known(presented);
    if (known) return known;
    // A key found active lately is read without spending the address's allowance: a flood from behind the same
    // proxy does not lock out its clients.
    const vouched = known === undefined && this.keys.vouched(presented);
    const failure = vouched ? undefined : this.failures.take(address);
    if (failure && !failure.allowed) {
      authenticationsRefused.inc({ reason: 'throttled' });
      throw rateLimited(res, failure.retryAfterMs, 'too many failed authentications from this address');
    }
    if (known === null) {
      authenticationsRefused.inc({ reason: 'known_unknown' });
      throw unknownKey(res);
    }
    const giveBack = () => failure && this.failures.refund(address);
    const record = await this.reads.run(() => this.keys.read(presented), () => {
      giveBack();
      authenticationsRefused.inc({ reason: 'busy' });
      res.set('Retry-After', '1');
      return new HttpError(503, 'busy', 'too many API keys are being checked at once; retry in a second');
    });
    if (record) {
      giveBack();
      return record;
    }
    authenticationsRefused.inc({ reason: 'unknown' });
    throw unknownKey(res);
  }
}

function unknownKey(res: Response): HttpError {
  res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
  return new HttpError(401, 'unauthorized', 'the API key is unknown or revoked');
}

function rateLimited(res: Response, retryAfterMs: number, what: string): HttpError {
  res.set('Retry-After', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
  return new HttpError(429, 'rate_limited', `${what}; retry in ${retryAfterMs} ms`);
}

/** At most `max` works at once, `maxWaiting` more in line; past that, `full()` is thrown at once. */
class ReadGate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly max: number,
    private readonly maxWaiting: number,
  ) {}

  async run<T>(work: () => Promise<T>, full: () => Error): Promise<T> {
    if (this.active < this.max) this.active++;
    else if (this.waiting.length >= this.maxWaiting) throw full();
    // The slot is handed over by the work that ends, so `active` stays counted.
    else await new Promise<void>((turn) => this.waiting.push(turn));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/** Lets keys of these scopes (and admin keys) through; others get 403. */
export function allow(...scopes: ApiKeyScope[]): RequestHandler {
  return (_req, res, next) => {
    const key = apiKeyOf(res);
    if (!key) throw new HttpError(401, 'unauthorized', 'send an API key as "Authorization: Bearer <key>"');
    if (!scopeAllows(key.scope, scopes)) {
      throw new HttpError(403, 'forbidden', `a ${key.scope} key cannot do this; it needs ${['admin', ...scopes].join(' or ')}`);
    }
    next();
  };
}
