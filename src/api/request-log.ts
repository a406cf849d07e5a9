import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from '../observability/logger';
import { inRequest } from '../observability/request-scope';
import { workflowIdForContact } from '../workflows/definitions';

/** A caller's own id is kept when it is a plain token; anything else is replaced, never logged. */
const CALLER_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Gives every request an id (the caller's `X-Request-Id` when it is a plain token, else a new one), answers it in
 * `X-Request-Id`, runs the request in its scope (what it starts or signals in Temporal carries it), and logs one
 * line when it is answered: route pattern (never the path: an address can be in it), status, time, and the contact
 * and workflow when the route names a contact.
 */
export function requestLog(log: Logger): RequestHandler {
  return (req, res, next) => {
    const offered = req.get('x-request-id');
    const requestId = offered && CALLER_REQUEST_ID.test(offered) ? offered : randomUUID();
    res.setHeader('x-request-id', requestId);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const contactId = res.locals['contactId'] as string | undefined;
      // Health checks come every few seconds: logged when they fail.
      const quiet = res.statusCode < 400 && (req.path === '/healthz' || req.path === '/readyz');
      log[quiet ? 'debug' : 'info'](
        {
          requestId,
          method: req.method,
          route: (req.route as { path?: string } | undefined)?.path ?? 'unmatched',
          status: res.statusCode,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
          ...(contactId === undefined ? {} : { contactId, workflowId: workflowIdForContact(contactId) }),
        },
        'request',
      );
    });
    inRequest(requestId, next);
  };
}

/** For routers with a `:contactId`: `router.param('contactId', noteContact)` names the contact in the request's log line. */
export const noteContact = (_req: Request, res: Response, next: NextFunction, contactId: string): void => {
  res.locals['contactId'] = contactId;
  next();
};
