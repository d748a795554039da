// Queue naming and attributes shared by the verifier (routing), the local twin and the CDK
// stack. One queue + DLQ per registry entry; names are derived, so the verifier needs only
// a URL prefix instead of 28 URLs in its environment (Lambda caps environments at 4 KB).

import { typeSlug } from '../core/registry';

/** SQS accepts 1 MiB including attributes; stated explicitly on every queue. */
export const MAX_MESSAGE_BYTES = 1_048_576;
export const DEFAULT_MAX_RECEIVE_COUNT = 5;
/** 14 days: outlasts a long weekend of a broken processor. */
export const DLQ_RETENTION_SECONDS = 14 * 24 * 3600;

export function queueName(prefix: string, type: string): string {
  return `${prefix}-${typeSlug(type)}`;
}

export function deadLetterQueueName(prefix: string, type: string): string {
  return `${prefix}-${typeSlug(type)}-dlq`;
}

/** `QUEUE_URL_PREFIX` + slug: e.g. `https://sqs.eu-west-1.amazonaws.com/123/sbg-` + `charge-failed`. */
export function queueUrl(urlPrefix: string, type: string): string {
  return `${urlPrefix}${typeSlug(type)}`;
}

/** Message attributes set by the verifier on every queued event. */
export const MESSAGE_ATTRIBUTES = {
  eventId: 'eventId',
  eventType: 'eventType',
  livemode: 'livemode',
  /** `base64` when the body had characters SQS refuses and was queued encoded. */
  encoding: 'encoding',
} as const;

/**
 * Characters SQS refuses in a message body: anything outside #x9, #xA, #xD, #x20-#xD7FF,
 * #xE000-#xFFFD and #x10000-#x10FFFF (a lone surrogate is outside too). Code units are
 * matched one by one; a well-formed surrogate pair is allowed.
 */
const REFUSED_BY_SQS =
  /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\uD800-\uDFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether SQS takes this text as a message body as it is. */
export function sqsAcceptsBody(text: string): boolean {
  return !REFUSED_BY_SQS.test(text);
}

/**
 * The message body of a verified event: the JSON as received when SQS takes it, else its
 * UTF-8 bytes in base64 (marked by the `encoding` attribute), so that the processor
 * recovers the exact bytes and the event is queued instead of answered 5xx for days.
 */
export function queuedBody(text: string): { body: string; encoding: 'base64' | null } {
  return sqsAcceptsBody(text)
    ? { body: text, encoding: null }
    : { body: Buffer.from(text, 'utf8').toString('base64'), encoding: 'base64' };
}

/** The event JSON of a queued message body (see queuedBody). */
export function eventTextOf(body: string, encoding: string | null | undefined): string {
  return encoding === 'base64' ? Buffer.from(body, 'base64').toString('utf8') : body;
}

/**
 * The message attributes of a queued event, in SQS's shape: the one definition the verifier,
 * `reconcile`/`backfill` and `redrive` share, so a processor cannot tell their messages apart.
 */
export function eventMessageAttributes(event: {
  id: string;
  type: string;
  livemode?: boolean | null;
  encoding?: 'base64' | null;
}): Record<string, { DataType: 'String'; StringValue: string }> {
  const text = (value: string) => ({ DataType: 'String' as const, StringValue: value });
  return {
    [MESSAGE_ATTRIBUTES.eventId]: text(event.id),
    [MESSAGE_ATTRIBUTES.eventType]: text(event.type),
    [MESSAGE_ATTRIBUTES.livemode]: text(String(event.livemode === true)),
    ...(event.encoding ? { [MESSAGE_ATTRIBUTES.encoding]: text(event.encoding) } : {}),
  };
}
