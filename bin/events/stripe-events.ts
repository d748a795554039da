// Builds realistic Stripe events from the fixture objects Stripe publishes (copied, with
// their provenance, under bin/events/fixtures/stripe). Used by `npm run trigger`, the tests, the
// reliability suite and the bench, so every event in this project has Stripe's own shapes.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Stripe from 'stripe';
import type { StripeEvent, StripeObject } from '../../lambdas/core/stripe-event';

export const FIXTURES_DIR = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  'fixtures',
  'stripe',
  'objects',
);

export type FixtureName =
  | 'card'
  | 'charge'
  | 'customer'
  | 'deleted_card'
  | 'dispute'
  | 'event'
  | 'invoice'
  | 'payment_intent'
  | 'payment_method'
  | 'source'
  | 'subscription';

const cache = new Map<FixtureName, string>();

/** A fresh deep copy of one published fixture object. */
export function fixture(name: FixtureName): StripeObject {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(path.join(FIXTURES_DIR, `${name}.json`), 'utf8');
    cache.set(name, text);
  }
  return JSON.parse(text) as StripeObject;
}

/** The customer id of the published fixtures. */
export const FIXTURE_CUSTOMER = 'cus_QXg1o8vcGmoR32';

/** The API version the installed `stripe` package is built for (pinned on endpoints). */
export const PINNED_API_VERSION: string = Stripe.API_VERSION;

const ALPHANUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A Stripe-looking id: `prefix_` and 24 random letters and digits. */
export function stripeId(prefix: string): string {
  const bytes = randomBytes(24);
  let out = '';
  for (const b of bytes) out += ALPHANUM[b % ALPHANUM.length];
  return `${prefix}_${out}`;
}

export interface EventOptions {
  /** Event id; a fresh `evt_...` by default. */
  id?: string;
  /** Event `created` (unix seconds); now by default. */
  created?: number;
  livemode?: boolean;
  /** The customer the object belongs to (`null` for a guest payment). Fixture customer by default. */
  customer?: string | null;
  /** Fields merged over the object (shallow), applied last. */
  object?: StripeObject;
  /** `data.previous_attributes`, for `*.updated` events and `payment_method.detached`. */
  previousAttributes?: StripeObject;
  /** A connected account id (Connect events are ignored by the verifier). */
  account?: string | null;
}

interface Recipe {
  fixture: FixtureName;
  /** Changes that make the fixture look like it does in this event. */
  shape: (o: StripeObject, customer: string | null, created: number) => void;
  /** Where the customer lives for this kind (most objects: `customer`). */
  customerField?: 'customer' | 'id' | 'none';
}

const setCustomer = (o: StripeObject, c: string | null) => {
  o.customer = c;
};

const paymentIntent =
  (status: string, extra: (o: StripeObject) => void = () => {}) =>
  (o: StripeObject, c: string | null, created: number) => {
    setCustomer(o, c);
    o.status = status;
    o.created = created;
    o.canceled_at = status === 'canceled' ? created : null;
    o.cancellation_reason = status === 'canceled' ? 'abandoned' : null;
    extra(o);
  };

const charge =
  (status: 'succeeded' | 'failed') => (o: StripeObject, c: string | null, created: number) => {
    setCustomer(o, c);
    o.status = status;
    o.created = created;
    o.paid = status === 'succeeded';
    o.captured = status === 'succeeded';
    o.amount_captured = status === 'succeeded' ? o.amount : 0;
    o.failure_code = status === 'failed' ? 'card_declined' : null;
    o.failure_message = status === 'failed' ? 'Your card was declined.' : null;
  };

const invoice =
  (status: 'open' | 'paid' | 'uncollectible' | 'void', attempted: boolean) =>
  (o: StripeObject, c: string | null, created: number) => {
    setCustomer(o, c);
    o.status = status;
    o.created = created;
    o.attempted = attempted;
    o.attempt_count = attempted ? 1 : 0;
    if (status === 'paid') {
      o.amount_paid = o.amount_due;
      o.amount_remaining = 0;
    }
  };

const dispute = (status: string) => (o: StripeObject, _c: string | null, created: number) => {
  // Disputes carry no customer: it is found through `charge` / `payment_intent`.
  o.status = status;
  o.created = created;
};

const subscription = (status: string) => (o: StripeObject, c: string | null, created: number) => {
  setCustomer(o, c);
  o.status = status;
  o.created = created;
  if (status !== 'canceled') {
    o.canceled_at = null;
    o.ended_at = null;
    o.cancel_at = null;
    o.cancel_at_period_end = false;
  }
};

const legacyCard = (o: StripeObject, c: string | null) => setCustomer(o, c);

const paymentMethod = (o: StripeObject, c: string | null, created: number) => {
  setCustomer(o, c);
  o.created = created;
};

const customer = (o: StripeObject, c: string | null, created: number) => {
  if (c !== null) o.id = c;
  o.created = created;
};

