import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { primaryLanguage } from '../domain/language';
import { isValidEmail } from '../workflows/rules';
import type { ContactInput, InboundMessage, PlatformUser } from '../domain/conversation';

/**
 * respond.io signs each webhook with that webhook's own key: `X-Webhook-Signature` is
 * base64(HMAC-SHA256(raw body, key)). Checked over the raw bytes against every configured key, in constant time.
 */
export function verifyWebhookSignature(rawBody: Buffer, header: string | undefined, signingKeys: readonly string[]): boolean {
  if (!header || signingKeys.length === 0) return false;
  const presented = Buffer.from(header.trim(), 'base64');
  let valid = false;
  for (const key of signingKeys) {
    const expected = createHmac('sha256', key).update(rawBody).digest();
    // Every key is tried, so the time taken does not say which one matched.
    if (presented.length === expected.length && timingSafeEqual(presented, expected)) valid = true;
  }
  return valid;
}

const numericId = z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,20}$/)]).transform(String);
/** Out of range (past the year 9999, milliseconds sent as seconds): treated as absent; our own receive time stands. */
const LAST_UNIX_SECOND = 253_402_300_799;
const unixSeconds = z
  .union([z.number().nonnegative(), z.string().regex(/^\d{1,12}$/).transform(Number)])
  .transform((seconds) => (seconds <= LAST_UNIX_SECOND ? seconds : undefined));
const text = z.string().nullish();

const user = z.looseObject({
  id: z.union([z.number(), z.string()]).nullish(),
  firstName: text,
  lastName: text,
  email: text,
});

/** Fields respond.io sends that the flow uses; every other field is kept as it came and never checked. */
const contact = z.looseObject({
  id: numericId,
  firstName: text,
  lastName: text,
  email: text,
  phone: text,
  language: text,
  // An un-assigned contact has null, or an empty object in some events.
  assignee: user.nullish(),
});

const envelope = z.looseObject({
  event_id: z.string().trim().min(1).max(200),
  event_type: z.string().trim().min(1).max(100),
});

const withContact = envelope.extend({ contact });

const conversationOpened = withContact.extend({
  conversation: z.looseObject({ source: text, conversationOpenedAt: unixSeconds.nullish() }).nullish(),
});

const conversationClosed = withContact.extend({
  conversation: z.looseObject({ closedTime: unixSeconds.nullish() }).nullish(),
});

/** Who sent an outgoing message: `user` is a person (with their user id); `api`, `workflow`, `bot`… are automation. */
const sender = z.looseObject({
  source: z.string().trim().min(1).max(50),
  userId: z.union([z.number(), z.string()]).nullish(),
  email: text,
});

const messageReceived = withContact.extend({
  message: z.looseObject({
    messageId: z.union([z.number(), z.string().min(1).max(200)]).transform(String),
    traffic: z.string().optional(),
    timestamp: unixSeconds.nullish(),
    message: z.looseObject({ type: z.string().min(1).max(50), text: z.string().max(10_000).nullish() }),
    sender: sender.nullish(),
  }),
  channel: z.looseObject({ source: text, name: text }).nullish(),
});

/**
 * The events as the API's description lists them (the parser below reads them by `event_type`, with these schemas).
 */
export const webhookEventSchema = z
  .union([
    conversationOpened.extend({ event_type: z.literal('conversation.opened') }),
    messageReceived.extend({ event_type: z.literal('message.received') }),
    messageReceived.extend({ event_type: z.literal('message.sent') }),
    conversationClosed.extend({ event_type: z.literal('conversation.closed') }),
    withContact.extend({ event_type: z.literal('contact.assignee.updated') }),
    envelope,
  ])
  .meta({
    id: 'RespondioEvent',
    description:
      "A respond.io webhook event, as respond.io sends it: the fields the flow reads are listed, every other field is kept. `conversation.opened` starts routing the contact, `message.received` (incoming) is the contact's reply, `message.sent` (or `message.received` with `traffic` `outgoing`) from a person (`sender.source` `user`) stops their first-response timer while automation's (`api`, `workflow`, `bot`…) is ignored, `conversation.closed` closes the run, `contact.assignee.updated` follows a re-assignment made by hand; any other `event_type` is answered 200 and ignored.",
  });

type WebhookIntent =
  | { kind: 'open'; contact: ContactInput }
  | { kind: 'message'; contactId: string; message: InboundMessage }
  | { kind: 'agent_message'; contactId: string; sender: PlatformUser; message: InboundMessage }
  | { kind: 'close'; contactId: string }
  | { kind: 'assignee'; contactId: string; assignee: PlatformUser | null }
  | { kind: 'ignore'; reason: string };

export interface WebhookEvent {
  eventId: string;
  eventType: string;
  contactId?: string;
  /**
   * When it happened, by respond.io's clock, for the events that say: a message's timestamp, a conversation's
   * opening or closing time. Other events (an assignee change) carry no time of their own.
   */
  occurredAt?: Date;
  intent: WebhookIntent;
}

