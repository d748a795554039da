// Builds realistic Stripe events from the fixture objects Stripe publishes (copied, with their
// provenance, under bin/events/fixtures/stripe), in the shape of the pinned API version or of one
// version before 2025-03-31.basil. Used by `npm run trigger`, the tests, the reliability suite
// and the bench, so every event in this project has Stripe's own shapes.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Stripe from 'stripe';
import { HANDLED_TYPES, registryEntry } from '../../lambdas/core/registry';
import type { StripeEvent, StripeObject } from '../../lambdas/core/stripe-event';
import { ID_PREFIXES, PRE_BASIL_API_VERSION, UNCOLLECTIBLE_REASONS } from './vocabulary';

export { ID_PREFIXES, PRE_BASIL_API_VERSION, UNCOLLECTIBLE_REASONS } from './vocabulary';

const FIXTURES_ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'stripe');

/** The fixtures of the pinned API version. */
export const FIXTURES_DIR = path.join(FIXTURES_ROOT, 'objects');

/** The API version the installed `stripe` package is built for (pinned on endpoints). */
export const PINNED_API_VERSION: string = Stripe.API_VERSION;

/** The API versions the builders can shape an event for, newest first. */
export const API_VERSIONS: readonly string[] = [PINNED_API_VERSION, PRE_BASIL_API_VERSION];

const FIXTURE_DIRS: Readonly<Record<string, string>> = {
  [PINNED_API_VERSION]: FIXTURES_DIR,
  [PRE_BASIL_API_VERSION]: path.join(FIXTURES_ROOT, `objects-${PRE_BASIL_API_VERSION}`),
};

export type FixtureName =
  | 'card'
  | 'charge'
  | 'customer'
  | 'deleted_card'
  | 'dispute'
  | 'event'
  | 'invoice'
  | 'invoice_payment'
  | 'payment_intent'
  | 'payment_method'
  | 'source'
  | 'subscription';

/** Fixtures with one file for every version: the Source shape did not change between them. */
const VERSIONLESS: ReadonlySet<FixtureName> = new Set(['source']);

/**
 * A builder request this version or this event type cannot carry. `option` names the option
 * (`type`: the event type itself) and `detail` says what is wrong, to follow the option's name
 * as a caller spells it (`--invoice has no place in ...`).
 */
export class EventShapeError extends Error {
  constructor(
    readonly option: keyof EventOptions | 'type',
    readonly detail: string,
  ) {
    super(`${option} ${detail}`);
    this.name = 'EventShapeError';
  }
}

function checkedVersion(apiVersion: string | undefined): string {
  const version = apiVersion ?? PINNED_API_VERSION;
  if (!(version in FIXTURE_DIRS)) {
    throw new EventShapeError(
      'apiVersion',
      `must be ${API_VERSIONS.join(' or ')} (the versions the builders shape), got "${version}"`,
    );
  }
  return version;
}

const cache = new Map<string, string>();

/** A fresh deep copy of one published fixture object, of the pinned version by default. */
export function fixture(name: FixtureName, apiVersion?: string): StripeObject {
  const dir = VERSIONLESS.has(name) ? FIXTURES_DIR : FIXTURE_DIRS[checkedVersion(apiVersion)]!;
  const file = path.join(dir, `${name}.json`);
  let text = cache.get(file);
  if (text === undefined) {
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      throw new EventShapeError(
        'apiVersion',
        `${apiVersion ?? PINNED_API_VERSION} has no ${name} object (Stripe published no fixture of it)`,
      );
    }
    cache.set(file, text);
  }
  return JSON.parse(text) as StripeObject;
}

