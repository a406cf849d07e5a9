import { proxyActivities } from '@temporalio/workflow';
import type { benchActivities } from './activities';

// The benchmark's reference workflows: what Temporal itself costs here, with nothing of routing in them.

const { noop } = proxyActivities<typeof benchActivities>({ startToCloseTimeout: '10s' });

/** E: an empty workflow, the server's floor. */
export async function benchEmpty(): Promise<void> {}

/** M: the naive routing workflow's shape, three activities one after the other, each doing nothing. */
export async function benchThreeActivities(): Promise<void> {
  await noop();
  await noop();
  await noop();
}
