import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { ROUTING_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

const { IndexedValueType } = temporal.api.enums.v1;
const TYPES = { Keyword: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD, Bool: IndexedValueType.INDEXED_VALUE_TYPE_BOOL } as const;

/** The `temporal operator` lines that register the routing search attributes on a namespace. */
function searchAttributeCommands(namespace: string): string[] {
  return Object.entries(ROUTING_SEARCH_ATTRIBUTES).map(
    ([name, type]) => `temporal operator search-attribute create --namespace ${namespace} --name ${name} --type ${type}`,
  );
}

/**
 * Whether the namespace has the routing search attributes, registering those missing when the server lets us (a
 * dev server, a cluster without authorization). Runs are started knowing the answer: without the attributes they
 * keep no search attributes rather than fail.
 */
export async function ensureSearchAttributes(
  connection: Connection,
  namespace: string,
  log: { warn: (o: object, m: string) => void },
): Promise<boolean> {
  const listed = await connection.operatorService.listSearchAttributes({ namespace });
  const existing = listed.customAttributes ?? {};
  const missing = Object.entries(ROUTING_SEARCH_ATTRIBUTES).filter(([name]) => existing[name] === undefined);
  const wrong = Object.entries(ROUTING_SEARCH_ATTRIBUTES).filter(([name, type]) => existing[name] !== undefined && existing[name] !== TYPES[type]);
  if (wrong.length > 0) {
    log.warn({ attributes: wrong.map(([name]) => name) }, 'search attributes exist with another type: runs keep no search attributes');
    return false;
  }
  if (missing.length === 0) return true;
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, TYPES[type]])),
    });
    return true;
  } catch (error) {
    // Another process may have just registered them.
    const again = (await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
    if (Object.keys(ROUTING_SEARCH_ATTRIBUTES).every((name) => again[name] !== undefined)) return true;
    log.warn(
      { err: error, create: searchAttributeCommands(namespace) },
      'the routing search attributes are not registered and could not be: runs keep none until they are (see README)',
    );
    return false;
  }
}