/** The customer id of the published fixtures. */
export const FIXTURE_CUSTOMER = 'cus_QXg1o8vcGmoR32';

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
  /** Event `created` (unix seconds), also the object's; now by default. */
  created?: number;
  livemode?: boolean;
  /** The customer the object belongs to (`null`: none, a guest payment). Fixture customer by default. */
  customer?: string | null;
  /**
   * The Accounts v2 customer account (`acct_...`) the object names, beside `customer` (or
   * alone, with `customer: null`). Pinned version only; objects that have the field name none
   * by default.
   */
  customerAccount?: string | null;
  /** Which API version's shape: {@link PINNED_API_VERSION} (default) or {@link PRE_BASIL_API_VERSION}. */
  apiVersion?: string;
  /** The invoice: an invoice event's object, the invoice an InvoicePayment (or, before basil, a PaymentIntent or charge) names. */
  invoiceId?: string;
  /** The PaymentIntent: its events' object, what a charge, dispute or InvoicePayment (before basil, an invoice) names. */
  paymentIntentId?: string;
  /** The subscription: its events' object, or the invoice's subscription. */
  subscriptionId?: string;
  /** The payment method: its events' object (a legacy card for `customer.source.*`), or what a PaymentIntent or charge used. */
  paymentMethodId?: string;
  /** The dispute: its events' object. */
  disputeId?: string;
  /** The object's `status`, instead of the one the event type implies. */
  status?: string;
  /** Invoices: how many payment attempts were made (`attempted` follows). */
  attemptCount?: number;
  /** Invoices: when Stripe retries (unix seconds), or `null` when it does not. */
  nextPaymentAttempt?: number | null;
  /**
   * Uncollectible invoices, pinned version only: `status_details.uncollectible.reason`
   * (`max_payment_attempts` by default; `null` leaves `status_details` out).
   */
  uncollectibleReason?: string | null;
  /** Fields merged over the object (shallow), applied last. */
  object?: StripeObject;
  /** `data.previous_attributes`, for `*.updated` events and `payment_method.detached`. */
  previousAttributes?: StripeObject;
  /** A connected account id (Connect events are ignored by the verifier). */
  account?: string | null;
}

/**
 * The statuses each object's type allows at the pinned version, as in the `stripe` package's
 * types (the unit test compares them with the types of both versions). InvoicePayment types
 * its status as a string; its values are the ones Stripe documents.
 */
const STATUSES: Readonly<Record<string, readonly string[]>> = {
  payment_intent: [
    'canceled',
    'processing',
    'requires_action',
    'requires_capture',
    'requires_confirmation',
    'requires_payment_method',
    'succeeded',
  ],
  charge: ['failed', 'pending', 'succeeded'],
  invoice: ['draft', 'open', 'paid', 'uncollectible', 'void'],
  invoice_payment: ['canceled', 'open', 'paid'],
  dispute: [
    'appeal_needs_response',
    'appeal_under_review',
    'lost',
    'needs_response',
    'prevented',
    'under_review',
    'warning_closed',
    'warning_needs_response',
    'warning_under_review',
    'won',
  ],
  subscription: [
    'active',
    'canceled',
    'incomplete',
    'incomplete_expired',
    'past_due',
    'paused',
    'trialing',
    'unpaid',
  ],
};

/** Statuses the pre-basil version does not have yet. */
const STATUSES_SINCE_PRE_BASIL: Readonly<Record<string, readonly string[]>> = {
  dispute: ['appeal_needs_response', 'appeal_under_review', 'prevented'],
};

/** The statuses an object of `kind` can have at `apiVersion`; empty for kinds without one. */
export function statusesOf(kind: string, apiVersion: string = PINNED_API_VERSION): string[] {
  const younger = checkedVersion(apiVersion) === PRE_BASIL_API_VERSION;
  const absent = younger ? (STATUSES_SINCE_PRE_BASIL[kind] ?? []) : [];
  return (STATUSES[kind] ?? []).filter((st) => !absent.includes(st));
}

/** Object kinds whose objects name an Accounts v2 `customer_account` at the pinned version. */
export const CUSTOMER_ACCOUNT_KINDS: ReadonlySet<string> = new Set([
  'customer',
  'invoice',
  'payment_intent',
  'payment_method',
  'subscription',
]);

/** What a recipe knows when it shapes a fixture. */
interface Shaping {
  readonly type: string;
  readonly created: number;
  readonly customer: string | null;
  readonly preBasil: boolean;
  readonly options: EventOptions;
}

interface Recipe {
  readonly fixture: FixtureName;
  /** Changes that make the fixture look like it does in this event. */
  readonly shape: (o: StripeObject, s: Shaping) => void;
  /** Where the customer lives for this kind (most objects: `customer`). */
  readonly customerField?: 'customer' | 'id' | 'none';
}

const DAY = 86_400;

const setCustomer = (o: StripeObject, s: Shaping) => {
  o.customer = s.customer;
};

