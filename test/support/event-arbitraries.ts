// Random Stripe event sets for property tests: a few objects per kind, created times in a
// small range (ties are frequent), statuses that sometimes disagree with the event type,
// operator actions and commit times drawn from a few instants.
import fc from 'fast-check';
import { buildEvent } from '../../bin/events/stripe-events';
import type { OverrideRecord } from '../../lambdas/core/facts';
import { HANDLED_TYPES, registryEntry } from '../../lambdas/core/registry';
import type { StripeEvent, StripeObject } from '../../lambdas/core/stripe-event';
import { CUSTOMER } from './derive';

const OBJECT_IDS: Record<string, string[]> = {
  payment_intent: ['pi_1', 'pi_2', 'pi_3'],
  charge: ['ch_1', 'ch_2', 'ch_3'],
  invoice: ['in_1', 'in_2'],
  invoice_payment: ['inpay_1', 'inpay_2'],
  dispute: ['dp_1', 'dp_2'],
  payment_method: ['pm_1', 'pm_2'],
  source: ['card_1', 'src_1', 'ba_1'],
  subscription: ['sub_1', 'sub_2'],
  customer: [CUSTOMER],
};
export const SUB_STATUSES = [
  'incomplete',
  'trialing',
  'active',
  'paused',
  'past_due',
  'unpaid',
  'canceled',
  'incomplete_expired',
];
const DISPUTE_STATUSES = [
  'warning_needs_response',
  'needs_response',
  'under_review',
  'won',
  'lost',
  'warning_closed',
  'prevented',
];
const PI_STATUSES = ['requires_payment_method', 'processing', 'succeeded', 'canceled'];
const INVOICE_STATUSES = ['open', 'paid', 'void', 'uncollectible'];

// Around the expiry instants of the expiries drawn below (Oct-Dec 2026), so that expired,
// expiring and active all happen.
export const NOWS = [Date.UTC(2026, 9, 15), Date.UTC(2026, 10, 1), Date.UTC(2026, 11, 20)].map(
  (ms) => ms / 1000,
);

/** The object of a method event, in the shape its id prefix implies. */
function methodObject(id: string, expiry: { month: number; year: number } | null): StripeObject {
  const exp = expiry ? { exp_month: expiry.month, exp_year: expiry.year } : {};
  if (id.startsWith('pm_')) return { id, card: { brand: 'visa', last4: '4242', ...exp } };
  if (id.startsWith('src_')) {
    return { id, object: 'source', type: 'card', card: { brand: 'Visa', last4: '5556', ...exp } };
  }
  if (id.startsWith('ba_')) return { id, object: 'bank_account', last4: '6789' };
  return { id, object: 'card', brand: 'MasterCard', last4: '4444', ...exp };
}

