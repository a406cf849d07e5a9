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

/** Every error leaves as `{ error: { code, message, details? } }`; only our own faults are 5xx. */
export function errorHandler(log: { error: (obj: object, msg: string) => void }): ErrorRequestHandler {
  return (error, _req, res, _next) => {
    const { status, body } = toErrorResponse(error);
    if (status >= 500) log.error({ err: error }, 'request failed');
    res.status(status).json(body);
  };
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
