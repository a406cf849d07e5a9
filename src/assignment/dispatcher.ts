import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Agent } from '../db/agents';
import type { Db } from '../db/pool';
import { agentWentOfflineSignal, assignmentChangedSignal } from '../workflows/definitions';
import { gainedRoom } from './policy';
import {
  claimRunsToCheck,
  dispatch,
  type Dispatched,
  type HeldByRun,
  isDispatchOwed,
  markOfflineNoticed,
  markWoken,
  pendingOfflineNotices,
  pendingWakeUps,
  releaseEnded,
} from './store';

/** Sends a signal to runs; returns the workflow ids told (a run that has closed since counts as told). */
type Tell = (workflowIds: string[]) => Promise<string[]>;

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

/** Which of these conversations' runs has ended (or is gone from Temporal); a run Temporal did not answer for is not. */
export type EndedRuns = (held: HeldByRun[]) => Promise<string[]>;

/** Runs described at once, so a large check does not flood the frontend. */
const DESCRIBED_AT_ONCE = 20;

/**
 * Asks Temporal for the latest run of each workflow id. A conversation's run has ended when that run is not running,
 * or is another conversation's (the workflow id was reused by the contact's next conversation). A reset run keeps
 * its chain's first run id, which is the conversation id: it is still the same conversation. A run that is merely
 * slow is running.
 */
export function temporalEndedRuns(client: Client): EndedRuns {
  return async (held) => {
    const ended: string[] = [];
    for (let i = 0; i < held.length; i += DESCRIBED_AT_ONCE) {
      await Promise.all(
        held.slice(i, i + DESCRIBED_AT_ONCE).map(async ({ workflowId, conversationId }) => {
          try {
            const { status, runId, raw } = await client.workflow.getHandle(workflowId).describe();
            const conversationOfLatest = raw.workflowExecutionInfo?.firstRunId || runId;
            if (status.name !== 'RUNNING' || conversationOfLatest !== conversationId) ended.push(conversationId);
          } catch (error) {
            if (error instanceof WorkflowNotFoundError) ended.push(conversationId);
          }
        }),
      );
    }
    return ended;
  };
}

/** How often the run holding an assignment or a queue entry is looked at again; rows looked at per check and worker. */
const RUN_CHECK = { everyMs: 30_000, batch: 100 };

/**
 * Capacity is released by the runs themselves; a run terminated (Temporal UI, CLI), reset or timed out never does.
 * Each worker's periodic check takes a batch of rows not looked at for a while, asks Temporal about their runs and
 * releases what ended runs hold, then serves the queue with the room freed.
 */
async function releaseWhatEndedRunsHold(db: Db, signals: RunSignals, endedRuns: EndedRuns, check = RUN_CHECK) {
  const held = await claimRunsToCheck(db, check.batch, check.everyMs);
  if (held.length === 0) return [];
  const released = await releaseEnded(db, await endedRuns(held));
  if (released.length > 0) await dispatchAndNotify(db, signals);
  return released;
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
export async function dispatchAndNotify(db: Db, signals: RunSignals, self?: string, runClock?: number): Promise<Dispatched[]> {
  const made = await dispatch(db, self, runClock);
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

/**
 * What a crash left owed, checked now and then by every worker: a dispatch, wake-ups, offline notices; and what
 * runs that ended abnormally still hold. Returns what was released.
 */
export async function reconcile(db: Db, signals: RunSignals, endedRuns?: EndedRuns): Promise<Array<{ conversationId: string; agentId: string }>> {
  if (await isDispatchOwed(db)) await dispatchAndNotify(db, signals);
  else await deliverOwedSignals(db, signals);
  return endedRuns ? releaseWhatEndedRunsHold(db, signals, endedRuns) : [];
}
