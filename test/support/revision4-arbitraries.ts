// Random revision 4 inputs for property tests of the billing status: raw Stripe events of a
// few customers across every handled type, in the payload shapes of API versions from
// 2020-03-02 to endive, built from Stripe's published fixtures (bin/events/fixtures). Object
// ids are shared so that rules meet: disputes on the customers' charges, invoice payments on
// their PaymentIntents, PaymentIntents and charges naming their invoices, methods seen
// through both APIs and detached, Accounts v2 aliases. Also random access policies (valid
// documents, through parsePolicy), operator overrides, Stripe API answers and reading times.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  CONDITION_REASONS,
  parsePolicy,
  type ConditionReason,
  type Policy,
  type PolicyDocument,
  type PolicyEntry,
} from '../../lambdas/core/policy';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import type { ReferenceInput, ReferenceOverride } from './reference-status';

type Json = Record<string, unknown>;
export type Delivery = { event: StripeEvent; appliedAt: string };

// ---------------------------------------------------------------------------------------
// Stripe's fixtures, read once when a test loads this module

const FIXTURES = new URL('../../bin/events/fixtures/stripe/objects/', import.meta.url);
const fixture = (name: string): Json =>
  JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8')) as Json;
const BASE = {
  event: fixture('event'),
  paymentIntent: fixture('payment_intent'),
  charge: fixture('charge'),
  invoice: fixture('invoice'),
  dispute: fixture('dispute'),
  paymentMethod: fixture('payment_method'),
  card: fixture('card'),
  source: fixture('source'),
  subscription: fixture('subscription'),
  customer: fixture('customer'),
};
const copy = (o: Json): Json => structuredClone(o);

// ---------------------------------------------------------------------------------------
// The world: three customers and a guest, each with a fixed set of objects

export const CUSTOMERS = ['cus_A', 'cus_B', 'cus_C'] as const;
/** Each customer's Accounts v2 alias. */
export const accountOf = (customerId: string): string => `acct_${customerId.slice(4)}`;
const GUEST = 'G';

/** Every type the rules of revision 4 handle. */
export const REVISION4_TYPES = [
  'payment_intent.payment_failed',
  'payment_intent.succeeded',
  'payment_intent.canceled',
  'charge.failed',
  'charge.succeeded',
  'invoice.payment_failed',
  'invoice.marked_uncollectible',
  'invoice.payment_action_required',
  'invoice.paid',
  'invoice.payment_succeeded',
  'invoice.voided',
  'invoice.overdue',
  'invoice_payment.paid',
  'charge.dispute.created',
  'charge.dispute.updated',
  'charge.dispute.closed',
  'customer.source.created',
  'customer.source.updated',
  'customer.source.expiring',
  'customer.source.deleted',
  'payment_method.attached',
  'payment_method.updated',
  'payment_method.automatically_updated',
  'payment_method.detached',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'customer.created',
  'customer.updated',
  'customer.deleted',
] as const;

/** API versions in order; the shapes change at 2022-11-15, 2025-03-31.basil and 2026-09-30.endive. */
export const API_VERSIONS = [
  '2020-03-02',
  '2020-08-27',
  '2022-11-15',
  '2024-06-20',
  '2024-09-30.acacia',
  '2025-03-31.basil',
  '2025-09-30.clover',
  '2026-03-25.dahlia',
  '2026-09-30.endive',
  '2026-10-28.endive',
] as const;
type ApiVersion = (typeof API_VERSIONS)[number];
const since = (version: ApiVersion, first: ApiVersion) =>
  API_VERSIONS.indexOf(version) >= API_VERSIONS.indexOf(first);
/** PaymentIntents list their charges before 2022-11-15 and name latest_charge from then on. */
const hasLatestCharge = (v: ApiVersion) => since(v, '2022-11-15');
/** From basil on, PaymentIntents, charges and invoices no longer name each other. */
const isBasil = (v: ApiVersion) => since(v, '2025-03-31.basil');
/** Invoices say why they are uncollectible from 2026-09-30.endive on. */
const hasStatusDetails = (v: ApiVersion) => since(v, '2026-09-30.endive');
/** Accounts v2 ids (`customer_account`) are drawn only in versions from clover on. */
const hasCustomerAccount = (v: ApiVersion) => since(v, '2025-09-30.clover');

