import { assignFirstAvailable, type AssignRequest, releaseAssignment } from '../db/assignments';
import type { Db } from '../db/pool';
import { dequeue, enqueue, listQueue, type QueueEntry } from '../db/queue';
import type { AssignmentResult } from '../workflows/types';

export function createAssignmentActivities(deps: { db: Db }) {
  const { db } = deps;
  return {
    async assignConversation(request: AssignRequest): Promise<AssignmentResult | null> {
      return assignFirstAvailable(db, request);
    },
    async releaseConversation(conversationId: string): Promise<string | null> {
      return releaseAssignment(db, conversationId);
    },
    async enqueueConversation(entry: Omit<QueueEntry, 'enqueuedAt'>): Promise<void> {
      await enqueue(db, entry);
    },
    async leaveQueue(conversationId: string): Promise<void> {
      await dequeue(db, conversationId);
    },
    /** Who to wake when capacity frees up, in service order. */
    async listQueuedWorkflows(): Promise<string[]> {
      return (await listQueue(db)).map((entry) => entry.workflowId);
    },
  };
}
