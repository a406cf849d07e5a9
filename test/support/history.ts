/** What the payloads of a history (proto JSON, as Temporal UI or `temporal workflow show -o json` export it) say. */
export function payloadTexts(history: unknown): string[] {
  const texts: string[] = [];
  const walk = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return;
    const payload = node as { metadata?: Record<string, string>; data?: string };
    if (typeof payload.metadata?.['encoding'] === 'string' && typeof payload.data === 'string') {
      texts.push(`${Buffer.from(payload.metadata['encoding'], 'base64').toString('utf8')} ${Buffer.from(payload.data, 'base64').toString('utf8')}`);
    }
    Object.values(node).forEach(walk);
  };
  walk(history);
  return texts;
}