/** 2026-11-01T00:00:00Z: events are created in the days after it. */
export const T0 = 1_793_491_200;
const HOUR = 3_600;
const DAY = 86_400;
/** Card expiries around the reading times: expired, expiring and active all happen. */
const EXPIRIES = [
  { month: 10, year: 2026 },
  { month: 11, year: 2026 },
  { month: 12, year: 2026 },
  { month: 1, year: 2027 },
  { month: 8, year: 2030 },
] as const;

export const SUBSCRIPTION_STATUSES = [
  'incomplete',
  'trialing',
  'active',
  'paused',
  'past_due',
  'unpaid',
  'canceled',
  'incomplete_expired',
] as const;
const DISPUTE_OPEN = ['warning_needs_response', 'needs_response', 'under_review'];
const DISPUTE_CLOSED = ['won', 'lost', 'warning_closed', 'prevented'];
const UNCOLLECTIBLE_REASONS = [
  'subscription_paused',
  'subscription_paused',
  'max_payment_attempts',
  'payment_not_received',
  'subscription_canceled',
  'user_forgiven',
  null,
] as const;

// Objects of customer X (PaymentIntent n has charge ch_Xn; PaymentIntents 1 and 2 pay
// invoices 1 and 2, PaymentIntent 3 is standalone; invoice 3 is sent for payment):
const ids = (x: string) => ({
  paymentIntent: (n: number) => `pi_${x}${n}`,
  piCharge: (n: number) => `ch_${x}${n}`,
  legacyCharge: (n: number) => `ch_${x}L${n}`,
  invoice: (n: number) => `in_${x}${n}`,
  invoicePayment: (n: number) => `inpay_${x}${n}`,
  dispute: (n: number) => `dp_${x}${n}`,
  subscription: (n: number) => `sub_${x}${n}`,
});
/** The invoice a PaymentIntent (1-3) pays, or null. */
const invoiceNumberOfPi = (n: number): number | null => (n <= 2 ? n : null);

/** What one drawn event is made of. */
interface Draw {
  type: (typeof REVISION4_TYPES)[number];
  /** 0-2: a customer; 3: a guest (PaymentIntents, charges, disputes only). */
  owner: number;
  /** Which of the owner's objects of the kind (0-2). */
  n: number;
  created: number;
  version: ApiVersion;
  /** How the object names its owner (Accounts v2 forms only where the version has them). */
  naming: 'customer' | 'both' | 'account';
  /** Below 12: the object's status disagrees with the event type (a stale or late read). */
  stale: number;
  subscriptionStatus: string;
  previousStatus: string | null;
  attemptCount: number;
  retrying: boolean;
  expiry: { month: number; year: number };
  uncollectibleReason: string | null;
  previousCustomer: boolean;
  hostile: 'none' | 'hash_id' | 'long_id' | 'bad_customer' | 'connect';
  serial: number;
  livemode: boolean;
  delayMs: number;
}

function envelope(d: Draw, object: Json, previous?: Json): StripeEvent {
  const e = copy(BASE.event);
  return {
    ...e,
    id: `evt_${String(d.serial).padStart(8, '0')}`,
    object: 'event',
    type: d.type,
    created: d.created,
    livemode: d.livemode,
    api_version: d.version,
    data: { object, ...(previous ? { previous_attributes: previous } : {}) },
  } as StripeEvent;
}

/** Sets `customer` and `customer_account` as the drawn naming says. */
function nameOwner(o: Json, customerId: string | null, d: Draw): void {
  const naming = customerId !== null && hasCustomerAccount(d.version) ? d.naming : 'customer';
  if (naming === 'customer') {
    o.customer = customerId;
    if (hasCustomerAccount(d.version)) o.customer_account = null;
    else delete o.customer_account;
  } else {
    o.customer = naming === 'both' ? customerId : null;
    o.customer_account = accountOf(customerId!);
  }
}

function pickStatus(d: Draw, usual: string, stale: readonly string[]): string {
  return d.stale < 12 ? stale[d.stale % stale.length]! : usual;
}

