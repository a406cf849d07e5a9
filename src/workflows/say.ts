import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { OutboundKind } from '../domain/conversation';
import { PLATFORM_CALLS } from './activity-options';
import { failureReason } from './run';
import type { RunContext } from './run-context';

/** Outbound messages: a refusal is not retried; the transcript keeps the message anyway. */
const { sendMessage } = proxyActivities<Activities>(PLATFORM_CALLS);

/** A message to the contact (or a note to the agents); one the platform never took is given up, the run goes on. */
export async function say(
  { run, contact, conversationId, input, givenUp }: RunContext,
  kind: OutboundKind,
  key: string,
  text: string,
  direction: 'outbound' | 'note' = 'outbound',
): Promise<void> {
  await sendMessage({ contactId: contact.id, conversationId, key, kind, text, direction, platform: input.platform }).catch(async (error: unknown) => {
    run.record('message_not_delivered', `${kind}: ${failureReason(error)}`);
    await givenUp('message', key, kind, error);
  });
}
