// NUL, or a surrogate without its pair: text PostgreSQL cannot store (text columns refuse NUL, jsonb both).
// eslint-disable-next-line no-control-regex
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');

/**
 * What of a JSON body cannot be stored: the path of the first string (or key) holding NUL or an unpaired surrogate,
 * or of a value nested deeper than `maxDepth`. Walked without recursion, so no body can exhaust the stack.
 */
export function unstorableTextAt(body: unknown, maxDepth: number): { path: string; message: string } | undefined {
  const pending: Array<{ value: unknown; path: Array<string | number> }> = [{ value: body, path: [] }];
  while (pending.length > 0) {
    const { value, path } = pending.pop()!;
    const at = () => path.join('.') || '(body)';
    if (path.length > maxDepth) return { path: at(), message: `nested deeper than ${maxDepth} levels` };
    if (typeof value === 'string') {
      if (UNSTORABLE.test(value)) return { path: at(), message: 'contains NUL or an unpaired surrogate, which cannot be stored' };
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    for (const [key, child] of Array.isArray(value) ? value.entries() : Object.entries(value)) {
      if (typeof key === 'string' && UNSTORABLE.test(key)) return { path: at(), message: 'a key contains NUL or an unpaired surrogate' };
      pending.push({ value: child, path: [...path, key] });
    }
  }
  return undefined;
}

/**
 * What respond.io relays from contacts is kept rather than refused (a refused event is retried forever): NUL and
 * unpaired surrogates become U+FFFD. A body nested deeper than `maxDepth` throws: no respond.io event nests that deep.
 */
export function storableJson(value: unknown, maxDepth: number): unknown {
  const problem = unstorableTextAt(value, maxDepth);
  if (problem?.message.startsWith('nested')) throw new RangeError(problem.message);
  if (!problem) return value;
  const clean = (text: string) => text.replace(UNSTORABLE_ALL, '\ufffd');
  // Depth is bounded above, so a recursive copy is safe here.
  const copy = (node: unknown): unknown => {
    if (typeof node === 'string') return clean(node);
    if (node === null || typeof node !== 'object') return node;
    if (Array.isArray(node)) return node.map(copy);
    return Object.fromEntries(Object.entries(node).map(([key, child]) => [clean(key), copy(child)]));
  };
  return copy(value);
}