function paymentIntentObject(d: Draw, x: string, customerId: string | null): Json {
  const n = d.n + 1;
  const o = copy(BASE.paymentIntent);
  o.id = ids(x).paymentIntent(n);
  o.created = d.created - HOUR;
  nameOwner(o, customerId, d);
  const usual =
    d.type === 'payment_intent.succeeded'
      ? 'succeeded'
      : d.type === 'payment_intent.canceled'
        ? 'canceled'
        : 'requires_payment_method';
  o.status = pickStatus(d, usual, ['processing', 'succeeded', 'canceled', 'requires_action']);
  const chargeId = ids(x).piCharge(n);
  if (hasLatestCharge(d.version)) {
    o.latest_charge = chargeId;
  } else {
    delete o.latest_charge;
    o.charges = { object: 'list', data: [{ id: chargeId, object: 'charge' }], has_more: false };
  }
  const invoiceNumber = invoiceNumberOfPi(n);
  if (!isBasil(d.version))
    o.invoice = invoiceNumber !== null ? ids(x).invoice(invoiceNumber) : null;
  return o;
}

/**
 * A charge of customer X: the charge of PaymentIntent 1-3 (ch_X1-3), or a legacy charge
 * without PaymentIntent (ch_XL1 alone, ch_XL2 of invoice 3). A guest has ch_G1 of pi_G1.
 */
function chargeObject(d: Draw, x: string, customerId: string | null): Json {
  const o = copy(BASE.charge);
  const which = x === GUEST ? 0 : d.stale % 5;
  const legacy = which >= 3;
  const n = legacy ? which - 2 : which + 1;
  o.id = legacy ? ids(x).legacyCharge(n) : ids(x).piCharge(n);
  o.created = d.created;
  nameOwner(o, customerId, d);
  o.status = d.type === 'charge.failed' ? 'failed' : 'succeeded';
  o.paid = d.type === 'charge.succeeded';
  o.payment_intent = legacy ? null : ids(x).paymentIntent(n);
  if (!isBasil(d.version)) {
    const invoiceNumber = legacy ? (n === 2 ? 3 : null) : invoiceNumberOfPi(n);
    o.invoice = invoiceNumber !== null ? ids(x).invoice(invoiceNumber) : null;
  }
  return o;
}

const INVOICE_USUAL: Record<string, string> = {
  'invoice.payment_failed': 'open',
  'invoice.marked_uncollectible': 'uncollectible',
  'invoice.payment_action_required': 'open',
  'invoice.paid': 'paid',
  'invoice.payment_succeeded': 'paid',
  'invoice.voided': 'void',
  'invoice.overdue': 'open',
};

function invoiceObject(d: Draw, x: string, customerId: string): Json {
  const n = d.n + 1;
  const o = copy(BASE.invoice);
  o.id = ids(x).invoice(n);
  nameOwner(o, customerId, d);
  const status = pickStatus(d, INVOICE_USUAL[d.type]!, ['open', 'paid', 'void', 'uncollectible']);
  o.status = status;
  o.collection_method = n === 3 ? 'send_invoice' : 'charge_automatically';
  o.attempt_count = n === 3 ? 0 : d.attemptCount;
  o.attempted = o.attempt_count !== 0;
  o.next_payment_attempt = status === 'open' && n !== 3 && d.retrying ? d.created + 3 * DAY : null;
  const subscription = ids(x).subscription(1 + (n % 2));
  if (isBasil(d.version)) {
    delete o.subscription;
    o.parent = {
      type: 'subscription_details',
      quote_details: null,
      subscription_details: { metadata: {}, subscription },
    };
  } else {
    delete o.parent;
    o.subscription = subscription;
    o.paid = status === 'paid';
    o.payment_intent = n <= 2 ? ids(x).paymentIntent(n) : null;
    o.charge = n === 3 ? ids(x).legacyCharge(2) : null;
  }
  if (hasStatusDetails(d.version) && status === 'uncollectible') {
    o.status_details = { uncollectible: { reason: d.uncollectibleReason } };
  }
  return o;
}

