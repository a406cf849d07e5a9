// The workflow bundle's entry: only deterministic code is reachable from here.
export { syncAgents } from './agent-sync-workflow';
export { pruneExpiredData } from './retention-workflow';
export { routeConversation } from './routing';
