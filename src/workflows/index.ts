// The workflow bundle's entry: only deterministic code is reachable from here.
export { routeConversation } from './routing';