function invoicePaymentObject(d: Draw, x: string): Json {
  const n = 1 + (d.n % 2);
  return {
    id: ids(x).invoicePayment(n),
    object: 'invoice_payment',
    amount_paid: 1000,
    amount_requested: 1000,
    created: d.created,
    currency: 'usd',
    invoice: ids(x).invoice(n),
    is_default: true,
    livemode: d.livemode,
    payment: { type: 'payment_intent', payment_intent: ids(x).paymentIntent(n) },
    status: 'paid',
    status_transitions: { canceled_at: null, paid_at: d.created },
  };
}

function disputeObject(d: Draw, x: string): Json {
  const o = copy(BASE.dispute);
  // dp_X1 on PaymentIntent 1's charge, dp_X2 on legacy charge L1, dp_X3 on PaymentIntent 3's.
  const n = x === GUEST ? 1 : d.n + 1;
  o.id = ids(x).dispute(n);
  o.created = d.created;
  o.charge = n === 2 ? ids(x).legacyCharge(1) : ids(x).piCharge(n);
  // The dispute's PaymentIntent is named in most payloads, not all.
  o.payment_intent = n !== 2 && d.stale % 3 !== 0 ? ids(x).paymentIntent(n) : null;
  o.status =
    d.type === 'charge.dispute.closed'
      ? DISPUTE_CLOSED[d.stale % 4]!
      : d.type === 'charge.dispute.created'
        ? DISPUTE_OPEN[d.stale % 2]!
        : [...DISPUTE_OPEN, ...DISPUTE_CLOSED][d.stale % 7]!;
  return o;
}

const PM_BRANDS = ['visa', 'mastercard', 'amex', 'cartes_bancaires', 'unknown'];
const LEGACY_BRANDS = ['Visa', 'MasterCard', 'American Express', 'Diners Club', 'JCB'];

/** A method through the PaymentMethods API: pm_X1 (card), pm_X2 (sepa_debit), card_X1 (a card). */
function paymentMethodObject(d: Draw, x: string, customerId: string): Json {
  const o = copy(BASE.paymentMethod);
  const id = [`pm_${x}1`, `pm_${x}2`, `card_${x}1`][d.n]!;
  o.id = id;
  nameOwner(o, customerId, d);
  if (id.startsWith('pm_') && d.n === 1) {
    o.type = 'sepa_debit';
    delete o.card;
    o.sepa_debit = { bank_code: '37040044', country: 'DE', last4: '3000', fingerprint: 'fp_sepa' };
  } else {
    o.type = 'card';
    o.card = {
      ...(o.card as Json),
      brand: PM_BRANDS[d.stale % PM_BRANDS.length],
      last4: String(4000 + d.expiry.month),
      exp_month: d.expiry.month,
      exp_year: d.expiry.year,
    };
  }
  if (d.type === 'payment_method.detached') {
    o.customer = null;
    if (hasCustomerAccount(d.version)) o.customer_account = null;
  }
  return o;
}

/** A method as a legacy source: card_X1 (Card), src_X1 (card Source), ba_X1 (bank account). */
function sourceObject(d: Draw, x: string, customerId: string): Json {
  const which = d.type === 'customer.source.expiring' ? d.n % 2 : d.n;
  const brand = LEGACY_BRANDS[d.stale % LEGACY_BRANDS.length];
  if (which === 0) {
    return {
      ...copy(BASE.card),
      id: `card_${x}1`,
      customer: customerId,
      brand,
      last4: String(4000 + d.expiry.month),
      exp_month: d.expiry.month,
      exp_year: d.expiry.year,
    };
  }
  if (which === 1) {
    const o = copy(BASE.source);
    return {
      ...o,
      id: `src_${x}1`,
      customer: customerId,
      card: {
        ...(o.card as Json),
        brand,
        exp_month: d.expiry.month,
        exp_year: d.expiry.year,
      },
    };
  }
  return {
    id: `ba_${x}1`,
    object: 'bank_account',
    account_holder_type: 'individual',
    bank_name: 'STRIPE TEST BANK',
    country: 'US',
    currency: 'usd',
    customer: customerId,
    fingerprint: 'fp_bank',
    last4: '6789',
    routing_number: '110000000',
    status: 'verified',
  };
}

