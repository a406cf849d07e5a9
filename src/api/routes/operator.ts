import { join } from 'node:path';
import express, { type RequestHandler, Router } from 'express';
import { operatorOverview, type OverviewSources } from '../operator';
import { allow } from '../auth';

/** The page's files: src/api/ui, copied beside the compiled routes by `npm run build` (dist/src/api/ui). */
const PAGE_DIR = join(__dirname, '..', 'ui');

/**
 * The page holds an API key, so it runs nothing but its own files: no inline script, no other origin, no frame
 * around it. Temporal UI opens in a new tab without learning where it was opened from.
 */
const pageHeaders: RequestHandler = (_req, res, next) => {
  res.set({
    'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
  });
  next();
};

/**
 * `GET /ui`, the operator page, opens without an API key: it is static and shows nothing until a key is entered;
 * its data comes from `GET /v1/operator/overview` with that key.
 */
export function operatorPageRoutes(): Router {
  const router = Router();
  router.get('/ui', pageHeaders, (_req, res) => {
    res.sendFile(join(PAGE_DIR, 'index.html'));
  });
  router.use('/ui', pageHeaders, express.static(PAGE_DIR, { index: false }));
  return router;
}

/** `GET /v1/operator/overview` (scope read): agents, queue, recent conversations and time to assignment, at once. */
export function operatorRoutes(sources: OverviewSources): Router {
  const router = Router();
  router.get('/v1/operator/overview', allow('read'), async (_req, res) => {
    res.json(await operatorOverview(sources));
  });
  return router;
}
