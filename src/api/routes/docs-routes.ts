import { dirname } from 'node:path';
import express, { type RequestHandler } from 'express';
import { z } from 'zod';
import { route } from '../contract';

/** Swagger UI's own files, served from the package: the page works offline and behind a firewall, with no CDN. */
const SWAGGER_UI_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));
/** Only what the page loads; the package's demo page and initializer (which fetch a sample API) stay unserved. */
const SWAGGER_UI_FILES = new Set(['/swagger-ui.css', '/swagger-ui-bundle.js', '/favicon-32x32.png', '/favicon-16x16.png']);

const PAGE = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>vip-router API</title>
    <link rel="stylesheet" href="/docs/swagger-ui.css">
    <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
    <link rel="icon" type="image/png" href="/docs/favicon-16x16.png" sizes="16x16">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js"></script>
    <script>
      window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true });
    </script>
  </body>
</html>
`;

/**
 * `GET /openapi.json`, the OpenAPI description of the API (`document`, built once by `./openapi`), and `GET /docs`,
 * the same browsable in Swagger UI. Both open without an API key: they describe the routes (as the README does) and
 * expose no data; trying a route from the page still needs a key.
 */
export const docsRoutes = [
  route<{ document: string }>()({
    method: 'get',
    path: '/openapi.json',
    operationId: 'openapi',
    tag: 'Docs',
    summary: 'This document',
    access: 'open',
    responses: { 200: { description: 'The OpenAPI 3.1 description of this API.', content: { schema: z.looseObject({ openapi: z.string() }) } } },
    handle: (_input, { document }, res) => {
      res.type('json').send(document);
    },
  }),
  route<{ document: string }>()({
    method: 'get',
    path: '/docs',
    operationId: 'docs',
    tag: 'Docs',
    summary: 'This document, browsable (Swagger UI)',
    access: 'open',
    responses: { 200: { description: 'An HTML page.', content: { schema: z.string(), mediaType: 'text/html' } } },
    handle: (_input, _deps, res) => {
      res.type('html').send(PAGE);
    },
  }),
];

const swaggerUi = express.static(SWAGGER_UI_DIR, { index: false, maxAge: '1d' });
/** Swagger UI's files, under `/docs`. */
export const swaggerUiFiles: RequestHandler = (req, res, next) => (SWAGGER_UI_FILES.has(req.path) ? swaggerUi(req, res, next) : next());
