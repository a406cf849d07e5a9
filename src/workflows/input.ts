import { ApplicationFailure } from '@temporalio/workflow';
import { z } from 'zod';
import { inboundMessageBody, startConversationBody } from '../api/schemas';
import { routingConfigSchema } from '../domain/routing-config-schema';
import type { RoutingInput } from '../domain/conversation';
import { refusalOf } from './refused-payload';

/** A run's input, checked with the API's own schemas: what the API starts a run with, and nothing else. */
const routingInputSchema = z.strictObject({
  contact: startConversationBody.shape.contact,
  config: routingConfigSchema,
  // Every run the API starts since inputs are checked names its rules version.
  rulesVersion: z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 in hex'),
  platform: z.literal('respondio').optional(),
  searchAttributes: z.boolean().optional(),
});

/** The failure type of a run started with an input it refuses: not retried, no activity ran. */
export const INVALID_INPUT = 'InvalidRoutingInput';

/**
 * No input object, or a refused payload in its place: the run fails at once. Checked in every run, before anything
 * reads the input: runs recorded before this always had an input the codec let through.
 */
export function refuseUnreadableInput(input: unknown): void {
  if (input === null || typeof input !== 'object') throw invalidInput(`the run's input is not an object`);
  const refusal = refusalOf(input);
  if (refusal !== undefined) throw invalidInput(`the run's input was refused: ${refusal}`);
}

/** Fails the run at once, naming the fields at fault (never their values), unless the input is one the API makes. */
export function checkRoutingInput(input: unknown): asserts input is RoutingInput {
  const result = routingInputSchema.safeParse(input);
  if (result.success) return;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(input)'}: ${issue.message}`);
  throw invalidInput(`the run's input is not one the API makes: ${problems.join('; ')}`);
}

function invalidInput(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: INVALID_INPUT, message, nonRetryable: true });
}

/** Why a signal's argument is ignored: refused by the codec; or, with `schema`, not what the API sends. */
export function signalRefusal(value: unknown, schema?: z.ZodType): string | undefined {
  const refusal = refusalOf(value);
  if (refusal !== undefined) return refusal;
  const result = schema?.safeParse(value);
  if (!result || result.success) return undefined;
  return `not what the API sends (${result.error.issues.map((issue) => issue.path.join('.') || '(argument)').join(', ')})`;
}

/** A message signal, checked as the API checks the message it receives. */
export const inboundMessageSchema = inboundMessageBody;

/** An agent's message signal, as the API sends it. */
export const agentMessageSchema = z.strictObject({ messageId: inboundMessageBody.shape.messageId, agentId: z.string().min(1).max(200) });
