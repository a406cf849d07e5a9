import { createHmac, randomUUID } from 'node:crypto';

/**
 * Webhook payloads shaped as respond.io sends them (times in unix seconds, ids as numbers), and a signer
 * written straight on node:crypto: the independent reference the service's verifier is tested against.
 */

export interface WebhookUser {
  id: number;
  firstName: string;
  lastName: string;
  email: string;
}

export interface WebhookContact {
  id: number;
  firstName: string;
  lastName: string;
  phone: string | null;
  email: string | null;
  language: string | null;
  profilePic: string | null;
  countryCode: string | null;
  status: 'open' | 'closed';
  assignee: WebhookUser | null;
  created_at: number;
  lifecycle: string | null;
  tags: string[];
  custom_fields: Array<{ name: string; value: string | null }>;
}

/** What a test cares to name; the rest takes respond.io-like defaults. */
export type ContactFields = Partial<WebhookContact> & Pick<WebhookContact, 'id'>;

export interface WebhookChannel {
  id: number;
  name: string;
  source: string;
  meta: string;
  created_at: number;
}

const unixSeconds = (date: Date = new Date()) => Math.floor(date.getTime() / 1000);

function webhookContact({ id, ...fields }: ContactFields): WebhookContact {
  return {
    id,
    firstName: 'Contact',
    lastName: String(id),
    phone: null,
    email: null,
    language: 'en',
    profilePic: null,
    countryCode: null,
    status: 'open',
    assignee: null,
    created_at: unixSeconds(new Date('2024-01-15T09:00:00Z')),
    lifecycle: null,
    tags: [],
    custom_fields: [],
    ...fields,
  };
}

const whatsappChannel: WebhookChannel = {
  id: 1,
  name: 'WhatsApp',
  source: 'whatsapp_cloud',
  meta: '{}',
  created_at: unixSeconds(new Date('2023-06-01T00:00:00Z')),
};

function event<Type extends string, Rest extends object>(eventType: Type, contact: WebhookContact, rest: Rest) {
  return { event_id: randomUUID(), event_type: eventType, contact, ...rest };
}

export function conversationOpened(
  contact: ContactFields,
  {
    conversationOpenedAt = unixSeconds(),
    firstIncomingMessage = 'Hello',
    source = 'Contact',
  }: { conversationOpenedAt?: number; firstIncomingMessage?: string | null; source?: string } = {},
) {
  return event('conversation.opened', webhookContact({ status: 'open', ...contact }), {
    conversation: { source, conversationOpenedAt, firstIncomingMessage, firstIncomingMessageChannelId: whatsappChannel.id },
  });
}

export function messageReceived(
  contact: ContactFields,
  {
    messageId,
    text,
    timestamp = unixSeconds(),
    type = 'text',
    channel = whatsappChannel,
  }: { messageId: number; text: string; timestamp?: number; type?: string; channel?: WebhookChannel },
) {
  return event('message.received', webhookContact(contact), {
    message: {
      messageId,
      // The channel's own id for the message, distinct from respond.io's messageId.
      channelMessageId: 9_000_000 + messageId,
      contactId: contact.id,
      channelId: channel.id,
      traffic: 'incoming' as const,
      message: { type, text },
      timestamp,
    },
    channel,
  });
}

/**
 * A message sent to the contact (`message.sent`): by a person (`source: 'user'`, with their user id) or by
 * automation (`api`, `workflow`, `bot`…).
 */
export function messageSent(
  contact: ContactFields,
  {
    messageId,
    text,
    sender,
    timestamp = unixSeconds(),
    channel = whatsappChannel,
  }: { messageId: number; text: string; sender: { source: string; userId?: number }; timestamp?: number; channel?: WebhookChannel },
) {
  return event('message.sent', webhookContact(contact), {
    message: {
      messageId,
      channelMessageId: 9_000_000 + messageId,
      contactId: contact.id,
      channelId: channel.id,
      traffic: 'outgoing' as const,
      message: { type: 'text', text },
      timestamp,
      sender: { source: sender.source, userId: sender.userId ?? null, teamId: null },
    },
    channel,
  });
}

export function conversationClosed(
  contact: ContactFields,
  {
    category = 'Resolved',
    summary = '',
    openedTime = unixSeconds() - 600,
    closedTime = unixSeconds(),
    closedBy = null,
  }: { category?: string; summary?: string; openedTime?: number; closedTime?: number; closedBy?: WebhookUser | null } = {},
) {
  return event('conversation.closed', webhookContact({ status: 'closed', ...contact }), {
    conversation: {
      category,
      summary,
      openedTime,
      openedBySource: 'contact',
      closedTime,
      closedBy,
      closedBySource: closedBy ? 'user' : 'workflow',
      firstResponseTime: 30,
      resolutionTime: closedTime - openedTime,
      incomingMessageCount: 1,
      outgoingMessageCount: 1,
      assigneeTeam: '',
      lastAssignmentTime: openedTime,
    },
  });
}

export function contactAssigneeUpdated(contact: ContactFields, assignee: WebhookUser | null) {
  return event('contact.assignee.updated', webhookContact({ ...contact, assignee }), {});
}

/** An event the router does not route on. */
export function tagUpdated(contact: ContactFields, tags: string[] = ['VIP']) {
  return event('contact.tag.updated', webhookContact({ ...contact, tags }), {});
}

/** base64(HMAC-SHA256(raw body bytes, signing key)): what respond.io puts in `X-Webhook-Signature`. */
export function signRespondioBody(rawBody: string, key: string): string {
  return createHmac('sha256', key).update(Buffer.from(rawBody, 'utf8')).digest('base64');
}

/**
 * POSTs a payload as respond.io does. `raw` replaces the serialized body (e.g. to test byte-exact signing),
 * `signature` replaces the computed one; with no key and no signature the header is left out.
 */
export async function deliverWebhook(
  url: string,
  payload: unknown,
  key: string | null,
  { raw = JSON.stringify(payload), signature }: { raw?: string; signature?: string } = {},
): Promise<{ status: number; body: unknown }> {
  const signed = signature ?? (key === null ? undefined : signRespondioBody(raw, key));
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signed === undefined ? {} : { 'x-webhook-signature': signed }) },
    body: raw,
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: the text is the body.
  }
  return { status: response.status, body };
}
