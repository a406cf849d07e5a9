// The workflow bundle's entry: only deterministic code is reachable from here.
export { syncAgents } from './agent-sync';
export { pruneExpiredData } from './retention';
export { routeConversation } from './routing';
