import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { type Agent, openConversationsOf } from './db/agents';
import { dispatch, type Dispatched, markWoken, pendingWakeUps } from './db/assignments';
import type { Db } from './db/pool';
import { agentWentOfflineSignal, assignmentChangedSignal } from './workflows/messages';

/** Tells runs that the dispatcher changed their assignment, so a waiting run looks again; returns those told. */
export type Notify = (workflowIds: string[]) => Promise<string[]>;

/** Signals through a Temporal client. A run that has closed since needs no wake-up: it counts as told. */
export function signalAssignmentChanged(client: Client, onError: (workflowId: string, error: unknown) => void = () => undefined): Notify {
  return async (workflowIds) => {
    const told = await Promise.all(
      workflowIds.map((id) =>
        client.workflow
          .getHandle(id)
          .signal(assignmentChangedSignal)
          .then(
            () => true,
            (error: unknown) => {
              if (error instanceof WorkflowNotFoundError) return true;
              onError(id, error);
              return false;
            },
          ),
      ),
    );
    return workflowIds.filter((_, i) => told[i]);
  };
}

/** Wakes every run served but not yet told, whoever served it: a wake-up lost to a crash or an outage is sent again. */
export async function wakeServedRuns(db: Db, notify: Notify): Promise<void> {
  const pending = await pendingWakeUps(db);
  if (pending.length === 0) return;
  const told = new Set(await notify([...new Set(pending.map((p) => p.workflowId))]));
  await markWoken(db, pending.filter((p) => told.has(p.workflowId)).map((p) => p.id));
}

/**
 * Serves the queue with whatever capacity there is now and wakes the runs it served, except `self`,
 * which learns from its own activity's result. Called on every event that can free or add capacity.
 */
export async function dispatchAndNotify(db: Db, notify: Notify, self?: string): Promise<Dispatched[]> {
  const made = await dispatch(db, self);
  await wakeServedRuns(db, notify);
  return made;
}

/** Tells the runs an agent holds that the agent went offline; each run decides by its own rules what that means. */
export type TellOffline = (workflowIds: string[], agentId: string) => Promise<void>;

export function signalAgentWentOffline(client: Client, onError: (workflowId: string, error: unknown) => void = () => undefined): TellOffline {
  return async (workflowIds, agentId) => {
    await Promise.all(
      workflowIds.map((id) =>
        client.workflow
          .getHandle(id)
          .signal(agentWentOfflineSignal, { agentId })
          .catch((error: unknown) => onError(id, error)),
      ),
    );
  };
}

/**
 * True when the change can let a waiting conversation through. A null capacity stands for a team default that
 * only each run's config knows, so any capacity change counts; a needless dispatch finds nothing to do.
 */
function gainedRoom(before: Agent | undefined, after: Agent): boolean {
  if (!after.online) return false;
  return !before || !before.online || after.capacity !== before.capacity || after.team !== before.team || after.role !== before.role;
}

/**
 * What an agent change sets off, whoever made it (the API, an agent sync): room gained serves the queue, an agent
 * gone offline is told to the runs they hold.
 */
export async function afterAgentChange(db: Db, events: { notify: Notify; tellOffline: TellOffline }, before: Agent | undefined, after: Agent): Promise<void> {
  if (gainedRoom(before, after)) await dispatchAndNotify(db, events.notify);
  if (before?.online && !after.online) {
    const held = await openConversationsOf(db, after.id);
    if (held.length > 0) await events.tellOffline(held.map((c) => c.workflowId), after.id);
  }
}