const paymentIntent =
  (status: string, extra: (o: StripeObject, s: Shaping) => void = () => {}) =>
  (o: StripeObject, s: Shaping) => {
    setCustomer(o, s);
    o.status = status;
    o.created = s.created;
    o.canceled_at = status === 'canceled' ? s.created : null;
    o.cancellation_reason = status === 'canceled' ? 'abandoned' : null;
    extra(o, s);
  };

const charge = (status: 'succeeded' | 'failed') => (o: StripeObject, s: Shaping) => {
  setCustomer(o, s);
  o.status = status;
  o.created = s.created;
  o.paid = status === 'succeeded';
  o.captured = status === 'succeeded';
  o.amount_captured = status === 'succeeded' ? o.amount : 0;
  o.failure_code = status === 'failed' ? 'card_declined' : null;
  o.failure_message = status === 'failed' ? 'Your card was declined.' : null;
};

interface InvoiceState {
  status: 'open' | 'paid' | 'uncollectible' | 'void';
  attemptCount: number;
  nextPaymentAttempt: (created: number) => number | null;
  collection?: 'charge_automatically' | 'send_invoice';
}

const invoice = (state: InvoiceState | ((s: Shaping) => InvoiceState)) => {
  return (o: StripeObject, s: Shaping) => {
    const st = typeof state === 'function' ? state(s) : state;
    setCustomer(o, s);
    o.status = st.status;
    o.created = s.created;
    o.attempt_count = st.attemptCount;
    o.attempted = st.attemptCount > 0;
    o.next_payment_attempt = st.nextPaymentAttempt(s.created);
    o.collection_method = st.collection ?? 'charge_automatically';
    if (st.collection === 'send_invoice') o.due_date = s.created - 7 * DAY;
    const transitions = { ...(o.status_transitions as StripeObject) };
    transitions.finalized_at = s.created;
    if (st.status === 'paid') {
      o.amount_paid = o.amount_due;
      o.amount_remaining = 0;
      transitions.paid_at = s.created;
    }
    // Before basil an invoice also said whether it was paid.
    if (s.preBasil) o.paid = st.status === 'paid';
    if (st.status === 'void') transitions.voided_at = s.created;
    if (st.status === 'uncollectible') transitions.marked_uncollectible_at = s.created;
    o.status_transitions = transitions;
    // A subscription's invoice, of the fixtures' subscription unless told otherwise.
    const subscriptionId = fixture('subscription').id;
    if (s.preBasil) o.subscription = subscriptionId;
    else {
      o.parent = {
        quote_details: null,
        subscription_details: { metadata: {}, subscription: subscriptionId },
        type: 'subscription_details',
      };
    }
  };
};

/** An invoice that is paid (`invoice.paid`, `invoice.payment_succeeded`) or void (`invoice.voided`). */
const settledInvoice = (s: Shaping): InvoiceState =>
  s.type.endsWith('.voided')
    ? { status: 'void', attemptCount: 0, nextPaymentAttempt: () => null }
    : { status: 'paid', attemptCount: 1, nextPaymentAttempt: () => null };

const invoicePayment = (o: StripeObject, s: Shaping) => {
  o.id = stripeId('inpay');
  o.created = s.created;
  o.status = 'paid';
  o.currency = 'usd';
  o.amount_requested = fixture('invoice').amount_due;
  o.amount_paid = o.amount_requested;
  o.invoice = fixture('invoice').id;
  o.payment = { type: 'payment_intent', payment_intent: fixture('payment_intent').id };
  o.status_transitions = { canceled_at: null, paid_at: s.created };
};

const dispute = (status: string) => (o: StripeObject, s: Shaping) => {
  // Disputes carry no customer: it is found through `charge` / `payment_intent`.
  o.status = status;
  o.created = s.created;
};

const subscription = (status: string) => (o: StripeObject, s: Shaping) => {
  setCustomer(o, s);
  o.status = status;
  o.created = s.created;
  o.pause_collection = null;
  if (status !== 'canceled') {
    o.canceled_at = null;
    o.ended_at = null;
    o.cancel_at = null;
    o.cancel_at_period_end = false;
  } else {
    o.canceled_at = s.created;
    o.ended_at = s.created;
  }
  // Before basil the current period is the subscription's; since, each item's.
  const period = { current_period_start: s.created, current_period_end: s.created + 30 * DAY };
  if (s.preBasil) Object.assign(o, period);
  else {
    const items = o.items as { data: StripeObject[] };
    o.items = { ...items, data: items.data.map((item) => ({ ...item, ...period })) };
  }
};

