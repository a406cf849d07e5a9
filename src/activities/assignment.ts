import {
  adoptPlatformAssignee,
  enqueueRequest,
  findOpenAssignment,
  lastAgentFor,
  releaseAssignment,
  transfer,
  withdraw,
} from '../assignment/store';
import { recordFirstResponse } from '../db/first-responses';
import type { Db } from '../db/pool';
import { deliverOwedSignals, dispatchAndNotify, type RunSignals } from '../assignment/dispatcher';
import { estimateWait, WAIT_ESTIMATE } from '../assignment/policy';
import { queueStanding } from '../assignment/queue';
import { waitWords } from '../domain/routing-texts';
import type { AssignmentRequest, AssignmentResult, AssignTarget, PlatformUser, TransferRequest, TransferResult } from '../domain/conversation';

/** A queued conversation's place in its tier's queue, the tier's assignments over the last hour, and the wait in words. */
interface QueueWait {
  tier: string;
  position: number;
  assignedInWindow: number;
  wait?: string;
}

export function createAssignmentActivities(deps: { db: Db; signals: RunSignals }) {
  const { db, signals } = deps;
  return {
    /**
     * Joins the queue with this chain of targets and runs the dispatcher. Idempotent: a retry after a
     * crash between the commit and the report returns the assignment already made. `runClock`: the run's time,
     * so entries held until an opening its timer has reached are served too (runs with business hours send it).
     */
    async requestAssignment(request: AssignmentRequest, runClock?: number): Promise<AssignmentResult | null> {
      const existing = await findOpenAssignment(db, request.conversationId);
      if (existing) {
        // A retry: the lost attempt may have served others too, and died before waking them.
        await deliverOwedSignals(db, signals);
        return existing;
      }
      await enqueueRequest(db, request);
      await dispatchAndNotify(db, signals, request.workflowId, runClock);
      return findOpenAssignment(db, request.conversationId);
    },
    /** Leaves the queue; returns the assignment if the dispatcher got there first. */
    async withdrawFromQueue(conversationId: string): Promise<AssignmentResult | null> {
      return withdraw(db, conversationId);
    },
    /** Frees the agent's slot and serves the queue with it. */
    async releaseConversation(conversationId: string): Promise<string | null> {
      const released = await releaseAssignment(db, conversationId);
      await dispatchAndNotify(db, signals);
      return released;
    },
    /** Moves the conversation; asked again with the same key (a retry), it answers the move already made. */
    async transferConversation(input: {
      conversation: Pick<AssignmentRequest, 'conversationId' | 'workflowId' | 'contactId' | 'capacity' | 'onlineOnly'>;
      to: TransferRequest & { target: AssignTarget };
      /** Absent in runs recorded before transfers had keys. */
      key?: string;
    }): Promise<TransferResult> {
      const outcome = await transfer(db, input.conversation, input.to, input.key);
      if (outcome.transferred) await dispatchAndNotify(db, signals);
      return outcome;
    },
    /** How the assignee's first response went, for the operator page. */
    async recordFirstResponse(response: Parameters<typeof recordFirstResponse>[1]): Promise<void> {
      await recordFirstResponse(db, response);
    },
    /** Follows a re-assignment made by hand in the platform; the freed slot serves the queue. */
    async adoptPlatformAssignee(input: {
      conversation: Pick<AssignmentRequest, 'conversationId' | 'workflowId' | 'contactId'>;
      user: PlatformUser | null;
    }): Promise<{ assignee: AssignmentResult | null }> {
      const assignee = await adoptPlatformAssignee(db, input.conversation, input.user);
      await dispatchAndNotify(db, signals, input.conversation.workflowId);
      return { assignee };
    },
    /**
     * Where a queued conversation stands in its tier's queue and its expected wait, in words of `language` ("15
     * minutes"); `wait` is left out when the estimate is poor (see WAIT_ESTIMATE). Null when it no longer waits.
     */
    async estimateQueueWait(input: { conversationId: string; language: string }): Promise<QueueWait | null> {
      const standing = await queueStanding(db, input.conversationId, WAIT_ESTIMATE.windowMs);
      if (!standing) return null;
      const wait = estimateWait(standing.position, standing.assignedInWindow);
      return { ...standing, ...(wait ? { wait: waitWords(wait, input.language) } : {}) };
    },
    async findLastAgent({ contactId, withinDays }: { contactId: string; withinDays: number }): Promise<string | null> {
      return lastAgentFor(db, contactId, withinDays);
    },
  };
}
