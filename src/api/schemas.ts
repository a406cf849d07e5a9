import { z } from 'zod';
import { primaryLanguage } from '../domain/language';
import { isValidEmail } from '../workflows/rules';

/** Ids travel in workflow ids and URL paths: keep them printable and bounded. */
const id = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:@+-]+$/, 'use letters, digits and . _ : @ + -');

/**
 * The id of a new contact or agent: not an email address. Ids become workflow ids, search attributes and metric
 * labels, which Temporal's visibility and Prometheus keep unencrypted; a contact or agent made before this rule is
 * still found by its id on every other route.
 */
const newId = id.refine((value) => !value.includes('@'), {
  message: "an email address cannot be an id: ids are kept unencrypted in Temporal's visibility and in metrics; use the platform's contact or user id",
});

const email = z
  .string()
  .trim()
  .max(254)
  .refine(isValidEmail, 'not a valid email address')
  .transform((v) => v.toLowerCase());

const optionalText = z.string().trim().max(200).optional();

/*
 * What the routes parse their input with; the workflow checks its input with the same schemas, so this module stays
 * free of the document generator. Bodies are named and described with zod's own `.meta()` (an `override` says in
 * JSON Schema what a refinement checks): the OpenAPI document (./openapi) reads it from there.
 */

export const contactIdParams = z.object({ contactId: id });
export const agentIdParams = z.object({ agentId: id });
/** PUT /v1/agents/{agentId}, which may make the agent. */
export const newAgentIdParams = z.object({ agentId: newId });
export const emailParams = z.object({ email });
export const emailQuery = z.object({ email });
export const eraseContactQuery = z
  .object({ directory: z.enum(['true', 'false'], { error: 'true or false' }).default('false').transform((value) => value === 'true') })
  .strict();

export const startConversationBody = z.object({
  contact: z.object({
    id: newId,
    firstName: optionalText,
    lastName: optionalText,
    email: email.nullable().optional(),
    phone: optionalText,
    channel: optionalText,
    /** The contact's language ("es", "pt-BR"): texts are sent in its primary language when configured. */
    language: z
      .string()
      .trim()
      .regex(/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$/, 'a language tag such as "es" or "pt-BR"')
      .transform((tag) => primaryLanguage(tag)!)
      .nullable()
      .optional(),
  }),
}).meta({ id: 'StartConversationRequest', description: 'The contact whose conversation opens. An email, when given and valid, skips asking for it.' });

export const inboundMessageBody = z.object({
  messageId: z.string().min(1).max(200),
  text: z.string().max(10_000),
  timestamp: z.iso
    .datetime({ offset: true })
    .refine((value) => {
      const at = Date.parse(value);
      return at >= Date.UTC(1900, 0, 1) && at < Date.UTC(10_000, 0, 1);
    }, 'a time between the years 1900 and 9999')
    .optional(),
});

/** POST /v1/contacts/{contactId}/messages: the contact's message, or (`outbound`) an agent's message to the contact. */
export const postMessageBody = inboundMessageBody
  .extend({
    direction: z.enum(['inbound', 'outbound']).default('inbound'),
    /** Who wrote an outbound message: it stops their first-response timer. */
    agentId: id.optional(),
  })
  .refine((b) => (b.direction === 'outbound') === (b.agentId !== undefined), {
    message: 'an outbound message names the agentId who wrote it; an inbound one names none',
    path: ['agentId'],
  })
  .meta({
    id: 'InboundMessageRequest',
    description:
      "The contact's message (`direction` `inbound`, the default), or an agent's message to the contact (`outbound`, with the `agentId` who wrote it: it stops that assignee's first-response timer and is never read as the contact's answer). A `messageId` seen before has no second effect.",
    override: {
      oneOf: [
        { properties: { direction: { const: 'inbound' } }, not: { properties: { agentId: { type: 'string' } }, required: ['agentId'] } },
        { properties: { direction: { const: 'outbound' } }, required: ['direction', 'agentId'] },
      ],
    },
  });

export const putAgentBody = z.object({
  name: z.string().trim().min(1).max(200),
  team: z.string().trim().min(1).max(100),
  role: z.enum(['agent', 'manager']).default('agent'),
  online: z.boolean().default(true),
  /** Omitted or null: the team's default from the routing config. */
  capacity: z.number().int().min(0).max(1000).nullable().optional(),
  /** How respond.io knows the agent, for assignments there (an agent sync fills both); omitted: kept. */
  email: email.nullable().optional(),
  respondioUserId: z.string().regex(/^\d{1,20}$/, 'a respond.io user id (digits)').nullable().optional(),
}).meta({
  id: 'PutAgentRequest',
  description: "`role` defaults to `agent`, `online` to `true`; no `capacity`: the team's default. `email` and `respondioUserId` are kept when left out.",
});

export const patchAgentBody = z
  .object({
    online: z.boolean().optional(),
    capacity: z.number().int().min(0).max(1000).optional(),
  })
  .strict()
  .refine((b) => b.online !== undefined || b.capacity !== undefined, 'give online and/or capacity')
  // The refinement, as JSON Schema can say it.
  .meta({ id: 'PatchAgentRequest', description: 'At least one of `online` and `capacity`.', override: { minProperties: 1 } });

export const putCustomerBody = z.object({
  customerType: z.string().trim().min(1).max(100),
  accountManager: id.nullable().optional(),
  name: optionalText,
}).meta({ id: 'PutCustomerRequest' });

export const transferBody = z
  .object({
    agentId: id.optional(),
    team: z.string().trim().min(1).max(100).optional(),
    force: z.boolean().default(false),
    reason: z.string().trim().max(500).optional(),
  })
  .strict()
  .refine((b) => (b.agentId === undefined) !== (b.team === undefined), 'name exactly one of agentId or team')
  .meta({
    id: 'TransferRequest',
    description: 'Exactly one of `agentId` and `team`. `force` passes capacity (and, for an agent, presence).',
    override: { oneOf: [{ required: ['agentId'] }, { required: ['team'] }] },
  });
