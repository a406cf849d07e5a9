import { AsyncLocalStorage } from 'node:async_hooks';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import { withRequestId } from '../workflows/request-id';

/** The request (an HTTP request, or a respond.io event being applied) this code runs for. */
const scope = new AsyncLocalStorage<string>();

export function inRequest<T>(requestId: string, work: () => T): T {
  return scope.run(requestId, work);
}

export function currentRequestId(): string | undefined {
  return scope.getStore();
}

/**
 * For the API's Temporal client: what it starts or signals learns the current request's id (see
 * `workflows/request-id.ts`), so the run's log lines and its activities' carry it.
 */
export const passRequestId: WorkflowClientInterceptor = {
  startWithDetails: (input, next) => next({ ...input, headers: withRequestId(input.headers, currentRequestId()) }),
  signal: (input, next) => next({ ...input, headers: withRequestId(input.headers, currentRequestId()) }),
  signalWithStart: (input, next) => next({ ...input, headers: withRequestId(input.headers, currentRequestId()) }),
  startUpdate: (input, next) => next({ ...input, headers: withRequestId(input.headers, currentRequestId()) }),
};
