// Property: the billing status is a function of the SET of applied events. Any delivery
// order, with any duplicates and any commit times, converges to the same record.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildEvent } from '../../bin/stripe-events';
import { deriveBillingStatus } from '../../lambdas/core/billing-status';
import type { AppliedFact, BillingStatus } from '../../lambdas/core/facts';
import { historyOf } from '../../lambdas/core/history';
import { HANDLED_TYPES, registryEntry } from '../../lambdas/core/registry';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { CUSTOMER, applied } from '../support/derive';

const OBJECT_IDS: Record<string, string[]> = {
  payment_intent: ['pi_1', 'pi_2'],
  charge: ['ch_1', 'ch_2'],
  invoice: ['in_1', 'in_2'],
  dispute: ['dp_1'],
  payment_method: ['pm_1', 'pm_2'],
  source: ['card_1', 'card_2'],
  subscription: ['sub_1'],
  customer: [CUSTOMER],
};
const SUB_STATUSES = [
  'incomplete',
  'trialing',
  'active',
  'paused',
  'past_due',
  'unpaid',
  'canceled',
];
const DISPUTE_STATUSES = ['needs_response', 'under_review', 'won', 'lost', 'warning_closed'];

const eventArb: fc.Arbitrary<StripeEvent> = fc
  .record({
    type: fc.constantFrom(...HANDLED_TYPES),
    objectIndex: fc.nat(1),
    created: fc.integer({ min: 1000, max: 1006 }), // a small range: ties are frequent
    subStatus: fc.constantFrom(...SUB_STATUSES),
    prevStatus: fc.option(fc.constantFrom(...SUB_STATUSES), { nil: null }),
    disputeStatus: fc.constantFrom(...DISPUTE_STATUSES),
    chargePi: fc.option(fc.constantFrom('pi_1', 'pi_2'), { nil: null }),
    expMonth: fc.integer({ min: 1, max: 12 }),
    expYear: fc.integer({ min: 2026, max: 2027 }),
    n: fc.nat(1_000_000),
  })
  .map((r) => {
    const kind = registryEntry(r.type)!.kind;
    const ids = OBJECT_IDS[kind]!;
    const id = ids[r.objectIndex % ids.length]!;
    const object: Record<string, unknown> = { id };
    if (kind === 'subscription') object.status = r.subStatus;
    if (kind === 'dispute') object.status = r.disputeStatus;
    if (kind === 'charge') object.payment_intent = r.chargePi;
    if (kind === 'source') Object.assign(object, { exp_month: r.expMonth, exp_year: r.expYear });
    if (kind === 'payment_method') {
      object.card = { brand: 'visa', last4: '4242', exp_month: r.expMonth, exp_year: r.expYear };
    }
    return buildEvent(r.type, {
      id: `evt_${String(r.n).padStart(7, '0')}`,
      created: r.created,
      customer: CUSTOMER,
      object,
      ...(kind === 'subscription' && r.prevStatus
        ? { previousAttributes: { status: r.prevStatus } }
        : {}),
    });
  });

// Distinct ids: two different events never share an id.
const eventSetArb = fc.uniqueArray(eventArb, {
  minLength: 1,
  maxLength: 25,
  selector: (e) => e.id,
});

const NOW = Date.UTC(2026, 10, 22) / 1000;

function derive(
  facts: AppliedFact[],
): Omit<BillingStatus, 'lastEventId' | 'updatedAt' | 'livemode'> {
  const s = deriveBillingStatus({
    customerId: CUSTOMER,
    facts,
    overrides: [],
    now: NOW,
    expiryWarningDays: 30,
  })!;
  const { lastEventId: _l, updatedAt: _u, livemode: _m, ...rest } = s;
  return rest;
}

describe('convergence', () => {
  it('gives the same status for any delivery order, duplicates and commit times', () => {
    fc.assert(
      fc.property(
        eventSetArb,
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.integer(),
        (events, duplicateIdx, seed) => {
          // Oracle: the events applied in created order, one commit each.
          const inCreatedOrder = [...events].sort((a, b) => a.created - b.created);
          const expected = derive(inCreatedOrder.map((e) => applied(e)));
          // Hostile delivery: shuffled, with duplicates, arbitrary commit times.
          const delivered = [...events, ...duplicateIdx.map((i) => events[i % events.length]!)];
          let x = seed;
          const rand = () => (x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
          for (let i = delivered.length - 1; i > 0; i--) {
            const j = Math.floor(rand() * (i + 1));
            [delivered[i], delivered[j]] = [delivered[j]!, delivered[i]!];
          }
          const facts = delivered.map((e, i) =>
            applied(e, CUSTOMER, new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString()),
          );
          expect(derive(facts)).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('lists each applied event exactly once in the history, whatever the duplicates', () => {
    fc.assert(
      fc.property(eventSetArb, fc.array(fc.nat(), { maxLength: 10 }), (events, dup) => {
        const facts = [...events, ...dup.map((i) => events[i % events.length]!)].map((e) =>
          applied(e),
        );
        const history = historyOf(facts, []);
        expect(history.map((h) => h.id).sort()).toEqual(events.map((e) => e.id).sort());
      }),
      { numRuns: 200 },
    );
  });
});