function subscriptionObject(d: Draw, x: string, customerId: string): Json {
  const o = copy(BASE.subscription);
  o.id = ids(x).subscription(1 + (d.n % 2));
  nameOwner(o, customerId, d);
  if (d.type === 'customer.subscription.deleted') {
    // A trimmed payload sometimes carries no status: a deletion still means canceled.
    if (d.stale < 6) delete o.status;
    else o.status = d.stale < 12 ? d.subscriptionStatus : 'canceled';
  } else {
    o.status = d.subscriptionStatus;
  }
  return o;
}

function customerObject(d: Draw, customerId: string): Json {
  const withAccount = hasCustomerAccount(d.version) && d.naming !== 'customer';
  const o: Json =
    d.type === 'customer.deleted'
      ? { id: customerId, object: 'customer', deleted: true }
      : { ...copy(BASE.customer), id: customerId };
  if (withAccount) o.customer_account = accountOf(customerId);
  return o;
}

/** The event a draw describes, hostile forms included (each one is never applied). */
function eventOf(d: Draw): StripeEvent {
  const kind = d.type.split('.')[0]!;
  const onGuest = d.owner === 3 && ['payment_intent', 'charge'].includes(kind);
  const guestDispute = d.owner === 3 && d.type.startsWith('charge.dispute.');
  const customerId = CUSTOMERS[d.owner % 3]!;
  const x = onGuest || guestDispute ? GUEST : customerId.slice(4);
  const owner = onGuest ? null : customerId;
  let object: Json;
  let previous: Json | undefined;
  if (d.type.startsWith('charge.dispute.')) object = disputeObject(d, x);
  else if (kind === 'payment_intent') object = paymentIntentObject(d, x, owner);
  else if (kind === 'charge') object = chargeObject(d, x, owner);
  else if (kind === 'invoice') object = invoiceObject(d, x, customerId);
  else if (kind === 'invoice_payment') object = invoicePaymentObject(d, x);
  else if (kind === 'payment_method') {
    object = paymentMethodObject(d, x, customerId);
    if (d.type === 'payment_method.detached' && d.previousCustomer) {
      previous = { customer: customerId };
    }
  } else if (d.type.startsWith('customer.source.')) object = sourceObject(d, x, customerId);
  else if (d.type.startsWith('customer.subscription.')) {
    object = subscriptionObject(d, x, customerId);
    if (d.type === 'customer.subscription.updated' && d.previousStatus !== null) {
      previous = { status: d.previousStatus };
    }
  } else object = customerObject(d, customerId);

  const event = envelope(d, object, previous);
  switch (d.hostile) {
    case 'hash_id':
      return { ...event, id: `${event.id}#1` };
    case 'long_id':
      return {
        ...event,
        data: {
          ...event.data,
          object: { ...object, id: `${String(object.id)}${'x'.repeat(250)}` },
        },
      };
    case 'bad_customer':
      return 'customer' in object && object.customer !== null
        ? { ...event, data: { ...event.data, object: { ...object, customer: `${customerId}-1` } } }
        : event;
    case 'connect':
      return { ...event, account: 'acct_1Connected' };
    default:
      return event;
  }
}

const drawArb = (
  types: readonly (typeof REVISION4_TYPES)[number][],
  statuses: readonly string[],
): fc.Arbitrary<Draw> =>
  fc.record({
    type: fc.constantFrom(...types),
    // Mostly cus_A, so that its objects meet often; sometimes the other customers or a guest.
    owner: fc.constantFrom(0, 0, 0, 0, 1, 2, 3),
    n: fc.nat(2),
    // Four days in slots of six hours (ties are frequent), now and then a second apart.
    created: fc.tuple(fc.nat(16), fc.nat(1)).map(([slot, second]) => T0 + slot * 6 * HOUR + second),
    version: fc.constantFrom(...API_VERSIONS),
    naming: fc.constantFrom<Draw['naming']>('customer', 'customer', 'both', 'account'),
    stale: fc.nat(59),
    subscriptionStatus: fc.constantFrom(...statuses),
    previousStatus: fc.option(fc.constantFrom(...statuses), { nil: null }),
    attemptCount: fc.integer({ min: 0, max: 4 }),
    retrying: fc.boolean(),
    expiry: fc.constantFrom(...EXPIRIES),
    uncollectibleReason: fc.constantFrom(...UNCOLLECTIBLE_REASONS),
    previousCustomer: fc.boolean(),
    hostile: fc.constantFrom<Draw['hostile']>(
      ...Array<Draw['hostile']>(36).fill('none'),
      'hash_id',
      'long_id',
      'bad_customer',
      'connect',
    ),
    serial: fc.nat(99_999_999),
    livemode: fc.constantFrom(false, false, false, true),
    // Most events arrive within seconds; some hours or days late.
    delayMs: fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 0, max: 5_000 }) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 * DAY * 1000 }) },
    ),
  });

