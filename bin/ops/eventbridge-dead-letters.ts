// Dead letters that EventBridge writes, for `npm run redrive`. Each type's DLQ takes two
// kinds of message: the processor's failures (SQS redrive: the Stripe event as queued,
// with eventId/eventType/livemode attributes) and, with the EventBridge ingress, what a
// rule could not deliver to the queue. EventBridge writes the latter itself: its body is
// the event (the whole envelope; `detail` is the Stripe event) and its attributes are
// RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE, EXHAUSTED_RETRY_CONDITION and
// RETRY_ATTEMPTS (bin/events/fixtures/eventbridge/SOURCE.md cites the AWS page). Moved back
// verbatim, such a message would fail in the processor again, so redrive unwraps it.

import {
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { eventMessageAttributes, queuedBody } from '../../lambdas/adapters/queue-layout';
import { stripeEventProblem, type StripeEvent } from '../../lambdas/core/stripe-event';
import { envelopeProblem } from '../../lambdas/eventbridge/envelope';

/** The message attributes EventBridge puts on each dead letter. */
export const EVENTBRIDGE_DEAD_LETTER_ATTRIBUTES = [
  'RULE_ARN',
  'TARGET_ARN',
  'ERROR_CODE',
  'ERROR_MESSAGE',
  'EXHAUSTED_RETRY_CONDITION',
  'RETRY_ATTEMPTS',
] as const;

const EVENTS_SERVICE = 'events.amazonaws.com';

/** A message EventBridge wrote (it names the rule that failed to deliver it). */
export function isEventBridgeDeadLetter(message: Pick<Message, 'MessageAttributes'>): boolean {
  return message.MessageAttributes?.RULE_ARN?.StringValue !== undefined;
}

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

/**
 * Whether the queue's resource policy lets EventBridge send to it, i.e. whether it may hold
 * EventBridge's dead letters (the stack and the local twin admit events.amazonaws.com on
 * the DLQs of the EventBridge rules, and only there).
 */
export async function eventBridgeMayDeadLetter(sqs: SQSClient, queueUrl: string): Promise<boolean> {
  const got = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['Policy'] }),
  );
  const text = got.Attributes?.Policy;
  if (!text) return false;
  let policy: { Statement?: unknown };
  try {
    policy = JSON.parse(text) as { Statement?: unknown };
  } catch {
    return false;
  }
  return asList(policy.Statement).some((raw) => {
    const st = raw as { Effect?: string; Principal?: { Service?: unknown }; Action?: unknown };
    return (
      st.Effect === 'Allow' &&
      asList(st.Principal?.Service).includes(EVENTS_SERVICE) &&
      asList(st.Action).some((a) => a === 'sqs:SendMessage' || a === 'sqs:*')
    );
  });
}

/** The Stripe event a dead letter carries: `detail` of an envelope, or the event itself. */
export function stripeEventOf(body: string): StripeEvent {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new Error('the dead letter is not JSON');
  }
  if (envelopeProblem(value) === null) return (value as { detail: StripeEvent }).detail;
  const problem = stripeEventProblem(value, { allowBackfillIds: true });
  if (problem) {
    throw new Error(
      `the dead letter is neither an EventBridge envelope nor a Stripe event (${problem})`,
    );
  }
  return value as StripeEvent;
}

/** What goes back on the processor queue. */
export interface ProcessorMessage {
  body: string;
  attributes: Record<string, MessageAttributeValue> | undefined;
  /** Unwrapped from an EventBridge dead letter. */
  converted: boolean;
}

/**
 * An EventBridge dead letter as the verifier would have queued its event (the Stripe event,
 * with its id, type and livemode as attributes); any other message unchanged.
 */
export function toProcessorMessage(
  message: Pick<Message, 'Body' | 'MessageAttributes'>,
  passThroughAttributes: Record<string, MessageAttributeValue> | undefined,
): ProcessorMessage {
  if (!isEventBridgeDeadLetter(message)) {
    return { body: message.Body ?? '', attributes: passThroughAttributes, converted: false };
  }
  const event = stripeEventOf(message.Body ?? '');
  const { body, encoding } = queuedBody(JSON.stringify(event));
  return { body, attributes: eventMessageAttributes({ ...event, encoding }), converted: true };
}
