// The random inputs of test/support/revision4-arbitraries.ts cover what they promise: every
// handled type, the payload shapes on both sides of 2025-03-31.basil, the revision 4 fields,
// valid policies; and the oracle answers them the same whatever the delivery order.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HANDLED_TYPES } from '../../lambdas/core/registry';
import { parsePolicy } from '../../lambdas/core/policy';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { referenceStatus } from '../support/reference-status';
import {
  CUSTOMERS,
  deliveryArb,
  nowArb,
  overridesArb,
  policyArb,
  revision4InputArb,
  type Delivery,
} from '../support/revision4-arbitraries';

type Json = Record<string, unknown>;
const objectOf = (e: StripeEvent) => e.data.object as Json;
const SEED = 4242;

describe('revision 4 arbitraries', () => {
  const deliveries: Delivery[] = fc.sample(deliveryArb, { numRuns: 4000, seed: SEED });
  const events = deliveries.map((d) => d.event);
  const some = (test: (e: StripeEvent, o: Json) => boolean) =>
    events.some((e) => test(e, objectOf(e)));

  it('draw events of every handled type, invoice.overdue and invoice_payment.paid included', () => {
    // Prepare
    const wanted = [...HANDLED_TYPES, 'invoice.overdue', 'invoice_payment.paid'];

    // Act
    const drawn = new Set(events.map((e) => e.type));

    // Assess
    expect(wanted.filter((t) => !drawn.has(t))).toEqual([]);
  });

  it('draw the payload shapes of API versions before and after basil', () => {
    // Prepare
    const pre = (e: StripeEvent) => String(e.api_version) < '2025-03-31';

    // Act
    const shapes = {
      chargesList: some((e, o) => e.type.startsWith('payment_intent.') && 'charges' in o),
      latestCharge: some(
        (e, o) => e.type.startsWith('payment_intent.') && typeof o.latest_charge === 'string',
      ),
      piInvoice: some(
        (e, o) => pre(e) && typeof o.invoice === 'string' && o.object === 'payment_intent',
      ),
      chargeInvoice: some(
        (e, o) => pre(e) && typeof o.invoice === 'string' && o.object === 'charge',
      ),
      invoicePi: some(
        (e, o) => pre(e) && o.object === 'invoice' && typeof o.payment_intent === 'string',
      ),
      invoicePaid: some((e, o) => pre(e) && o.object === 'invoice' && o.paid === true),
      invoiceParent: some(
        (e, o) =>
          !pre(e) &&
          o.object === 'invoice' &&
          !('payment_intent' in o) &&
          !('paid' in o) &&
          'parent' in o,
      ),
      invoicePayment: some((e, o) => o.object === 'invoice_payment' && 'payment' in o),
    };

    // Assess
    expect(Object.entries(shapes).filter(([, seen]) => !seen)).toEqual([]);
  });

  it('draw the fields revision 4 reads', () => {
    // Act
    const reason = (o: Json) =>
      ((o.status_details as Json | undefined)?.uncollectible as Json | undefined)?.reason;
    const fields = {
      pausedUncollectible: some((_e, o) => reason(o) === 'subscription_paused'),
      otherUncollectible: some((_e, o) => reason(o) === 'user_forgiven'),
      retrying: some(
        (_e, o) => o.object === 'invoice' && typeof o.next_payment_attempt === 'number',
      ),
      attempts: some((_e, o) => o.object === 'invoice' && Number(o.attempt_count) > 1),
      sendInvoice: some(
        (e, o) => e.type === 'invoice.overdue' && o.collection_method === 'send_invoice',
      ),
      pastDue: some((_e, o) => o.object === 'subscription' && o.status === 'past_due'),
      unpaid: some((_e, o) => o.object === 'subscription' && o.status === 'unpaid'),
      previousStatus: some((e) => typeof e.data.previous_attributes?.status === 'string'),
      accountOnly: some((_e, o) => o.customer === null && typeof o.customer_account === 'string'),
      bothIds: some(
        (_e, o) => typeof o.customer === 'string' && typeof o.customer_account === 'string',
      ),
      customerWithAccount: some(
        (e, o) =>
          e.type.startsWith('customer.') && o.object === 'customer' && 'customer_account' in o,
      ),
      detachWithPrevious: some(
        (e) => e.type === 'payment_method.detached' && e.data.previous_attributes !== undefined,
      ),
      detachWithout: some(
        (e) => e.type === 'payment_method.detached' && e.data.previous_attributes === undefined,
      ),
      guest: some(
        (e, o) =>
          e.type.startsWith('payment_intent.') &&
          o.customer === null &&
          !('customer_account' in o && o.customer_account),
      ),
      connect: some((e) => typeof e.account === 'string'),
      hostileId: some((e) => e.id.includes('#')),
    };

    // Assess
    expect(Object.entries(fields).filter(([, seen]) => !seen)).toEqual([]);
  });

  it('draw valid policy documents, with grace, whileRetrying, warn and ignore', () => {
    // Prepare
    const drawn = fc.sample(policyArb, { numRuns: 300, seed: SEED });

    // Act: each document read again from its JSON text, as a deployment would.
    const reparsed = drawn.map(({ document }) => parsePolicy(JSON.parse(JSON.stringify(document))));

    // Assess
    expect(reparsed).toStrictEqual(drawn.map((d) => d.policy));
    const rules = drawn.flatMap((d) => Object.values(d.policy));
    expect(rules.some((r) => r.grace !== null && r.grace > 0)).toBe(true);
    expect(rules.some((r) => r.whileRetrying)).toBe(true);
    expect(rules.some((r) => r.action === 'ignore')).toBe(true);
    expect(rules.some((r) => r.action === 'warn')).toBe(true);
  });

  it('draw overrides that expire and reading times on both sides of their expiry', () => {
    // Prepare
    const overrides = fc.sample(overridesArb, { numRuns: 300, seed: SEED }).flat();
    const nows = fc.sample(nowArb, { numRuns: 300, seed: SEED });

    // Act
    const expiries = overrides.flatMap((o) => (o.expiresAt !== null ? [o.expiresAt] : []));

    // Assess
    expect(expiries.length).toBeGreaterThan(0);
    expect(overrides.some((o) => o.mode === null)).toBe(true);
    expect(expiries.some((x) => nows.some((n) => n >= x))).toBe(true);
    expect(expiries.some((x) => nows.some((n) => n < x))).toBe(true);
  });

  it('make the rules meet: the oracle opens every kind of condition over a few hundred inputs', () => {
    // Prepare
    const inputs = fc.sample(revision4InputArb(), { numRuns: 400, seed: SEED });

    // Act
    const statuses = inputs.map((input) => referenceStatus(input));
    const reasons = new Set(
      statuses.flatMap((s) => (s ? [...s.blockers, ...s.warnings].map((c) => c.reason) : [])),
    );

    // Assess
    expect(
      [
        'payment_failed',
        'invoice_uncollectible',
        'invoice_overdue',
        'dispute_open',
        'subscription_past_due',
        'subscription_unpaid',
        'subscription_paused',
        'customer_deleted',
        'operator_deny',
        'payment_action_required',
        'payment_method_expiring',
        'no_valid_payment_method',
      ].filter((r) => !reasons.has(r as never)),
    ).toEqual([]);
    expect(statuses.some((s) => s?.customerAccount !== undefined)).toBe(true);
    expect(statuses.some((s) => s?.blockers.some((c) => c.blocksAt !== undefined))).toBe(true);
    expect(statuses.some((s) => s?.nextChangeAt !== null)).toBe(true);
  });
});

