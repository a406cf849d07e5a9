import { defaultPayloadConverter, type Headers } from '@temporalio/common';

/**
 * The id of the HTTP request (or respond.io event) that started a run or sent it a signal rides in this Temporal
 * header: from the API's client to the run, from the run to the activities it schedules, so their log lines carry
 * it. Not a payload: the codec leaves it readable, and it holds nothing but the id.
 */
const REQUEST_ID_HEADER = 'vip-router-request-id';

export function readRequestId(headers: Headers | undefined): string | undefined {
  const payload = headers?.[REQUEST_ID_HEADER];
  if (!payload) return undefined;
  try {
    const id: unknown = defaultPayloadConverter.fromPayload(payload);
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

export function withRequestId(headers: Headers, id: string | undefined): Headers {
  return id === undefined ? headers : { ...headers, [REQUEST_ID_HEADER]: defaultPayloadConverter.toPayload(id) };
}

