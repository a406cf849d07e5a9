import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Agent } from '../db/agents';
import type { Db } from '../db/pool';
import { agentWentOfflineSignal, assignmentChangedSignal } from '../workflows/messages';
import { gainedRoom } from './policy';
import {
  dispatch,
  type Dispatched,
  isDispatchOwed,
  markOfflineNoticed,
  markWoken,
  pendingOfflineNotices,
  pendingWakeUps,
} from './store';

/** Sends a signal to runs; returns the workflow ids told (a run that has closed since counts as told). */
export type Tell = (workflowIds: string[]) => Promise<string[]>;

/** The signals the dispatcher sends: a run's assignment changed (look again); a run's agent went offline. */
export interface RunSignals {
  wake: Tell;
  tellOffline: (workflowIds: string[], agentId: string) => Promise<string[]>;
}

export function temporalRunSignals(client: Client, onError: (workflowId: string, error: unknown) => void = () => undefined): RunSignals {
  const send = async (workflowIds: string[], signal: (id: string) => Promise<void>) => {
    const told = await Promise.all(
      workflowIds.map((id) =>
        signal(id).then(
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
  return {
    wake: (ids) => send(ids, (id) => client.workflow.getHandle(id).signal(assignmentChangedSignal)),
    tellOffline: (ids, agentId) => send(ids, (id) => client.workflow.getHandle(id).signal(agentWentOfflineSignal, { agentId })),
  };
}

/**
 * Delivers what the runs are still owed, whoever owed it: wake-ups of runs served but not told, and notices of
 * agents gone offline. A signal lost to a crash or an outage between a commit and its sending is sent again here.
 */
export async function deliverOwedSignals(db: Db, signals: RunSignals): Promise<void> {
  const wakeUps = await pendingWakeUps(db);
  if (wakeUps.length > 0) {
    const told = new Set(await signals.wake([...new Set(wakeUps.map((p) => p.workflowId))]));
    await markWoken(db, wakeUps.filter((p) => told.has(p.workflowId)).map((p) => p.id));
  }
  const byAgent = new Map<string, Array<{ id: string; workflowId: string }>>();
  for (const notice of await pendingOfflineNotices(db)) byAgent.set(notice.agentId, [...(byAgent.get(notice.agentId) ?? []), notice]);
  for (const [agentId, notices] of byAgent) {
    const told = new Set(await signals.tellOffline(notices.map((n) => n.workflowId), agentId));
    await markOfflineNoticed(db, notices.filter((n) => told.has(n.workflowId)).map((n) => n.id));
  }
}

/**
 * Serves the queue with whatever capacity there is now and delivers what the runs are owed, except a wake-up of
 * `self`, which learns from its own activity's result. Called on every event that can free or add capacity.
 */
export async function dispatchAndNotify(db: Db, signals: RunSignals, self?: string): Promise<Dispatched[]> {
  const made = await dispatch(db, self);
  await deliverOwedSignals(db, signals);
  return made;
}

/**
 * After an agent change has committed (with what it owes: see commitAgentChange): serve the queue if the agent
 * gained room, and tell the runs of an agent gone offline. A crash before this is made good by the next dispatch.
 */
export async function afterAgentChange(db: Db, signals: RunSignals, before: Agent | undefined, after: Agent): Promise<void> {
  if (gainedRoom(before, after)) await dispatchAndNotify(db, signals);
  else await deliverOwedSignals(db, signals);
}

/** What a crash left owed, checked now and then by every worker: a dispatch, wake-ups, offline notices. */
export async function reconcile(db: Db, signals: RunSignals): Promise<void> {
  if (await isDispatchOwed(db)) await dispatchAndNotify(db, signals);
  else await deliverOwedSignals(db, signals);
}