describe('the oracle over random inputs', () => {
  it('answers the same for any delivery order and any later duplicate', () => {
    fc.assert(
      fc.property(
        revision4InputArb().chain((input) =>
          fc
            .shuffledSubarray([...input.events], {
              minLength: input.events.length,
              maxLength: input.events.length,
            })
            .map((shuffled) => ({ input, shuffled })),
        ),
        ({ input, shuffled }) => {
          // Prepare
          const duplicated = [
            ...input.events,
            ...input.events.map((d) => ({
              event: d.event,
              appliedAt: new Date(Date.parse(d.appliedAt) + 1).toISOString(),
            })),
          ];

          // Act
          const a = referenceStatus(input);
          const b = referenceStatus({ ...input, events: shuffled });
          const c = referenceStatus({ ...input, events: duplicated });

          // Assess
          expect(b).toStrictEqual(a);
          expect(c).toStrictEqual(a);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('derives two thousand events of three customers and a guest', () => {
    // Prepare
    const [events] = fc.sample(
      fc.uniqueArray(deliveryArb, {
        minLength: 2000,
        maxLength: 2000,
        selector: (d) => d.event.id,
      }),
      { numRuns: 1, seed: SEED },
    );

    // Act
    const statuses = CUSTOMERS.map((customerId) =>
      referenceStatus({
        customerId,
        events: events!,
        overrides: [],
        policy: parsePolicy({}),
        now: 1_793_491_200 + 86_400,
        expiryWarningDays: 30,
      }),
    );

    // Assess: every customer was named; their conditions are listed in order.
    for (const s of statuses) {
      expect(s).not.toBeNull();
      const sinces = s!.blockers.map((b) => b.since);
      expect(sinces).toEqual([...sinces].sort((x, y) => x - y));
    }
  });
});
