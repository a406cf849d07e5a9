/**
 * What the payloads of a history (proto JSON, as Temporal UI or `temporal workflow show -o json` export it) say.
 * `except` leaves out the payloads under a key path that ends so (`searchAttributes`, `details.data`).
 */
export function payloadTexts(history: unknown, except: string[] = []): string[] {
  const texts: string[] = [];
  const walk = (node: unknown, path: string): void => {
    if (node === null || typeof node !== 'object') return;
    if (except.some((tail) => path === tail || path.endsWith(`.${tail}`))) return;
    const payload = node as { metadata?: Record<string, string>; data?: string };
    if (typeof payload.metadata?.['encoding'] === 'string' && typeof payload.data === 'string') {
      texts.push(`${Buffer.from(payload.metadata['encoding'], 'base64').toString('utf8')} ${Buffer.from(payload.data, 'base64').toString('utf8')}`);
    }
    Object.entries(node).forEach(([key, value]) => walk(value, path ? `${path}.${key}` : key));
  };
  walk(history, '');
  return texts;
}
