import type { ErrorRequestHandler, RequestHandler } from 'express';
import { z } from 'zod';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** A body with a million wrong elements gets the first problems, not a million-line answer. */
const MAX_DETAILS = 20;

export const notFound = (what: string) => new HttpError(404, 'not_found', what);

export const unknownRoute: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, 'not_found', `no route for ${req.method} ${req.path}`));
};

/** Every error leaves as `{ error: { code, message, details? } }`; only our own faults and a dependency down are 5xx. */
export function errorHandler(log: { error: (obj: object, msg: string) => void; warn: (obj: object, msg: string) => void }): ErrorRequestHandler {
  return (error, _req, res, _next) => {
    const down = unavailableDependency(error);
    if (down) {
      log.warn({ err: error }, `${down} is unavailable`);
      res.status(503).set('Retry-After', String(RETRY_AFTER_UNAVAILABLE_S));
      res.json({ error: { code: 'unavailable', message: `${down} is unavailable; retry in a few seconds (a retry is safe)` } });
      return;
    }
    const { status, body } = toErrorResponse(error);
    if (status >= 500) log.error({ err: error }, 'request failed');
    res.status(status).json(body);
  };
}

const RETRY_AFTER_UNAVAILABLE_S = 5;
/** Connection failures (class 08), the server shutting down or starting (57P01–57P03), the socket refused or reset. */
const POSTGRES_DOWN_CODES = /^(08\d{3}|57P0[1-3]|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT)$/;
const POSTGRES_DOWN_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/;
/** gRPC UNAVAILABLE (14) and DEADLINE_EXCEEDED (4), as the Temporal client reports a server it cannot reach. */
const TEMPORAL_DOWN_GRPC_CODES = new Set([4, 14]);

/**
 * PostgreSQL or Temporal could not be reached: a 503 the sender retries (respond.io does), not a 500. A retry is
 * safe: message ids, event ids and open conversations are idempotent, so whatever part of the request took effect
 * takes effect once.
 */
function unavailableDependency(error: unknown): 'PostgreSQL' | 'Temporal' | undefined {
  const e = error as { code?: unknown; message?: unknown; name?: unknown; cause?: { code?: unknown } };
  if (e === null || typeof e !== 'object') return undefined;
  if (e.name === 'ServiceError' && typeof e.cause?.code === 'number' && TEMPORAL_DOWN_GRPC_CODES.has(e.cause.code)) return 'Temporal';
  if (typeof e.code === 'string' && POSTGRES_DOWN_CODES.test(e.code)) return 'PostgreSQL';
  if (typeof e.message === 'string' && POSTGRES_DOWN_MESSAGES.test(e.message)) return 'PostgreSQL';
  return undefined;
}

function toErrorResponse(error: unknown): { status: number; body: object } {
  const reply = (status: number, code: string, message: string, details?: unknown) => ({
    status,
    body: { error: details === undefined ? { code, message } : { code, message, details } },
  });
  if (error instanceof HttpError) return reply(error.status, error.code, error.message, error.details);
  if (error instanceof z.ZodError) {
    const details = error.issues.slice(0, MAX_DETAILS).map((i) => ({ path: i.path.join('.'), message: i.message }));
    if (error.issues.length > MAX_DETAILS) details.push({ path: '', message: `and ${error.issues.length - MAX_DETAILS} more problems` });
    return reply(400, 'validation_failed', 'the request is invalid', details);
  }
  // body-parser's errors carry the status they mean: malformed JSON, too large, bad charset…
  const parserError = error as { type?: string; status?: number; message?: string };
  if (parserError.type === 'entity.parse.failed') return reply(400, 'invalid_json', 'the body is not valid JSON');
  if (typeof parserError.status === 'number' && parserError.status >= 400 && parserError.status < 500) {
    return reply(parserError.status, parserError.type ?? 'bad_request', parserError.message ?? 'bad request');
  }
  return reply(500, 'internal', 'internal error');
}
