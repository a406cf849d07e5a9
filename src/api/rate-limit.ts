import ms from 'ms';

export interface RateLimit {
  requests: number;
  windowMs: number;
}

/** "1200/1m", "50/1s", "100/10s": so many requests per window, per API key. */
export function parseRateLimit(text: string): RateLimit {
  const match = /^\s*(\d+)\s*\/\s*(\S+)\s*$/.exec(text);
  const windowMs = match ? ms(match[2] as ms.StringValue) : undefined;
  if (!match || Number(match[1]) < 1 || typeof windowMs !== 'number' || !(windowMs > 0)) {
    throw new Error(`not a rate limit: "${text}" (use e.g. "1200/1m")`);
  }
  return { requests: Number(match[1]), windowMs };
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per key: up to `requests` at once, refilled at `requests` per window. Held in the API process,
 * so with several API processes each allows the limit on its own. At most `maxKeys` buckets are held (keys may be
 * client addresses, which an attacker chooses): past that, the least recently used is dropped.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 100_000,
  ) {
    this.perMs = limit.requests / limit.windowMs;
  }

  /** Gives back a request taken before it was known to count (a key read that found the key). */
  refund(key: string): void {
    const bucket = this.buckets.get(key);
    if (bucket) bucket.tokens = Math.min(this.limit.requests, bucket.tokens + 1);
  }

  /** Takes one request from the key's bucket; when empty, how long until the next one is allowed. */
  take(key: string): { allowed: true } | { allowed: false; retryAfterMs: number } {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.limit.requests, at: now };
    bucket.tokens = Math.min(this.limit.requests, bucket.tokens + (now - bucket.at) * this.perMs);
    bucket.at = now;
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterMs: Math.ceil((1 - bucket.tokens) / this.perMs) };
  }
}
