import type { Payload, PayloadCodec } from '@temporalio/common';
import { JSONToPayload, payloadToJSON } from '@temporalio/common/lib/proto-utils';
import express, { type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { CodecError } from '../../security/codec';
import { answer, error, failure } from '../answers';
import { route } from '../contract';
import { HttpError } from '../errors';

/** Proto3 JSON bytes: parsers must accept both base64 alphabets, padded or not. */
const base64 = z.union([z.base64(), z.base64url()], { error: 'not valid base64' });

const payloadsBody = z
  .object({
    payloads: z
      .array(
        z.object({
          metadata: z.record(z.string(), base64).nullish(),
          data: base64.nullish(),
          externalPayloads: z.array(z.object({ sizeBytes: z.union([z.string().regex(/^\d+$/), z.number().int().min(0)]).optional() })).optional(),
        }),
      )
      // A history page's worth; more is not a codec request.
      .max(10_000),
  })
  .meta({ id: 'CodecPayloads', description: "Temporal's codec-server protocol: payloads as proto3 JSON." });

interface CodecDeps {
  codec: PayloadCodec;
}

const codecRoute = route<CodecDeps>();
/** One request carries the payloads of a history event or a page of them; Temporal allows 2 MB per payload. */
const json = express.json({ limit: '4mb' });

const PLAIN = { metadata: { encoding: 'anNvbi9wbGFpbg==' }, data: 'ImhlbGxvIg==' };
const ENCRYPTED = {
  metadata: { encoding: 'YmluYXJ5L2VuY3J5cHRlZA==', 'encryption-key-id': 'azE=' },
  data: 'JLeFfeJRTCYOWOBFljDC6659PXo1WnBCFswtbxmU2MUPYHuS8zsvm/pY1pejzAFuz6nO0BrxVIf8o+RWWw==',
};

/**
 * The codec server protocol of Temporal UI and `temporal --codec-endpoint`: `POST …/encode` and `POST …/decode`,
 * `{ payloads: [Payload as proto3 JSON] }` in and out; clients only append the last path segment. The key is an
 * `Authorization` header (the CLI) or, for Temporal UI, which can send no header of ours, a path segment.
 */
function codecOperation(operation: 'encode' | 'decode', keyInPath: boolean) {
  const Operation = operation === 'encode' ? 'Encode' : 'Decode';
  const verb = operation === 'encode' ? 'Encrypt' : 'Decrypt';
  const shared = {
    method: 'post' as const,
    tag: 'Codec',
    use: [json],
    body: { schema: payloadsBody, examples: { payload: { summary: 'One JSON payload ("hello")', value: { payloads: [PLAIN] } } } },
    responses: {
      200: answer(`The payloads, ${operation}d, in the same order.`, payloadsBody, {
        [operation]: { summary: `${operation}d`, value: { payloads: [operation === 'encode' ? ENCRYPTED : PLAIN] } },
      }),
      400: failure('Not a codec request, or a payload the keys cannot decrypt.', {
        invalid: { summary: 'Not base64', value: error('validation_failed', 'the request is invalid', [{ path: 'payloads.0.data', message: 'not valid base64' }]) },
      }),
    },
    handle: async ({ body }: { body: z.output<typeof payloadsBody> }, { codec }: CodecDeps, res: Response) => {
      const converted = await codec[operation](toPayloads(body)).catch((error: unknown) => {
        // Our codec's refusals name a key id and nothing more; anything else is a fault of ours (500).
        if (error instanceof CodecError) throw new HttpError(400, 'codec_failed', `${operation} failed: ${error.message}`);
        throw error;
      });
      res.json({ payloads: converted.map(payloadToJSON) });
    },
  };
  if (!keyInPath) {
    return codecRoute({
      ...shared,
      path: `/codec/${operation}`,
      operationId: `codec${Operation}`,
      summary: `${verb} Temporal payloads (codec server, for the Temporal CLI's --codec-endpoint)`,
      access: { scopes: operation === 'encode' ? ['codec'] : ['codec', 'decode'] },
    });
  }
  return codecRoute({
    ...shared,
    path: `/codec/ui/{key}/${operation}`,
    operationId: `codecUi${Operation}`,
    summary: `${verb} Temporal payloads, the key in the path (for Temporal UI, which sends no header of ours)`,
    description:
      operation === 'encode'
        ? 'Always 403: the endpoint Temporal UI is given reads histories and never writes payloads. Encode with the key in an `Authorization` header (`POST /codec/encode`).'
        : "The codec endpoint given to Temporal UI is `https://<vip-router>/codec/ui/<key>`, with a key of scope decode (`VIP_ROUTER_UI_CODEC_KEY`). Temporal UI can send no fixed header: its `passAccessToken` sends the signed-in user's own token, so the key stays in the path here; every other client sends it as `Authorization: Bearer`.",
    // Temporal UI's endpoint reads histories, it never writes payloads.
    access:
      operation === 'encode'
        ? { keyInPath: [], refusal: 'a codec endpoint with its key in the path only decodes; encode with the key in an Authorization header' }
        : { keyInPath: ['codec', 'decode'] },
    params: z.object({ key: z.string() }),
    paramExamples: { key: 'vr_codec-key-shown-once-by-npm-run-api-key' },
  });
}

/** The codec endpoints called with the key in an `Authorization` header: mounted under `/codec`. */
export const codecRoutes = [codecOperation('encode', false), codecOperation('decode', false)];
/** Temporal UI's codec endpoints, the key in the path: mounted under `/codec/ui/{key}`. */
export const codecUiRoutes = [codecOperation('encode', true), codecOperation('decode', true)];

function toPayloads({ payloads }: z.output<typeof payloadsBody>): Payload[] {
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
