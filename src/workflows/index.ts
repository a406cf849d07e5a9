// The workflow bundle's entry: only deterministic code is reachable from here.
export { syncAgents } from './agent-sync';
export { routeConversation } from './routing';
