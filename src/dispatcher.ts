import type { Client } from '@temporalio/client';
import { dispatch, type Dispatched } from './db/assignments';
import type { Db } from './db/pool';
import { assignmentChangedSignal } from './workflows/messages';

/** Tells runs that the dispatcher changed their assignment, so a waiting run looks again. */
export type Notify = (workflowIds: string[]) => Promise<void>;

/** Signals through a Temporal client; a run that has closed since needs no wake-up, so failures only get reported. */
export function signalAssignmentChanged(client: Client, onError: (workflowId: string, error: unknown) => void = () => undefined): Notify {
  return async (workflowIds) => {
    await Promise.all(
      workflowIds.map((id) =>
        client.workflow
          .getHandle(id)
          .signal(assignmentChangedSignal)
          .catch((error: unknown) => onError(id, error)),
      ),
    );
  };
}

/**
 * Serves the queue with whatever capacity there is now and wakes the runs it served, except `self`,
 * which learns from its own activity's result. Called on every event that can free or add capacity.
 */
export async function dispatchAndNotify(db: Db, notify: Notify, self?: string): Promise<Dispatched[]> {
  const made = await dispatch(db);
  const others = made.map((m) => m.workflowId).filter((id) => id !== self);
  if (others.length > 0) await notify(others);
  return made;
}