const legacyCard = (o: StripeObject, s: Shaping) => setCustomer(o, s);

const paymentMethod = (o: StripeObject, s: Shaping) => {
  setCustomer(o, s);
  o.created = s.created;
};

const customer = (o: StripeObject, s: Shaping) => {
  if (s.customer !== null) o.id = s.customer;
  o.created = s.created;
};

/**
 * How an event shapes its fixture, by the object kind and meaning its registry line gives
 * (lambdas/core/registry.ts): a new type of an existing kind and meaning needs no recipe.
 */
const RECIPES: Readonly<Record<string, Readonly<Record<string, Recipe>>>> = {
  payment_intent: {
    failed: {
      fixture: 'payment_intent',
      shape: paymentIntent('requires_payment_method', (o) => {
        o.last_payment_error = {
          ...(o.last_payment_error as StripeObject | null),
          type: 'card_error',
          code: 'card_declined',
          decline_code: 'generic_decline',
          message: 'Your card was declined.',
        };
      }),
    },
    succeeded: {
      fixture: 'payment_intent',
      shape: paymentIntent('succeeded', (o) => {
        o.amount_received = o.amount;
        o.last_payment_error = null;
      }),
    },
    canceled: { fixture: 'payment_intent', shape: paymentIntent('canceled') },
  },
  charge: {
    failed: { fixture: 'charge', shape: charge('failed') },
    succeeded: { fixture: 'charge', shape: charge('succeeded') },
  },
  invoice: {
    failed: {
      fixture: 'invoice',
      // Smart Retries plan the next attempt a few days later.
      shape: invoice({ status: 'open', attemptCount: 1, nextPaymentAttempt: (c) => c + 3 * DAY }),
    },
    uncollectible: {
      fixture: 'invoice',
      shape: invoice({ status: 'uncollectible', attemptCount: 1, nextPaymentAttempt: () => null }),
    },
    action_required: {
      fixture: 'invoice',
      shape: invoice({ status: 'open', attemptCount: 1, nextPaymentAttempt: () => null }),
    },
    settled: { fixture: 'invoice', shape: invoice(settledInvoice) },
    // A sent invoice (payment terms) past its due date: never attempted, so never failed.
    overdue: {
      fixture: 'invoice',
      shape: invoice({
        status: 'open',
        attemptCount: 0,
        nextPaymentAttempt: () => null,
        collection: 'send_invoice',
      }),
    },
  },
  invoice_payment: {
    paid: { fixture: 'invoice_payment', shape: invoicePayment, customerField: 'none' },
  },
  dispute: {
    opened: { fixture: 'dispute', shape: dispute('needs_response'), customerField: 'none' },
    updated: { fixture: 'dispute', shape: dispute('under_review'), customerField: 'none' },
    closed: { fixture: 'dispute', shape: dispute('lost'), customerField: 'none' },
  },
  source: {
    details: { fixture: 'card', shape: legacyCard },
    expiring: { fixture: 'card', shape: legacyCard },
    deleted: { fixture: 'card', shape: legacyCard },
  },
  payment_method: {
    details: { fixture: 'payment_method', shape: paymentMethod },
    // Stripe has already cleared `customer`; the old value is in previous_attributes.
    deleted: {
      fixture: 'payment_method',
      shape: (o, s) => paymentMethod(o, { ...s, customer: null }),
    },
  },
  subscription: {
    created: { fixture: 'subscription', shape: subscription('active') },
    updated: { fixture: 'subscription', shape: subscription('active') },
    deleted: { fixture: 'subscription', shape: subscription('canceled') },
  },
  customer: {
    record: { fixture: 'customer', shape: customer, customerField: 'id' },
    deleted: { fixture: 'customer', shape: customer, customerField: 'id' },
  },
};

/** The first API version that has an event type, for types younger than the pre-basil version. */
const TYPE_SINCE: Readonly<Record<string, string>> = {
  'invoice_payment.paid': '2025-05-28.basil',
};