const fromUnixSeconds = (seconds: number | null | undefined) => (seconds ? new Date(seconds * 1000) : undefined);

export class WebhookPayloadError extends Error {
  constructor(
    message: string,
    readonly details: Array<{ path: string; message: string }>,
  ) {
    super(message);
  }
}

function parse<T extends z.ZodType>(schema: T, payload: unknown): z.output<T> {
  const result = schema.safeParse(payload);
  if (!result.success) {
    throw new WebhookPayloadError(
      'the webhook payload is not a respond.io event this service understands',
      result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
    );
  }
  return result.data;
}

const clip = (value: string | null | undefined, max = 200) => {
  const trimmed = value?.trim();
  return trimmed ? trimmed.slice(0, max) : undefined;
};

function toContactInput(raw: z.output<typeof contact>, channel?: string | null): ContactInput {
  const email = raw.email?.trim().toLowerCase();
  return {
    id: raw.id,
    firstName: clip(raw.firstName),
    lastName: clip(raw.lastName),
    // An address respond.io holds but that is not usable is treated like no address: the flow asks for one.
    email: email && isValidEmail(email) ? email : null,
    phone: clip(raw.phone, 50),
    channel: clip(channel),
    language: primaryLanguage(raw.language),
  };
}

function toPlatformUser(raw: z.output<typeof user> | null | undefined): PlatformUser | null {
  const id = raw?.id === undefined || raw?.id === null || raw?.id === '' ? undefined : String(raw.id);
  const email = raw?.email?.trim().toLowerCase() || undefined;
  if (!id && !email) return null;
  const name = [raw?.firstName, raw?.lastName].filter((part) => part && part.trim()).join(' ') || undefined;
  return { userId: id, email, name };
}

/** An outgoing message: a person's counts as their response to the contact; automation's (ours included) never does. */
function agentMessage(contactId: string, raw: z.output<typeof sender> | null | undefined, message: InboundMessage): WebhookIntent {
  if (!raw) return { kind: 'ignore', reason: 'outgoing message' };
  if (raw.source !== 'user') return { kind: 'ignore', reason: `outgoing message from ${raw.source}, not a person` };
  const user = toPlatformUser({ id: raw.userId, email: raw.email });
  if (!user) return { kind: 'ignore', reason: "outgoing message from a person respond.io does not name" };
  return { kind: 'agent_message', contactId, sender: user, message };
}

/**
 * What a respond.io event asks of the service. Event types the flow does not use are ignored (and answered 2xx);
 * a payload of a type it does use but without the fields it needs is refused.
 */
export function parseWebhookEvent(payload: unknown): WebhookEvent {
  const { event_id: eventId, event_type: eventType } = parse(envelope, payload);
  const base = { eventId, eventType };
  switch (eventType) {
    case 'conversation.opened': {
      const event = parse(conversationOpened, payload);
      return { ...base, contactId: event.contact.id, occurredAt: fromUnixSeconds(event.conversation?.conversationOpenedAt), intent: { kind: 'open', contact: toContactInput(event.contact, event.conversation?.source) } };
    }
    case 'message.received':
    case 'message.sent': {
      const event = parse(messageReceived, payload);
      const contactId = event.contact.id;
      const { message } = event;
      const traffic = message.traffic ?? (eventType === 'message.sent' ? 'outgoing' : 'incoming');
      if (traffic !== 'incoming' && traffic !== 'outgoing') return { ...base, contactId, intent: { kind: 'ignore', reason: `${traffic} message` } };
      const body = message.message.type === 'text' ? (message.message.text ?? '') : `[${message.message.type}]`;
      const occurredAt = fromUnixSeconds(message.timestamp);
      const received = { messageId: message.messageId, text: body, timestamp: occurredAt?.toISOString() };
      if (traffic === 'incoming') return { ...base, contactId, occurredAt, intent: { kind: 'message', contactId, message: received } };
      return { ...base, contactId, occurredAt, intent: agentMessage(contactId, message.sender, received) };
    }
    case 'conversation.closed': {
      const event = parse(conversationClosed, payload);
      return { ...base, contactId: event.contact.id, occurredAt: fromUnixSeconds(event.conversation?.closedTime), intent: { kind: 'close', contactId: event.contact.id } };
    }
    case 'contact.assignee.updated': {
      const event = parse(withContact, payload);
      const contactId = event.contact.id;
      return { ...base, contactId, intent: { kind: 'assignee', contactId, assignee: toPlatformUser(event.contact.assignee) } };
    }
    default: {
      const contactId = numericId.safeParse((payload as { contact?: { id?: unknown } }).contact?.id);
      return { ...base, contactId: contactId.success ? contactId.data : undefined, intent: { kind: 'ignore', reason: `event type ${eventType} is not used` } };
    }
  }
}