const deliveryOf = (d: Draw): Delivery => ({
  event: eventOf(d),
  appliedAt: new Date(d.created * 1000 + d.delayMs).toISOString(),
});

/** One random delivery of any revision 4 type. */
export const deliveryArb: fc.Arbitrary<Delivery> = drawArb(
  REVISION4_TYPES,
  SUBSCRIPTION_STATUSES,
).map(deliveryOf);

/**
 * A set of deliveries: distinct events (each run draws from some types, sometimes all, and
 * a few subscription statuses, so that the same objects meet), some delivered twice with a
 * later commit, in a random order.
 */
export const deliveriesArb = (maxEvents = 40): fc.Arbitrary<Delivery[]> =>
  fc
    .record({
      types: fc.oneof(
        {
          weight: 2,
          arbitrary: fc.subarray([...REVISION4_TYPES], { minLength: 3, maxLength: 10 }),
        },
        { weight: 1, arbitrary: fc.constant([...REVISION4_TYPES]) },
      ),
      statuses: fc.subarray([...SUBSCRIPTION_STATUSES], { minLength: 1, maxLength: 4 }),
    })
    .chain(({ types, statuses }) =>
      fc.uniqueArray(drawArb(types, statuses).map(deliveryOf), {
        minLength: 1,
        maxLength: maxEvents,
        selector: (d) => d.event.id,
      }),
    )
    .chain((unique) =>
      fc
        .tuple(
          fc.subarray(unique, { maxLength: Math.min(4, unique.length) }),
          fc.integer({ min: 1, max: 90_000 }),
        )
        .map(([again, lateMs]) => [
          ...unique,
          ...again.map((d) => ({
            event: d.event,
            appliedAt: new Date(Date.parse(d.appliedAt) + lateMs).toISOString(),
          })),
        ]),
    )
    .chain((all) => fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length }));

// ---------------------------------------------------------------------------------------
// Policies, overrides, Stripe answers, reading times

const durationArb = fc.oneof(
  fc.constantFrom<PolicyEntry['grace']>(0, 3_600, '90s', '30m', '6h', '1d', '3d', '7d', '90d'),
  fc.integer({ min: 0, max: 90 * DAY }),
  fc
    .tuple(fc.integer({ min: 1, max: 90 }), fc.constantFrom('s', 'm', 'h', 'd'))
    .map(([n, unit]) => `${n}${unit}` as PolicyEntry['grace']),
);

const entryArb = (reason: ConditionReason): fc.Arbitrary<PolicyEntry> =>
  fc.oneof(
    fc.constant<PolicyEntry>({ action: 'warn' }),
    fc.constant<PolicyEntry>({ action: 'ignore' }),
    fc.constant<PolicyEntry>({ action: 'block' }),
    fc
      .record({
        grace: fc.option(durationArb, { nil: undefined }),
        whileRetrying:
          reason === 'payment_failed'
            ? fc.option(fc.boolean(), { nil: undefined })
            : fc.constant(undefined),
      })
      .map(({ grace, whileRetrying }) => ({
        action: 'block' as const,
        ...(grace !== undefined ? { grace } : {}),
        ...(whileRetrying !== undefined ? { whileRetrying } : {}),
      })),
  );

