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
} as const;

/**
 * The message attributes of a queued event, in SQS's shape: the one definition the verifier,
 * `reconcile`/`backfill` and `redrive` share, so a processor cannot tell their messages apart.
 */
export function eventMessageAttributes(event: {
  id: string;
  type: string;
  livemode?: boolean | null;
}): Record<string, { DataType: 'String'; StringValue: string }> {
  const text = (value: string) => ({ DataType: 'String' as const, StringValue: value });
  return {
    [MESSAGE_ATTRIBUTES.eventId]: text(event.id),
    [MESSAGE_ATTRIBUTES.eventType]: text(event.type),
    [MESSAGE_ATTRIBUTES.livemode]: text(String(event.livemode === true)),
  };
}