/** How each handled event type shapes its fixture. */
export const RECIPES: Readonly<Record<string, Recipe>> = {
  'payment_intent.payment_failed': {
    fixture: 'payment_intent',
    shape: paymentIntent('requires_payment_method'),
  },
  'payment_intent.succeeded': {
    fixture: 'payment_intent',
    shape: paymentIntent('succeeded', (o) => {
      o.amount_received = o.amount;
      o.last_payment_error = null;
    }),
  },
  'payment_intent.canceled': { fixture: 'payment_intent', shape: paymentIntent('canceled') },
  'charge.failed': { fixture: 'charge', shape: charge('failed') },
  'charge.succeeded': { fixture: 'charge', shape: charge('succeeded') },
  'invoice.payment_failed': { fixture: 'invoice', shape: invoice('open', true) },
  'invoice.marked_uncollectible': { fixture: 'invoice', shape: invoice('uncollectible', true) },
  'invoice.payment_action_required': { fixture: 'invoice', shape: invoice('open', true) },
  'invoice.paid': { fixture: 'invoice', shape: invoice('paid', true) },
  'invoice.payment_succeeded': { fixture: 'invoice', shape: invoice('paid', true) },
  'invoice.voided': { fixture: 'invoice', shape: invoice('void', false) },
  'charge.dispute.created': {
    fixture: 'dispute',
    shape: dispute('needs_response'),
    customerField: 'none',
  },
  'charge.dispute.updated': {
    fixture: 'dispute',
    shape: dispute('under_review'),
    customerField: 'none',
  },
  'charge.dispute.closed': { fixture: 'dispute', shape: dispute('lost'), customerField: 'none' },
  'customer.source.created': { fixture: 'card', shape: legacyCard },
  'customer.source.updated': { fixture: 'card', shape: legacyCard },
  'customer.source.expiring': { fixture: 'card', shape: legacyCard },
  'customer.source.deleted': { fixture: 'card', shape: legacyCard },
  'payment_method.attached': { fixture: 'payment_method', shape: paymentMethod },
  'payment_method.updated': { fixture: 'payment_method', shape: paymentMethod },
  'payment_method.automatically_updated': { fixture: 'payment_method', shape: paymentMethod },
  'payment_method.detached': {
    fixture: 'payment_method',
    // Stripe has already cleared `customer`; the old value is in previous_attributes.
    shape: (o, _c, created) => paymentMethod(o, null, created),
  },
  'customer.subscription.created': { fixture: 'subscription', shape: subscription('active') },
  'customer.subscription.updated': { fixture: 'subscription', shape: subscription('active') },
  'customer.subscription.deleted': { fixture: 'subscription', shape: subscription('canceled') },
  'customer.created': { fixture: 'customer', shape: customer, customerField: 'id' },
  'customer.updated': { fixture: 'customer', shape: customer, customerField: 'id' },
  'customer.deleted': { fixture: 'customer', shape: customer, customerField: 'id' },
};

/** Event types `buildEvent` knows how to make (every handled type). */
export const BUILDABLE_TYPES: readonly string[] = Object.keys(RECIPES);

/**
 * A realistic Stripe event of `type`, built from the published fixture of its object.
 * Types this project does not handle are built from the generic event fixture (its
 * `plan` object), which is what the verifier should ignore.
 */
export function buildEvent(type: string, options: EventOptions = {}): StripeEvent {
  const envelope = fixture('event');
  const created = options.created ?? Math.floor(Date.now() / 1000);
  const customer = options.customer === undefined ? FIXTURE_CUSTOMER : options.customer;
  const recipe = RECIPES[type];
  const data = envelope.data as { object: StripeObject; previous_attributes?: StripeObject };
  let object: StripeObject;
  if (recipe) {
    object = fixture(recipe.fixture);
    recipe.shape(object, customer, created);
  } else {
    object = data.object;
  }
  if (options.object) Object.assign(object, options.object);
  const previous =
    options.previousAttributes ??
    (type === 'payment_method.detached' ? { customer: customer } : undefined);
  const event: StripeEvent & Record<string, unknown> = {
    id: options.id ?? stripeId('evt'),
    object: 'event',
    api_version: PINNED_API_VERSION,
    created,
    data: previous ? { object, previous_attributes: previous } : { object },
    livemode: options.livemode ?? false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  };
  if (options.account !== undefined) event.account = options.account;
  return event;
}

// A client used only for its webhook helpers; it never calls the API.
const signingClient = new Stripe('sk_test_signing_only');

/**
 * A `Stripe-Signature` header for `payload`, made by the `stripe` package's own test helper
 * (so a real Stripe client is the judge of our verifier).
 */
export function signatureHeader(payload: string, secret: string, timestamp?: number): string {
  return signingClient.webhooks.generateTestHeaderString({
    payload,
    secret,
    ...(timestamp === undefined ? {} : { timestamp }),
  });
}
