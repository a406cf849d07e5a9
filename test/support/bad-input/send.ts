import type { BadRequest } from './bodies';
import { KB } from './values';

/** Sending a bad request and judging its answer: a 4xx of the expected status, `{ error: { code, message } }`. */

export interface Outcome {
  generator: string;
  request: BadRequest;
  status: number;
  problem?: string;
}

export async function send(baseUrl: string, generator: string, request: BadRequest): Promise<Outcome> {
  const bytes = typeof request.body === 'string' ? new TextEncoder().encode(request.body) : request.body;
  const body =
    request.chunked && bytes
      ? new ReadableStream<Uint8Array>({
          start(controller) {
            for (let at = 0; at < bytes.length; at += 64 * KB) controller.enqueue(bytes.subarray(at, at + 64 * KB));
            controller.close();
          },
        })
      : request.body;
  let response: Response;
  try {
    response = await fetch(`${baseUrl}${request.path}`, {
      method: request.method,
      headers: request.headers,
      body,
      ...(request.chunked ? { duplex: 'half' } : {}),
    } as RequestInit);
  } catch (error) {
    return { generator, request, status: 0, problem: `no answer: ${(error as Error).message} (${String((error as Error).cause ?? '')})` };
  }
  const text = await response.text();
  const { status } = response;
  const problem = judge(request, status, response.headers.get('content-type') ?? '', text);
  return { generator, request, status, problem };
}

function judge(request: BadRequest, status: number, contentType: string, text: string): string | undefined {
  if (status < 400 || status > 499) return `answered ${status}: ${text.slice(0, 300)}`;
  if (!request.expect.includes(status)) return `answered ${status}, expected ${request.expect.join(' or ')}: ${text.slice(0, 300)}`;
  if (!/^application\/json\b/i.test(contentType)) return `answered ${status} as "${contentType}", not JSON: ${text.slice(0, 300)}`;
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    return `answered ${status} with a body that is not JSON: ${text.slice(0, 300)}`;
  }
  if (typeof body?.error?.code !== 'string' || typeof body?.error?.message !== 'string')
    return `answered ${status} without { error: { code, message } }: ${text.slice(0, 300)}`;
  return undefined;
}

export function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

export async function inParallel<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++) results[index] = await work(items[index]!);
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

export function describeRequest(request: BadRequest, keys: Record<string, string>): string {
  const redact = (value: string) => Object.entries(keys).reduce((text, [name, key]) => text.split(key).join(`<${name} key>`), value);
  const headers = Object.entries(request.headers).map(([name, value]) => `${name}: ${redact(value)}`);
  const body =
    request.body === undefined
      ? ''
      : typeof request.body === 'string'
        ? ` body(${request.body.length} chars)=${JSON.stringify(request.body.slice(0, 300))}`
        : ` body(${request.body.length} bytes, hex)=${Buffer.from(request.body.subarray(0, 200)).toString('hex')}`;
  return `${request.method} ${redact(request.path).slice(0, 300)} [${headers.join('; ')}]${request.chunked ? ' (chunked)' : ''}${body}`;
}
