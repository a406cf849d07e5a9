import type { RequestHandler, Response } from 'express';
import { type ApiKeyRecord, type ApiKeys, type ApiKeyScope, scopeAllows } from '../security/api-keys';
import { HttpError } from './errors';
import type { RateLimiter } from './rate-limit';

/** The key a request was authenticated with (set by `authenticate`). */
export function apiKeyOf(res: Response): ApiKeyRecord | undefined {
  return res.locals['apiKey'] as ApiKeyRecord | undefined;
}

function bearerToken(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/**
 * Every request through here needs `Authorization: Bearer <API key>`: missing or unknown → 401, over the key's
 * rate limit → 429 with Retry-After. Which routes a key's scope opens is each route's `allow(…)`.
 */
export function authenticate(keys: ApiKeys, limiter?: RateLimiter): RequestHandler {
  return async (req, res, next) => {
    const presented = bearerToken(req.get('authorization'));
    if (!presented) {
      res.set('WWW-Authenticate', 'Bearer');
      throw new HttpError(401, 'unauthorized', 'send an API key as "Authorization: Bearer <key>"');
    }
    const key = await verified(keys, presented, res);
    const taken = limiter?.take(key.id);
    if (taken && !taken.allowed) {
      res.set('Retry-After', String(Math.max(1, Math.ceil(taken.retryAfterMs / 1000))));
      throw new HttpError(429, 'rate_limited', `too many requests for this API key; retry in ${taken.retryAfterMs} ms`);
    }
    res.locals['apiKey'] = key;
    next();
  };
}

async function verified(keys: ApiKeys, presented: string, res: Response): Promise<ApiKeyRecord> {
  const key = await keys.verify(presented);
  if (!key) {
    res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
    throw new HttpError(401, 'unauthorized', 'the API key is unknown or revoked');
  }
  return key;
}

/**
 * The key in the path (`/codec/ui/<key>/decode`): Temporal UI calls a codec server without any header of ours, so
 * the endpoint it is given carries a key of scope codec.
 */
export function authenticateFromPath(keys: ApiKeys, param = 'key'): RequestHandler {
  return async (req, res, next) => {
    const presented = req.params[param];
    res.locals['apiKey'] = await verified(keys, typeof presented === 'string' ? presented : '', res);
    next();
  };
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

export const adminOnly = allow();
