import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { contactIdOfWorkflow } from '../workflows/definitions';
import { readRequestId } from '../workflows/request-id';

/**
 * An activity's log lines name, besides the run (the SDK adds workflowId), its contact and the request the run
 * passed on: a line in the worker's log leads to the API line of the same request.
 */
export const logWithRequest: ActivityInterceptorsFactory = (ctx) => {
  let requestId: string | undefined;
  return {
    inbound: {
      execute(input, next) {
        requestId = readRequestId(input.headers);
        return next(input);
      },
    },
    outbound: {
      getLogAttributes(input, next) {
        const workflowId = ctx.info.workflowExecution?.workflowId;
        const contactId = workflowId === undefined ? undefined : contactIdOfWorkflow(workflowId);
        return next({ ...input, ...(contactId === undefined ? {} : { contactId }), ...(requestId === undefined ? {} : { requestId }) });
      },
    },
  };
};
