// Property: the billing status is a function of the SET of applied events and overrides.
// Any delivery order, with any duplicates and any commit times, converges to the same
// conditions and payment methods. The fields that describe the record itself follow the
// commits: `updatedAt` is the last commit, `lastEventId` the event or override committed
// last, `livemode` that of the last committed event; for the same stored facts with their
// commit times, the input order never changes them either.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildEvent } from '../../bin/stripe-events';
import { deriveBillingStatus } from '../../lambdas/core/billing-status';
import type { AppliedFact, BillingStatus, OverrideRecord } from '../../lambdas/core/facts';
import { historyOf } from '../../lambdas/core/history';
import { HANDLED_TYPES, registryEntry } from '../../lambdas/core/registry';
import { ruleForType } from '../../lambdas/core/rules';
import type { StripeEvent, StripeObject } from '../../lambdas/core/stripe-event';
import { CUSTOMER, applied } from '../support/derive';

const OBJECT_IDS: Record<string, string[]> = {
  payment_intent: ['pi_1', 'pi_2', 'pi_3'],
  charge: ['ch_1', 'ch_2', 'ch_3'],
  invoice: ['in_1', 'in_2'],
  dispute: ['dp_1', 'dp_2'],
  payment_method: ['pm_1', 'pm_2'],
  source: ['card_1', 'src_1', 'ba_1'],
  subscription: ['sub_1', 'sub_2'],
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
const NOWS = [Date.UTC(2026, 9, 15), Date.UTC(2026, 10, 1), Date.UTC(2026, 11, 20)].map(
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

const eventArb = (
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
const eventSetArb = fc
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
const overridesArb: fc.Arbitrary<OverrideRecord[]> = fc.uniqueArray(
  fc.record({
    id: fc.integer({ min: 1, max: 99 }).map((i) => `ovr_${String(i).padStart(2, '0')}`),
    customerId: fc.constant(CUSTOMER),
    mode: fc.constantFrom<OverrideRecord['mode']>('allow', 'deny', null),
    reason: fc.constantFrom('ticket 1', 'ticket 2'),
    setAt: fc
      .integer({ min: 0, max: 3 })
      .map((s) => new Date(Date.UTC(2026, 0, 1) + s * 1000).toISOString()),
    actor: fc.constant('local:test'),
  }),
  { maxLength: 4, selector: (o) => o.id },
);

/** A commit time from a small range: equal appliedAt values are frequent. */
const appliedAtArb = fc
  .integer({ min: 0, max: 5 })
  .map((ms) => new Date(Date.UTC(2026, 0, 1) + ms * 250).toISOString());

type Comparable = Omit<BillingStatus, 'lastEventId' | 'updatedAt' | 'livemode'>;

function derive(
  facts: readonly AppliedFact[],
  overrides: readonly OverrideRecord[],
  now: number,
): BillingStatus {
  return deriveBillingStatus({
    customerId: CUSTOMER,
    facts,
    overrides,
    now,
    expiryWarningDays: 30,
  })!;
}

function comparable(s: BillingStatus): Comparable {
  const { lastEventId: _l, updatedAt: _u, livemode: _m, ...rest } = s;
  return rest;
}

/** A hostile delivery: every event at least once, some several times, in any order. */
const deliveryArb = fc
  .tuple(eventSetArb, overridesArb, fc.constantFrom(...NOWS))
  .chain(([events, overrides, now]) =>
    fc.record({
      events: fc.constant(events),
      overrides: fc.constant(overrides),
      now: fc.constant(now),
      duplicates: fc.array(fc.constantFrom(...events), { maxLength: 10 }),
      overrideOrder: fc.shuffledSubarray(overrides, {
        minLength: overrides.length,
        maxLength: overrides.length,
      }),
    }),
  )
  .chain((d) => {
    const delivered = [...d.events, ...d.duplicates];
    return fc.record({
      ...Object.fromEntries(Object.entries(d).map(([k, v]) => [k, fc.constant(v)])),
      delivered: fc.shuffledSubarray(delivered, {
        minLength: delivered.length,
        maxLength: delivered.length,
      }),
      appliedAts: fc.array(appliedAtArb, {
        minLength: delivered.length,
        maxLength: delivered.length,
      }),
    }) as fc.Arbitrary<typeof d & { delivered: StripeEvent[]; appliedAts: string[] }>;
  });

describe('convergence', () => {
  it('gives the same status for any delivery order, duplicates and commit times', () => {
    fc.assert(
      fc.property(deliveryArb, (d) => {
        // Oracle: each event once, in generation order, all committed at the same instant.
        const expected = derive(
          d.events.map((e) => applied(e, CUSTOMER, '2026-01-01T00:00:00.000Z')),
          d.overrides,
          d.now,
        );
        const facts = d.delivered.map((e, i) => applied(e, CUSTOMER, d.appliedAts[i]));
        expect(comparable(derive(facts, d.overrideOrder, d.now))).toEqual(comparable(expected));
      }),
      { numRuns: 500 },
    );
  });

  it('gives the same record, every field, for any input order of the same stored facts', () => {
    // The stored facts are the deliveries with their own commit times: a duplicate is the
    // same event stored again at another time. Only the order they are read in changes.
    const readOrders = deliveryArb.chain((d) =>
      fc.record({
        d: fc.constant(d),
        order: fc.shuffledSubarray([...d.delivered.keys()], {
          minLength: d.delivered.length,
          maxLength: d.delivered.length,
        }),
        overrideOrder: fc.shuffledSubarray(d.overrides, {
          minLength: d.overrides.length,
          maxLength: d.overrides.length,
        }),
      }),
    );
    fc.assert(
      fc.property(readOrders, ({ d, order, overrideOrder }) => {
        const stored = d.delivered.map((e, i) => applied(e, CUSTOMER, d.appliedAts[i]));
        const reread = order.map((i) => stored[i]!);
        expect(derive(reread, overrideOrder, d.now)).toEqual(derive(stored, d.overrides, d.now));
      }),
      { numRuns: 300 },
    );
  });

  it('dates the record from its last commit and takes livemode from the last event committed', () => {
    fc.assert(
      fc.property(deliveryArb, (d) => {
        const facts = d.delivered.map((e, i) => applied(e, CUSTOMER, d.appliedAts[i]));
        // Model: an event is committed once, at its first commit time; the record's last
        // commit is the latest of those and of the overrides, the greater id on a tie.
        const first = new Map<string, AppliedFact>();
        for (const f of facts) {
          const prior = first.get(f.eventId);
          if (!prior || Date.parse(f.appliedAt) < Date.parse(prior.appliedAt)) {
            first.set(f.eventId, f);
          }
        }
        const later = (a: { id: string; at: string }, b: { id: string; at: string }) =>
          Date.parse(a.at) - Date.parse(b.at) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
        const lastOf = <T extends { id: string; at: string }>(xs: T[]): T | undefined =>
          xs.reduce<T | undefined>(
            (best, x) => (!best || later(x, best) > 0 ? x : best),
            undefined,
          );
        // livemode as Stripe sent it in the event, not as the fact recorded it.
        const sentLive = new Map(d.events.map((e) => [e.id, e.livemode]));
        const events = [...first.values()].map((f) => ({
          id: f.eventId,
          at: f.appliedAt,
          live: sentLive.get(f.eventId)!,
        }));
        const lastEvent = lastOf(events);
        const lastCommit = lastOf([
          ...events,
          ...d.overrides.map((o) => ({ id: o.id, at: o.setAt })),
        ]);

        const s = derive(facts, d.overrideOrder, d.now);
        expect({
          lastEventId: s.lastEventId,
          updatedAt: s.updatedAt,
          livemode: s.livemode,
        }).toEqual({
          lastEventId: lastCommit!.id,
          updatedAt: lastCommit!.at,
          livemode: lastEvent?.live ?? false,
        });
      }),
      { numRuns: 300 },
    );
  });

  it('picks the same subscription status and since for any order of same-second events', () => {
    // Focused on the tie rules, whose pairwise relation is not transitive: one subscription,
    // two seconds, non-terminal statuses with and without previous statuses.
    const open = SUB_STATUSES.filter((st) => st !== 'canceled' && st !== 'incomplete_expired');
    const subEvent = fc
      .record({
        type: fc.constantFrom('customer.subscription.created', 'customer.subscription.updated'),
        created: fc.integer({ min: 1000, max: 1001 }),
        status: fc.constantFrom(...open),
        previous: fc.option(fc.constantFrom(...open), { nil: null }),
        n: fc.nat(1_000_000),
      })
      .map((r) =>
        buildEvent(r.type, {
          id: `evt_${String(r.n).padStart(7, '0')}`,
          created: r.created,
          customer: CUSTOMER,
          object: { id: 'sub_1', status: r.status },
          ...(r.previous ? { previousAttributes: { status: r.previous } } : {}),
        }),
      );
    const setAndOrder = fc
      .uniqueArray(subEvent, { minLength: 2, maxLength: 8, selector: (e) => e.id })
      .chain((events) =>
        fc.tuple(
          fc.constant(events),
          fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }),
        ),
      );
    fc.assert(
      fc.property(setAndOrder, ([events, shuffled]) => {
        const at = '2026-01-01T00:00:00.000Z';
        const expected = derive(
          events.map((e) => applied(e, CUSTOMER, at)),
          [],
          NOWS[0]!,
        );
        const actual = derive(
          shuffled.map((e) => applied(e, CUSTOMER, at)),
          [],
          NOWS[0]!,
        );
        expect(actual.blockers).toEqual(expected.blockers);
      }),
      { numRuns: 500 },
    );
  });

  it('is unchanged in every field by exact duplicates of applied facts', () => {
    fc.assert(
      fc.property(deliveryArb, (d) => {
        const facts = d.events.map((e, i) => applied(e, CUSTOMER, d.appliedAts[i]));
        const byId = new Map(facts.map((f) => [f.eventId, f]));
        const withDuplicates = [...facts, ...d.duplicates.map((e) => byId.get(e.id)!)];
        expect(derive(withDuplicates, d.overrides, d.now)).toEqual(
          derive(facts, d.overrides, d.now),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('lists each applied event and override exactly once, sorted by created then id', () => {
    fc.assert(
      fc.property(deliveryArb, (d) => {
        const facts = d.delivered.map((e, i) => applied(e, CUSTOMER, d.appliedAts[i]));
        const history = historyOf(facts, [...d.overrideOrder, ...d.overrideOrder]);
        const ids = history.map((h) => h.id);
        expect([...ids].sort()).toEqual(
          [...d.events.map((e) => e.id), ...d.overrides.map((o) => o.id)].sort(),
        );
        const sorted = [...history].sort(
          (a, b) => a.created - b.created || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
        );
        expect(history).toEqual(sorted);
      }),
      { numRuns: 300 },
    );
  });

  it('derives a status without throwing from facts of events with garbled objects', () => {
    const junk = fc.oneof(fc.constant(null), fc.string(), fc.integer(), fc.boolean());
    const garbled = fc.record({
      type: fc.constantFrom(...HANDLED_TYPES),
      object: fc.dictionary(
        fc.constantFrom('id', 'status', 'customer', 'payment_intent', 'object', 'type', 'card'),
        junk,
      ),
      previous: fc.dictionary(fc.constantFrom('status', 'customer'), junk),
      created: fc.integer({ min: 0, max: 3 }),
      n: fc.nat(1000),
    });
    fc.assert(
      fc.property(
        fc.array(garbled, { minLength: 1, maxLength: 10 }),
        fc.constantFrom(...NOWS),
        (list, now) => {
          const facts = list.map((g, i): AppliedFact => {
            const event: StripeEvent = {
              id: `evt_${g.n}_${i}`,
              object: 'event',
              type: g.type,
              created: g.created,
              livemode: false,
              data: { object: g.object, previous_attributes: g.previous },
            };
            return {
              ...ruleForType(g.type)!.toFact(event),
              customerId: CUSTOMER,
              appliedAt: '2026-01-01T00:00:00.000Z',
            };
          });
          expect(derive(facts, [], now).customerId).toBe(CUSTOMER);
        },
      ),
      { numRuns: 300 },
    );
  });
});