/** The object kind and meaning `type` is built as, or undefined for a type without a recipe. */
export function shapeOf(type: string): { kind: string; meaning: string } | undefined {
  const entry = registryEntry(type);
  return entry && RECIPES[entry.kind]?.[entry.meaning]
    ? { kind: entry.kind, meaning: entry.meaning }
    : undefined;
}

function recipeOf(type: string): Recipe | undefined {
  const shape = shapeOf(type);
  return shape ? RECIPES[shape.kind]![shape.meaning] : undefined;
}

/** Event types `buildEvent` knows how to make (every handled type). */
export const BUILDABLE_TYPES: readonly string[] = HANDLED_TYPES.filter((t) => recipeOf(t));

/** Whether Stripe sends `type` at `apiVersion` (an `invoice_payment.*` event is basil's). */
export function existsAt(type: string, apiVersion: string = PINNED_API_VERSION): boolean {
  return !(TYPE_SINCE[type] && checkedVersion(apiVersion) === PRE_BASIL_API_VERSION);
}

const refuse = (option: keyof EventOptions, detail: string): never => {
  throw new EventShapeError(option, detail);
};

/**
 * Places the ids and fields of the options where this kind's object carries them at this
 * version; an option the object has no place for is refused, naming it.
 */
function applyOptions(kind: string, o: StripeObject, s: Shaping): void {
  const { options, type, preBasil } = s;
  const version = preBasil ? PRE_BASIL_API_VERSION : PINNED_API_VERSION;
  const nowhere = (option: keyof EventOptions, why = `a ${kind} names none`) =>
    refuse(option, `has no place in ${type} at ${version}: ${why}`);
  const sinceBasil = (option: keyof EventOptions, field: string) =>
    nowhere(option, `${field} was removed in 2025-03-31.basil`);

  for (const [option, prefixes] of Object.entries(ID_PREFIXES)) {
    const value = options[option as keyof EventOptions];
    if (typeof value === 'string' && !prefixes.some((p) => value.startsWith(p))) {
      refuse(
        option as keyof EventOptions,
        `must start with ${prefixes.join(' or ')}, got "${value}"`,
      );
    }
  }

  if (options.invoiceId !== undefined) {
    if (kind === 'invoice') o.id = options.invoiceId;
    else if (kind === 'invoice_payment') o.invoice = options.invoiceId;
    else if (kind === 'payment_intent' || kind === 'charge') {
      if (!preBasil) sinceBasil('invoiceId', `the ${kind}'s invoice`);
      o.invoice = options.invoiceId;
    } else nowhere('invoiceId');
  }
  if (options.paymentIntentId !== undefined) {
    const pi = options.paymentIntentId;
    if (kind === 'payment_intent') o.id = pi;
    else if (kind === 'charge' || kind === 'dispute') o.payment_intent = pi;
    else if (kind === 'invoice_payment') o.payment = { type: 'payment_intent', payment_intent: pi };
    else if (kind === 'invoice') {
      if (!preBasil) sinceBasil('paymentIntentId', "the invoice's payment_intent");
      o.payment_intent = pi;
    } else nowhere('paymentIntentId');
  }
  if (options.subscriptionId !== undefined) {
    const sub = options.subscriptionId;
    if (kind === 'subscription') o.id = sub;
    else if (kind === 'invoice') {
      if (preBasil) o.subscription = sub;
      else {
        const parent = o.parent as { subscription_details: StripeObject };
        parent.subscription_details = { ...parent.subscription_details, subscription: sub };
      }
    } else nowhere('subscriptionId');
  }
  if (options.paymentMethodId !== undefined) {
    const pm = options.paymentMethodId;
    if (kind === 'payment_method' || kind === 'source') o.id = pm;
    else if (kind === 'payment_intent' || kind === 'charge') o.payment_method = pm;
    else nowhere('paymentMethodId');
  }
  if (options.disputeId !== undefined) {
    if (kind === 'dispute') o.id = options.disputeId;
    else nowhere('disputeId');
  }
  if (options.status !== undefined) {
    const allowed = statusesOf(kind, version);
    if (allowed.length === 0) nowhere('status', `a ${kind} has no status`);
    if (!allowed.includes(options.status)) {
      refuse(
        'status',
        `of a ${kind} at ${version} must be one of ${allowed.join(', ')}, got "${options.status}"`,
      );
    }
    o.status = options.status;
  }
  if (options.attemptCount !== undefined) {
    if (kind !== 'invoice') nowhere('attemptCount', 'only invoices count payment attempts');
    if (!Number.isInteger(options.attemptCount) || options.attemptCount < 0) {
      refuse('attemptCount', `must be a whole number from 0, got ${options.attemptCount}`);
    }
    o.attempt_count = options.attemptCount;
    o.attempted = options.attemptCount > 0;
  }
  if (options.nextPaymentAttempt !== undefined) {
    if (kind !== 'invoice') nowhere('nextPaymentAttempt', 'only invoices plan retries');
    o.next_payment_attempt = options.nextPaymentAttempt;
  }
  if (kind === 'invoice') {
    // Stripe includes status_details only on uncollectible invoices (2026-09-30.endive on).
    const reason =
      options.uncollectibleReason === undefined
        ? 'max_payment_attempts'
        : options.uncollectibleReason;
    if (options.uncollectibleReason != null) {
      if (preBasil) {
        nowhere('uncollectibleReason', 'status_details came in 2026-09-30.endive');
      }
      if (!UNCOLLECTIBLE_REASONS.includes(options.uncollectibleReason)) {
        refuse(
          'uncollectibleReason',
          `must be one of ${UNCOLLECTIBLE_REASONS.join(', ')}, got "${options.uncollectibleReason}"`,
        );
      }
      if (o.status !== 'uncollectible') {
        nowhere('uncollectibleReason', 'Stripe gives a reason only for an uncollectible invoice');
      }
    }
    if (!preBasil && o.status === 'uncollectible' && reason !== null) {
      o.status_details = { uncollectible: { reason } };
    }
  } else if (options.uncollectibleReason != null) {
    nowhere('uncollectibleReason', 'only invoices are uncollectible');
  }
  if (options.customerAccount != null) {
    if (preBasil) nowhere('customerAccount', 'Accounts v2 came later');
    if (!CUSTOMER_ACCOUNT_KINDS.has(kind)) nowhere('customerAccount');
    o.customer_account = options.customerAccount;
  }
}