/** A valid policy document and what parsePolicy makes of it. */
export const policyArb: fc.Arbitrary<{ document: PolicyDocument; policy: Policy }> = fc
  .record(
    Object.fromEntries(CONDITION_REASONS.map((r) => [r, entryArb(r)])) as Record<
      ConditionReason,
      fc.Arbitrary<PolicyEntry>
    >,
    { requiredKeys: [] },
  )
  .map((document) => ({ document, policy: parsePolicy(document) }));

/** Operator actions: ids sortable by time, setAt a few hours apart, some expiring. */
export const overridesArb: fc.Arbitrary<ReferenceOverride[]> = fc
  .uniqueArray(
    fc.record({
      n: fc.integer({ min: 1, max: 40 }),
      customer: fc.constantFrom(...CUSTOMERS, CUSTOMERS[0]),
      mode: fc.constantFrom<ReferenceOverride['mode']>('allow', 'deny', null),
      expiresInHours: fc.option(fc.integer({ min: 1, max: 60 * 24 }), { nil: null }),
      ms: fc.nat(999),
    }),
    { maxLength: 4, selector: (r) => r.n },
  )
  .map((records) =>
    records.map(({ n, customer, mode, expiresInHours, ms }) => {
      const setAt = (T0 + n * 3 * HOUR) * 1000 + ms;
      return {
        id: `ovr_${String(setAt).padStart(14, '0')}`,
        customerId: customer,
        mode,
        reason: mode === null ? null : `ticket ${n}`,
        setAt: new Date(setAt).toISOString(),
        expiresAt:
          mode !== null && expiresInHours !== null
            ? Math.floor(setAt / 1000) + expiresInHours * HOUR
            : null,
        actor: 'local:test',
      };
    }),
  );

/** What the Stripe API would answer, consistent with the world; each map holds some entries. */
export const stripeAnswersArb: fc.Arbitrary<NonNullable<ReferenceInput['stripe']>> = (() => {
  const charges: [string, string | null][] = [['ch_G1', null]];
  const intents: [string, string | null][] = [];
  const accounts: [string, string | null][] = [];
  for (const c of CUSTOMERS) {
    const x = ids(c.slice(4));
    for (const n of [1, 2, 3]) charges.push([x.piCharge(n), c]);
    for (const n of [1, 2]) charges.push([x.legacyCharge(n), c]);
    for (const n of [1, 2, 3]) {
      const invoiceNumber = invoiceNumberOfPi(n);
      intents.push([x.paymentIntent(n), invoiceNumber !== null ? x.invoice(invoiceNumber) : null]);
    }
    accounts.push([accountOf(c), c]);
  }
  const some = (entries: [string, string | null][]) =>
    fc.subarray(entries).map((chosen) => Object.fromEntries(chosen));
  return fc.record(
    {
      chargeCustomer: some(charges),
      invoiceOfPaymentIntent: some(intents),
      customerOfAccount: some(accounts),
    },
    { requiredKeys: [] },
  );
})();

const DEC_1 = 1_796_083_200;
const JAN_1 = 1_798_761_600;
/** Reading times: around the events, their grace ends, and the cards' windows and expiries. */
export const nowArb: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    T0,
    T0 + 2 * DAY,
    T0 + 4 * DAY,
    T0 + 8 * DAY,
    DEC_1 - 1,
    DEC_1,
    DEC_1 + DAY,
    JAN_1 - 30 * DAY,
    JAN_1,
    T0 + 95 * DAY,
  ),
  fc.integer({ min: T0 - DAY, max: T0 + 100 * DAY }),
);

/** A whole oracle input: deliveries, overrides, a policy, Stripe answers or none, a time. */
export const revision4InputArb = (maxEvents = 40): fc.Arbitrary<ReferenceInput> =>
  fc
    .record({
      customerId: fc.constantFrom(...CUSTOMERS, CUSTOMERS[0], CUSTOMERS[0]),
      events: deliveriesArb(maxEvents),
      overrides: overridesArb,
      policy: policyArb.map((p) => p.policy),
      now: nowArb,
      expiryWarningDays: fc.constantFrom(30, 30, 14, 1),
      stripe: fc.option(stripeAnswersArb, { nil: undefined }),
    })
    .map(({ stripe, ...rest }) => (stripe !== undefined ? { ...rest, stripe } : rest));
