import type { Payload, PayloadCodec } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';

type History = temporal.api.history.v1.IHistory;

function isPayload(value: unknown): value is Payload {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array || Array.isArray(value)) return false;
  const metadata = (value as { metadata?: unknown }).metadata;
  return metadata !== null && typeof metadata === 'object' && (metadata as Record<string, unknown>)['encoding'] instanceof Uint8Array;
}

/**
 * The history with every payload passed through the codec's decode: what replaying it, or keeping it as a test
 * fixture, needs without the keys. Payloads that are not encrypted come back unchanged.
 */
export async function decodeHistoryPayloads(history: History, codec: PayloadCodec): Promise<History> {
  const found: Array<{ holder: Record<string, unknown> | unknown[]; key: string | number; payload: Payload }> = [];
  const walk = (node: unknown): void => {
    if (node === null || typeof node !== 'object' || node instanceof Uint8Array) return;
    const entries: Array<[string | number, unknown]> = Array.isArray(node) ? node.map((v, i) => [i, v]) : Object.entries(node);
    for (const [key, value] of entries) {
      if (isPayload(value)) found.push({ holder: node as Record<string, unknown>, key, payload: value });
      else walk(value);
    }
  };
  walk(history);
  const decoded = await codec.decode(found.map((f) => f.payload));
  found.forEach((f, i) => {
    (f.holder as Record<string | number, unknown>)[f.key] = decoded[i];
  });
  return history;
}