/**
 * What the pinned version changes in Stripe's snapshot of its objects: fields the fixtures
 * carry that the pinned types no longer have, and fields added since the snapshot.
 */
function toPinned(kind: string, o: StripeObject): void {
  if (kind === 'invoice') delete o.subscription;
  if (kind === 'payment_intent') {
    o.allowed_payment_method_types ??= null;
    o.payment_record ??= null;
  }
  if (kind === 'dispute') o.intended_submission_method ??= null;
}

/**
 * A realistic Stripe event of `type`, built from the published fixture of its object in the
 * shape of `options.apiVersion`. Types this project does not handle are built from the generic
 * event fixture (its `plan` object), which is what the verifier should ignore. Options the
 * type's object has no place for at that version throw an {@link EventShapeError}.
 */
export function buildEvent(type: string, options: EventOptions = {}): StripeEvent {
  const apiVersion = checkedVersion(options.apiVersion);
  if (!existsAt(type, apiVersion)) {
    throw new EventShapeError(
      'type',
      `${type} exists since ${TYPE_SINCE[type]}, not at ${apiVersion}`,
    );
  }
  const preBasil = apiVersion === PRE_BASIL_API_VERSION;
  const envelope = fixture('event', apiVersion);
  const created = options.created ?? Math.floor(Date.now() / 1000);
  const customer = options.customer === undefined ? FIXTURE_CUSTOMER : options.customer;
  const shape = shapeOf(type);
  const data = envelope.data as { object: StripeObject; previous_attributes?: StripeObject };
  let object: StripeObject;
  if (shape) {
    const recipe = RECIPES[shape.kind]![shape.meaning]!;
    const shaping: Shaping = { type, created, customer, preBasil, options };
    object = fixture(recipe.fixture, apiVersion);
    if (!preBasil) toPinned(shape.kind, object);
    recipe.shape(object, shaping);
    if (typeof object.livemode === 'boolean') object.livemode = options.livemode ?? false;
    applyOptions(shape.kind, object, shaping);
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
    api_version: apiVersion,
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

/** Where an event's customer is for its type: the object's `customer`, its `id`, or nowhere. */
export function customerFieldOf(type: string): 'customer' | 'id' | 'none' {
  return recipeOf(type)?.customerField ?? 'customer';
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
