// The Amazon EventBridge envelope in which a Stripe event destination delivers each event to
// its partner event source (bin/events/fixtures/eventbridge/SOURCE.md cites Stripe's and AWS's
// pages): `detail-type` is the event type, `detail` the Stripe event (snapshot payload).
// Pure: no I/O, no AWS SDK; read by the CDK rules, the local twin and the operator commands.

import { stripeEventProblem, type StripeEvent } from '../core/stripe-event';

/** Every Stripe partner event source, and its event bus, is named `<prefix><destination id>`. */
export const STRIPE_PARTNER_SOURCE_PREFIX = 'aws.partner/stripe.com/';

/**
 * `aws.partner/stripe.com/ed_...`: Stripe names the source after the event destination
 * (`ed_` ids, `ed_test_...` in a sandbox). EventBridge allows 256 characters in a bus name
 * of letters, digits and `/._-`.
 */
const PARTNER_SOURCE = /^aws\.partner\/stripe\.com\/ed_[A-Za-z0-9_]+$/;
const MAX_BUS_NAME = 256;

/** Why `name` is not a Stripe partner event source name, or null when it is one. */
export function partnerSourceProblem(name: string): string | null {
  if (!name.startsWith(STRIPE_PARTNER_SOURCE_PREFIX)) {
    return `must start with "${STRIPE_PARTNER_SOURCE_PREFIX}" (Stripe's partner event sources are named ${STRIPE_PARTNER_SOURCE_PREFIX}<event destination id>)`;
  }
  if (name.length > MAX_BUS_NAME) return `must be at most ${MAX_BUS_NAME} characters`;
  if (!PARTNER_SOURCE.test(name)) {
    return `must be ${STRIPE_PARTNER_SOURCE_PREFIX} followed by the event destination id (ed_ and letters, digits or underscores)`;
  }
  return null;
}

/** The partner event source's ARN, as EventBridge lists it in the envelope's `resources`. */
export function partnerEventSourceArn(region: string, source: string): string {
  return `arn:aws:events:${region}::event-source/${source}`;
}

/** One event as the partner event bus carries it (and as a rule sees it). */
export interface EventBridgeEnvelope {
  version: '0';
  /** EventBridge's own id (a UUID), not the Stripe event id. */
  id: string;
  /** The Stripe event type, e.g. `invoice.payment_failed`. */
  'detail-type': string;
  /** The partner event source, `aws.partner/stripe.com/ed_...`. */
  source: string;
  /** The AWS account the event was delivered to (not a Stripe Connect account). */
  account: string;
  /** ISO 8601 in whole seconds, e.g. `2024-12-05T23:06:47Z`. */
  time: string;
  region: string;
  resources: string[];
  /** The Stripe event, exactly as a webhook would carry it (snapshot payload). */
  detail: StripeEvent;
}

/**
 * EventBridge refuses events over 256 KB (PutEvents and partner events alike), so nothing
 * larger ever reaches a rule; the local bus refuses them the same way.
 */
export const MAX_EVENT_BYTES = 256 * 1024;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Why a parsed JSON value is not a Stripe event in an EventBridge envelope, or null. */
export function envelopeProblem(value: unknown): string | null {
  if (!isObject(value)) return 'not an EventBridge event: not a JSON object';
  for (const field of ['id', 'detail-type', 'source', 'account', 'time', 'region'] as const) {
    if (typeof value[field] !== 'string' || value[field] === '') {
      return `not an EventBridge event: "${field}" must be a non-empty string`;
    }
  }
  if (value.version !== '0') return 'not an EventBridge event: "version" must be "0"';
  if (!Array.isArray(value.resources)) {
    return 'not an EventBridge event: "resources" must be an array';
  }
  if (!isObject(value.detail)) return 'not an EventBridge event: "detail" must be an object';
  const problem = stripeEventProblem(value.detail);
  if (problem) return `"detail" is not a Stripe event: ${problem.replace(/^payload is /, '')}`;
  return null;
}

export interface EnvelopeOptions {
  /** The partner event source, `aws.partner/stripe.com/ed_...`. */
  source: string;
  /** The AWS account id (12 digits). @default '123456789012' */
  account?: string;
  /** @default 'us-east-1' */
  region?: string;
  /** @default a random UUID */
  id?: string;
  /** When EventBridge received it. @default now */
  time?: Date;
}

/** ISO 8601 without milliseconds, as EventBridge writes `time`. */
export function envelopeTime(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The envelope Stripe's destination would put `event` in. */
export function toEnvelope(event: StripeEvent, options: EnvelopeOptions): EventBridgeEnvelope {
  const region = options.region ?? 'us-east-1';
  return {
    version: '0',
    id: options.id ?? globalThis.crypto.randomUUID(),
    'detail-type': event.type,
    source: options.source,
    account: options.account ?? '123456789012',
    time: envelopeTime(options.time ?? new Date()),
    region,
    resources: [partnerEventSourceArn(region, options.source)],
    detail: event,
  };
}
