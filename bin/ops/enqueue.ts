// Puts events straight onto the processors' queues for `reconcile` and `backfill`, which
// bypass the verifier (nothing to sign: the events come from the Stripe API or are built
// from listed objects). Same body and message attributes as the verifier's queue adapter
// (lambdas/adapters/event-queue.ts), so a processor cannot tell the two apart.

import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import {
  MAX_MESSAGE_BYTES,
  eventMessageAttributes,
  queuedBody,
} from '../../lambdas/adapters/queue-layout';
import type { StripeEvent } from '../../lambdas/core/stripe-event';

/** One processor queue of the target stack. */
export interface EventQueueTarget {
  readonly type: string;
  readonly queueUrl: string;
}

export interface EventSender {
  /** Queues one event on its type's queue; throws when it is not durably queued. */
  send(event: StripeEvent): Promise<void>;
}

/** Attribute bytes counted against SQS's limit (names, types and values), with margin. */
const ATTRIBUTE_ALLOWANCE = 512;

export function makeQueueSender(sqs: SQSClient, queues: readonly EventQueueTarget[]): EventSender {
  const urls = new Map(queues.map((q) => [q.type, q.queueUrl]));
  return {
    async send(event) {
      const url = urls.get(event.type);
      if (!url) throw new Error(`no queue for event type ${event.type} in the target stack`);
      const { body, encoding } = queuedBody(JSON.stringify(event));
      if (Buffer.byteLength(body) + ATTRIBUTE_ALLOWANCE > MAX_MESSAGE_BYTES) {
        throw new Error(
          `event ${event.id} is too large for SQS (${Buffer.byteLength(body)} bytes)`,
        );
      }
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: url,
          MessageBody: body,
          MessageAttributes: eventMessageAttributes({ ...event, encoding }),
        }),
      );
    },
  };
}

/**
 * Runs `work` over `items` with at most `concurrency` calls in flight, in order of start.
 * The first failure stops new work and is thrown once the calls in flight have settled.
 */
export async function forEachConcurrently<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | null = null;
  const worker = async () => {
    while (failure === null && next < items.length) {
      const index = next++;
      try {
        await work(items[index]!, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failure !== null) throw (failure as { error: unknown }).error;
}
