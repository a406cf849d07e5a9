import fc from 'fast-check';
import { contactAssigneeUpdated, conversationClosed, conversationOpened, messageReceived, signRespondioBody } from '../respondio-payloads';
import { afterBrace, b64, type BadRequest, INVALID_JSON, MARK, nestedAt, REMOVE, signBytes, splice, withField } from './bodies';
import { aNumber, badUtf8Bytes, blank, jsonArray, jsonObject, KB, notAnObject, notAString, textOver } from './values';

/** respond.io's webhook, sent events that are signed wrong, malformed, unreadable or too large. */
export function webhookRequests(signingKey: string) {
  const webhookPath = '/v1/webhooks/respondio';
  const contactNumber = fc.integer({ min: 7_000_000_000, max: 7_999_999_999 });
  const validEvent = fc
    .tuple(fc.constantFrom('opened', 'message', 'closed', 'assignee'), contactNumber, fc.uuid(), fc.integer({ min: 1, max: 2_000_000_000 }))
    .map(([type, id, eventId, messageId]): Record<string, unknown> => {
      const event =
        type === 'opened'
          ? conversationOpened({ id, email: null })
          : type === 'message'
            ? messageReceived({ id }, { messageId, text: 'ana@example.com' })
            : type === 'closed'
              ? conversationClosed({ id })
              : contactAssigneeUpdated({ id }, { id: 5501, firstName: 'Sam', lastName: 'Agent', email: 'sam@example.com' });
      return { ...event, event_id: eventId };
    });
  const signed = (raw: string | Uint8Array, contentType = 'application/json'): BadRequest => ({
    method: 'POST',
    path: webhookPath,
    headers: {
      ...(contentType ? { 'content-type': contentType } : {}),
      'x-webhook-signature': typeof raw === 'string' ? signRespondioBody(raw, signingKey) : signBytes(raw, signingKey),
    },
    body: raw,
    expect: [400],
  });
  const webhookContentType = fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '');
  const badSignature = validEvent.chain((event) => {
    const raw = JSON.stringify(event);
    const correct = signRespondioBody(raw, signingKey);
    const expected = Buffer.from(correct, 'base64');
    const signature = fc.oneof(
      fc.constant(undefined),
      fc.constantFrom('', 'not-a-signature', 'null', `sha256=${expected.toString('hex')}`, expected.toString('hex'), correct.slice(0, 20)),
      fc
        .string({ minLength: 1, maxLength: 30 })
        .filter((key) => key !== signingKey)
        .map((key) => signRespondioBody(raw, key)),
      fc.constantFrom(`${raw} `, JSON.stringify(event, null, 2), raw.replace('"', "'")).map((other) => signRespondioBody(other, signingKey)),
      fc
        .tuple(fc.integer({ min: 0, max: 41 }), fc.constantFrom(...'ABCDEFGHabcdefgh0123456789+/'))
        .map(([at, c]) => `${correct.slice(0, at)}${c}${correct.slice(at + 1)}`),
      fc.integer({ min: 0, max: 40 }).map((length) => correct.slice(0, length)),
      fc.constantFrom(`${correct}AAAA`, `${correct}${correct}`, `${correct}, ${b64('x'.repeat(32))}`),
      fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => b64(bytes)),
      fc.string({ unit: 'grapheme-ascii', maxLength: 60 }),
    );
    return (
      fc
        .tuple(signature, webhookContentType)
        // Node's base64 decoding skips what is not base64: keep only signatures whose bytes really differ.
        .filter(([sig]) => sig === undefined || !Buffer.from(sig.trim(), 'base64').equals(expected))
        .map(([sig, contentType]): BadRequest => ({
          method: 'POST',
          path: webhookPath,
          headers: { ...(contentType ? { 'content-type': contentType } : {}), ...(sig === undefined ? {} : { 'x-webhook-signature': sig }) },
          body: raw,
          expect: [401],
        }))
    );
  });
  const eventField = (event: Record<string, unknown>, field: string) => fc.tuple(fc.constant(event), fc.constant(field.split('.')));
  const malformedEvent = fc.oneof(
    fc.oneof(
      fc.constant([]),
      validEvent.map((event) => [event]),
      aNumber,
      fc.string({ maxLength: 20 }),
      fc.boolean(),
      fc.constant(null),
    ),
    fc
      .tuple(validEvent, fc.constantFrom('event_id', 'event_type'), fc.oneof(fc.constant(REMOVE), fc.constant(null), notAString, blank))
      .map(([event, field, value]) => withField(event, [field], value)),
    fc.tuple(validEvent, textOver(200, 300)).map(([event, value]) => withField(event, ['event_id'], value)),
    fc.tuple(validEvent, textOver(100, 300)).map(([event, value]) => withField(event, ['event_type'], value)),
    fc.tuple(validEvent, fc.oneof(fc.constant(REMOVE), fc.constant(null), notAnObject)).map(([event, value]) => withField(event, ['contact'], value)),
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          validEvent,
          fc.oneof(
            fc.constant(REMOVE),
            fc.constantFrom(null, -1, 1.5, 'abc', '', ' 12', '-5', '1'.repeat(21), '12a', true, {}, [], '１２', "1'; DROP TABLE webhook_events;--", '../1'),
          ),
        )
        .map(([event, value]) => withField(event, ['contact', 'id'], value)),
    },
    fc
      .tuple(validEvent, fc.constantFrom('firstName', 'lastName', 'email', 'phone', 'language'), fc.oneof(aNumber, fc.boolean(), jsonObject, jsonArray))
      .map(([event, field, value]) => withField(event, ['contact', field], value)),
    fc
      .tuple(validEvent, fc.oneof(fc.string({ minLength: 1, maxLength: 10 }), aNumber, fc.constant(true), jsonArray))
      .map(([event, value]) => withField(event, ['contact', 'assignee'], value)),
    validEvent
      .map((event) => ({ ...event, event_type: 'conversation.opened' }))
      .chain((event) =>
        fc.oneof(
          fc
            .tuple(fc.constant(event), fc.oneof(fc.string({ maxLength: 10 }), aNumber, fc.constant(true), jsonArray))
            .map(([e, v]) => withField(e, ['conversation'], v)),
          fc.tuple(fc.constant(event), fc.oneof(aNumber, fc.boolean(), jsonObject)).map(([e, v]) => withField(e, ['conversation'], { source: v })),
        ),
      ),
    {
      weight: 5,
      arbitrary: fc
        .tuple(contactNumber, fc.uuid(), fc.integer({ min: 1, max: 2_000_000_000 }))
        .map(([id, eventId, messageId]) => ({ ...messageReceived({ id }, { messageId, text: 'hello' }), event_id: eventId }) as Record<string, unknown>)
        .chain((event) =>
          fc.oneof(
            eventField(event, 'message').chain(([e, p]) => fc.oneof(fc.constant(REMOVE), fc.constant(null), notAnObject).map((v) => withField(e, p, v))),
            eventField(event, 'message.messageId').chain(([e, p]) =>
              fc
                .oneof(fc.constant(REMOVE), fc.constant(null), fc.constant(''), textOver(200, 100), fc.boolean(), jsonObject, jsonArray)
                .map((v) => withField(e, p, v)),
            ),
            eventField(event, 'message.traffic').chain(([e, p]) =>
              fc.oneof(fc.constant(null), aNumber, fc.boolean(), jsonObject).map((v) => withField(e, p, v)),
            ),
            eventField(event, 'message.timestamp').chain(([e, p]) =>
              fc
                .oneof(fc.integer({ max: -1 }), fc.constantFrom('abc', '1'.repeat(13), '-1', '1.5', 'yesterday', ''), fc.boolean(), jsonObject, jsonArray)
                .map((v) => withField(e, p, v)),
            ),
            eventField(event, 'message.message').chain(([e, p]) =>
              fc.oneof(fc.constant(REMOVE), fc.constant(null), notAnObject).map((v) => withField(e, p, v)),
            ),
            eventField(event, 'message.message.type').chain(([e, p]) =>
              fc.oneof(fc.constant(REMOVE), fc.constant(null), fc.constant(''), textOver(50, 100), aNumber, fc.boolean()).map((v) => withField(e, p, v)),
            ),
            eventField(event, 'message.message.text').chain(([e, p]) =>
              fc.oneof(aNumber, fc.boolean(), jsonObject, textOver(10_000, 1_000)).map((v) => withField(e, p, v)),
            ),
            eventField(event, 'channel').chain(([e, p]) =>
              fc.oneof(fc.string({ maxLength: 10 }), aNumber, fc.constant(true), jsonArray).map((v) => withField(e, p, v)),
            ),
          ),
        ),
    },
  );
  const signedMalformed = fc.tuple(malformedEvent, webhookContentType).map(([event, contentType]) => signed(JSON.stringify(event), contentType));
  const signedUnreadable = fc.oneof(
    validEvent
      .chain((event) => {
        const text = JSON.stringify(event);
        return fc.oneof(
          fc.integer({ min: 1, max: text.length - 1 }).map((cut) => text.slice(0, cut)),
          fc.constantFrom('x', '}', ',').map((suffix) => text + suffix),
          fc.constantFrom(...INVALID_JSON),
        );
      })
      .map((raw) => signed(raw)),
    fc.tuple(validEvent, badUtf8Bytes).map(([event, bad]) => signed(splice(JSON.stringify(withField(event, ['contact', 'id'], `12${MARK}34`)), bad))),
    fc.tuple(validEvent, badUtf8Bytes).map(([event, bad]) => signed(splice(afterBrace(JSON.stringify(event)), bad))),
    nestedAt(validEvent, ['contact', 'id']).map((raw) => signed(raw)),
  );
  const webhookTooLarge = fc.tuple(validEvent, fc.integer({ min: 1024 * KB + 1, max: 1536 * KB }), fc.boolean()).map(([event, size, sign]): BadRequest => {
    const raw = JSON.stringify({ ...event, padding: 'x'.repeat(size) });
    return sign
      ? { ...signed(raw), expect: [413] }
      : { method: 'POST', path: webhookPath, headers: { 'content-type': 'application/json' }, body: raw, expect: [413] };
  });
  return { badSignature, signedMalformed, signedUnreadable, webhookTooLarge };
}