export const eventArb = (
  types: readonly string[],
  subStatuses: readonly string[],
  latest: number,
  livemode: fc.Arbitrary<boolean>,
): fc.Arbitrary<StripeEvent> =>
  fc
    .record({
      type: fc.constantFrom(...types),
      objectIndex: fc.nat(2),
      created: fc.integer({ min: 1000, max: latest }), // a small range: ties are frequent
      subStatus: fc.constantFrom(...subStatuses),
      prevStatus: fc.option(fc.constantFrom(...subStatuses), { nil: null }),
      disputeStatus: fc.constantFrom(...DISPUTE_STATUSES),
      disputeCharge: fc.constantFrom('ch_1', 'ch_2'),
      chargePi: fc.option(fc.constantFrom('pi_1', 'pi_2'), { nil: null }),
      // An invoice payment links one of the PaymentIntents to one of the invoices.
      paidInvoice: fc.constantFrom('in_1', 'in_2'),
      paidPi: fc.constantFrom('pi_1', 'pi_2'),
      // Sometimes an object whose status disagrees with its event type (a stale or late read).
      piStatus: fc.option(fc.constantFrom(...PI_STATUSES), { nil: null, freq: 3 }),
      invoiceStatus: fc.option(fc.constantFrom(...INVOICE_STATUSES), { nil: null, freq: 3 }),
      expiry: fc.option(
        fc.record({ month: fc.integer({ min: 10, max: 12 }), year: fc.constant(2026) }),
        { nil: null, freq: 5 },
      ),
      n: fc.nat(1_000_000),
      livemode,
    })
    .map((r) => {
      const kind = registryEntry(r.type)!.kind;
      const ids = OBJECT_IDS[kind]!;
      const id = ids[r.objectIndex % ids.length]!;
      let object: StripeObject = { id };
      if (kind === 'subscription') object.status = r.subStatus;
      if (kind === 'dispute') {
        Object.assign(object, { status: r.disputeStatus, charge: r.disputeCharge });
      }
      if (kind === 'charge') object.payment_intent = r.chargePi;
      if (kind === 'payment_intent' && r.piStatus) object.status = r.piStatus;
      if (kind === 'invoice' && r.invoiceStatus) object.status = r.invoiceStatus;
      if (kind === 'payment_method' || kind === 'source') object = methodObject(id, r.expiry);
      return buildEvent(r.type, {
        id: `evt_${String(r.n).padStart(7, '0')}`,
        created: r.created,
        livemode: r.livemode,
        customer: CUSTOMER,
        ...(kind === 'invoice_payment'
          ? { invoiceId: r.paidInvoice, paymentIntentId: r.paidPi }
          : {}),
        object,
        ...(kind === 'subscription' && r.prevStatus
          ? { previousAttributes: { status: r.prevStatus } }
          : {}),
      });
    });

const KINDS = [...new Set(HANDLED_TYPES.map((t) => registryEntry(t)!.kind))];

// Each run draws its events from a few object kinds (sometimes all), so that events of the
// same object meet often: that is where ties and order effects live. Distinct ids: two
// different events never share an id.
export const eventSetArb = fc
  .record({
    kinds: fc.oneof(
      { weight: 3, arbitrary: fc.subarray(KINDS, { minLength: 1, maxLength: 2 }) },
      { weight: 1, arbitrary: fc.constant(KINDS) },
    ),
    // A few subscription statuses per run: equal statuses and cycles of previous statuses
    // (active <- past_due <- unpaid <- active) then happen often enough to be tested.
    subStatuses: fc.subarray(SUB_STATUSES, { minLength: 1, maxLength: 3 }),
    // Sometimes every event in the same second or two.
    latest: fc.constantFrom(1000, 1001, 1004),
    // A customer lives in one mode; a mixed set checks that the last commit decides.
    mode: fc.constantFrom<'test' | 'live' | 'mixed'>('test', 'live', 'mixed'),
  })
  .chain(({ kinds, subStatuses, latest, mode }) =>
    fc.uniqueArray(
      eventArb(
        HANDLED_TYPES.filter((t) => kinds.includes(registryEntry(t)!.kind)),
        subStatuses,
        latest,
        mode === 'mixed' ? fc.boolean() : fc.constant(mode === 'live'),
      ),
      { minLength: 1, maxLength: 30, selector: (e) => e.id },
    ),
  );

// Operator actions, with setAt drawn from a few instants so that ties happen.
export const overridesArb: fc.Arbitrary<OverrideRecord[]> = fc.uniqueArray(
  fc.record({
    id: fc.integer({ min: 1, max: 99 }).map((i) => `ovr_${String(i).padStart(2, '0')}`),
    customerId: fc.constant(CUSTOMER),
    mode: fc.constantFrom<OverrideRecord['mode']>('allow', 'deny', null),
    reason: fc.constantFrom('ticket 1', 'ticket 2'),
    setAt: fc
      .integer({ min: 0, max: 3 })
      .map((s) => new Date(Date.UTC(2026, 0, 1) + s * 1000).toISOString()),
    expiresAt: fc.constant(null),
    actor: fc.constant('local:test'),
  }),
  { maxLength: 4, selector: (o) => o.id },
);

/** A commit time from a small range: equal appliedAt values are frequent. */
export const appliedAtArb = fc
  .integer({ min: 0, max: 5 })
  .map((ms) => new Date(Date.UTC(2026, 0, 1) + ms * 250).toISOString());
