import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';
import { workflowInfo } from '@temporalio/workflow';
import { contactIdOfWorkflow } from './definitions';
import { readRequestId, withRequestId } from './request-id';

/**
 * Every log line of a run names its contact and the request that last moved it (its start, or the latest signal),
 * and the activities it schedules carry that request's id on to theirs. Headers and log attributes only: nothing
 * here is a command, so histories replay the same with or without it.
 */
export const interceptors: WorkflowInterceptorsFactory = () => {
  // Per run: the factory is called for each workflow.
  let requestId: string | undefined;
  const remember = (headers: Parameters<typeof readRequestId>[0]) => {
    requestId = readRequestId(headers) ?? requestId;
  };
  return {
    inbound: [
      {
        execute(input, next) {
          remember(input.headers);
          return next(input);
        },
        handleSignal(input, next) {
          remember(input.headers);
          return next(input);
        },
        handleUpdate(input, next) {
          remember(input.headers);
          return next(input);
        },
      },
    ],
    outbound: [
      {
        scheduleActivity: (input, next) => next({ ...input, headers: withRequestId(input.headers, requestId) }),
        scheduleLocalActivity: (input, next) => next({ ...input, headers: withRequestId(input.headers, requestId) }),
        getLogAttributes(input, next) {
          const contactId = contactIdOfWorkflow(workflowInfo().workflowId);
          return next({ ...input, ...(contactId === undefined ? {} : { contactId }), ...(requestId === undefined ? {} : { requestId }) });
        },
      },
    ],
  };
};
