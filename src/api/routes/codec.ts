import type { Payload, PayloadCodec } from '@temporalio/common';
import { JSONToPayload, payloadToJSON } from '@temporalio/common/lib/proto-utils';
import express, { type RequestHandler, Router } from 'express';
import { z } from 'zod';
import { CodecError } from '../../security/codec';
import { HttpError } from '../errors';

/** Proto3 JSON bytes: parsers must accept both base64 alphabets, padded or not. */
const base64 = z.union([z.base64(), z.base64url()], { error: 'not valid base64' });

const payloadsBody = z.object({
  payloads: z.array(
    z.object({
      metadata: z.record(z.string(), base64).nullish(),
      data: base64.nullish(),
      externalPayloads: z.array(z.object({ sizeBytes: z.union([z.string().regex(/^\d+$/), z.number().int().min(0)]).optional() })).optional(),
    }),
  )
    // A history page's worth; more is not a codec request.
    .max(10_000),
});

export interface CodecRouterOptions {
  /** Who may call each operation (checked before the body is read). */
  allowed: Record<'encode' | 'decode', RequestHandler>;
  /** One request carries the payloads of a history event or a page of them; Temporal allows 2 MB per payload. */
  bodyLimit?: string;
}

/**
 * The codec server protocol of Temporal UI and `temporal --codec-endpoint`: `POST /encode` and `POST /decode`,
 * `{ payloads: [Payload as proto3 JSON] }` in and out. Mount it under any prefix: clients only append the last
 * path segment.
 */
export function codecRouter(codec: PayloadCodec, { allowed, bodyLimit = '4mb' }: CodecRouterOptions): Router {
  const router = Router();
  const json = express.json({ limit: bodyLimit });

  for (const operation of ['encode', 'decode'] as const) {
    router.post(`/${operation}`, allowed[operation], json, async (req, res) => {
      const converted = await codec[operation](parsePayloads(req.body)).catch((error: unknown) => {
        // Our codec's refusals name a key id and nothing more; anything else is a fault of ours (500).
        if (error instanceof CodecError) throw new HttpError(400, 'codec_failed', `${operation} failed: ${error.message}`);
        throw error;
      });
      res.json({ payloads: converted.map(payloadToJSON) });
    });
  }
  return router;
}

function parsePayloads(body: unknown): Payload[] {
  const { payloads } = payloadsBody.parse(body);
  return payloads.map((json, index) => {
    try {
      return JSONToPayload(json);
    } catch (error) {
      throw new HttpError(400, 'validation_failed', 'the request is invalid', [{ path: `payloads.${index}`, message: (error as Error).message }]);
    }
  });
}

/** What Temporal UI sends to a codec endpoint (src/lib/services/data-encoder.ts in temporalio/ui). */
const ALLOWED_HEADERS = 'content-type, x-namespace, authorization, authorization-extras';

/**
 * CORS for the codec endpoints, mounted before authentication: Temporal UI calls them from the browser, and a
 * preflight carries no credentials, so preflights are answered here and never reach auth. Only the listed origins
 * get CORS headers; the browser then refuses the others.
 */
export function codecCors(allowedOrigins: string[]): RequestHandler {
  const allowed = new Set(allowedOrigins.map(originOf));
  return (req, res, next) => {
    res.vary('Origin');
    const origin = req.get('origin');
    if (origin !== undefined && allowed.has(origin)) {
      res.set({
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Credentials': 'true',
        'Access-Control-Allow-Methods': 'POST, OPTIONS',
        'Access-Control-Allow-Headers': ALLOWED_HEADERS,
        'Access-Control-Max-Age': '600',
      });
    }
    if (req.method === 'OPTIONS' && req.get('access-control-request-method') !== undefined) {
      res.status(204).end();
      return;
    }
    next();
  };
}

/** `http://localhost:8233/` and `http://localhost:8233` are the same origin; browsers send the latter. */
function originOf(url: string): string {
  const origin = URL.canParse(url) ? new URL(url).origin : 'null';
  if (origin === 'null') throw new Error(`codec CORS origin "${url}" is not an http(s) origin such as http://localhost:8233`);
  return origin;
}
