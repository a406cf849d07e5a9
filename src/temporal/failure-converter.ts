import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Failure messages and stack traces travel as payloads, so the payload codec encrypts them like everything else
 * (a CRM or respond.io error can quote a contact's email). Loaded by path: the workflow bundle needs it too.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
