import { join } from 'node:path';
import express, { type RequestHandler } from 'express';
import { z } from 'zod';
import { answer, operatorOverview as overviewAnswer } from '../answers';
import { route } from '../contract';
import { operatorOverview, type OverviewSources } from '../operator-overview';
import { AT, RUN_ID } from './examples';

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
export const operatorPageRoutes = [
  route<unknown>()({
    method: 'get',
    path: '/ui',
    operationId: 'operatorPage',
    tag: 'Operator',
    summary: 'The operator page: agents (presence can be changed there), queue, latest conversations, time to assignment',
    description:
      'Static: it shows nothing until an API key is entered (read to watch, admin to change presence), then reads `GET /v1/operator/overview` every 2 seconds. `/ui#key=<key>` opens it with that key.',
    access: 'open',
    responses: { 200: { description: 'An HTML page.', content: { schema: z.string(), mediaType: 'text/html' } } },
    use: [pageHeaders],
    handle: (_input, _deps, res) => {
      res.sendFile(join(PAGE_DIR, 'index.html'));
    },
  }),
];

/** The page's scripts and styles, under `/ui`. */
export const operatorPageFiles: RequestHandler[] = [pageHeaders, express.static(PAGE_DIR, { index: false })];

/** `GET /v1/operator/overview` (scope read): agents, queue, recent conversations and time to assignment, at once. */
export const operatorRoutes = [
  route<OverviewSources>()({
    method: 'get',
    path: '/v1/operator/overview',
    operationId: 'getOperatorOverview',
    tag: 'Operator',
    summary: 'Everything the operator page shows, at once: agents, queue, latest conversations, time to assignment by tier',
    description: 'The page (`/ui`) asks for it every 2 seconds; every part is bounded.',
    access: { scopes: ['read'] },
    responses: {
      200: answer('The overview.', overviewAnswer, {
        overview: {
          summary: 'A VIP assigned, one regular contact waiting',
          value: {
            generatedAt: '2025-06-03T09:16:00.000Z',
            agents: [{ id: 'alex', name: 'Alex Account-Manager', team: 'account-managers', role: 'agent', online: true, load: 1, capacity: 5 }],
            queue: [
              { position: 1, conversationId: RUN_ID, workflowId: 'conversation-c-3', contactId: 'c-3', tier: 'regular', priority: 0, effectivePriority: 0, enqueuedAt: AT, waitingMs: 57_519 },
            ],
            recent: [
              {
                contactId: 'c-1',
                workflowId: 'conversation-c-1',
                runId: RUN_ID,
                startedAt: AT,
                closedAt: null,
                state: 'assigned',
                tier: 'vip',
                path: [{ via: 'account_manager', agentId: 'alex', assignedAt: '2025-06-03T09:15:03.112Z', releasedAt: null }],
                historyUrl: `http://localhost:8233/namespaces/default/workflows/conversation-c-1/${RUN_ID}/history`,
              },
            ],
            timeToAssignment: {
              minutes: 60,
              points: [{ tier: 'vip', minute: '2025-06-03T09:15:00.000Z', conversations: 1, averageSeconds: 0.631, maxSeconds: 0.631 }],
            },
            firstResponse: { minutes: 60, tiers: [{ tier: 'vip', answered: 4, averageSeconds: 95.2, maxSeconds: 241, missed: 1 }] },
            givenUp: [],
          },
        },
      }),
    },
    handle: async (_input, sources, res) => {
      res.json(await operatorOverview(sources));
    },
  }),
];
