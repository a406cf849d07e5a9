/**
 * What the worker's payload codec gives the runs in place of a payload it refuses: one that is not encrypted, or
 * is encrypted with a key the worker does not hold. Refusing by value rather than by throwing keeps a crafted
 * payload from failing a run's workflow task over and over: a refused start fails the run at once, a refused
 * signal is ignored and noted.
 */
export const REFUSED_PAYLOAD = 'vipRouterRefusedPayload';

export function refusedPayload(reason: string): Record<typeof REFUSED_PAYLOAD, string> {
  return { [REFUSED_PAYLOAD]: reason };
}

/** Why the codec refused this value; undefined for any value that is not a refused payload. */
export function refusalOf(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || !(REFUSED_PAYLOAD in value)) return undefined;
  return String((value as Record<string, unknown>)[REFUSED_PAYLOAD]);
}
