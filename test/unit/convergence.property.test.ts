// Property: the billing status is a function of the SET of applied events and overrides.
// Any delivery order, with any duplicates and any commit times, converges to the same
// conditions and payment methods. The fields that describe the record itself follow the
// commits: `updatedAt` is the last commit, `lastEventId` the event or override committed
// last, `livemode` that of the last committed event; for the same stored facts with their
// commit times, the input order never changes them either (docs/behaviour.md#guarantees).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildEvent } from '../../bin/events/stripe-events';
import { DEFAULT_STATUS_SETTINGS, deriveBillingStatus } from '../../lambdas/core/billing-status';
import type { InvoiceLink } from '../../lambdas/core/entries';
import type { AppliedFact, BillingStatus, OverrideRecord } from '../../lambdas/core/facts';
import { historyOf } from '../../lambdas/core/history';
import { HANDLED_TYPES } from '../../lambdas/core/registry';
import { ruleForType } from '../../lambdas/core/rules';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { CUSTOMER, applied, linksOf } from '../support/derive';

/** The invoice links the events carry, as the processors record them (each once). */
const linksOfAll = (events: readonly StripeEvent[]): InvoiceLink[] => {
  const links = new Map<string, InvoiceLink>();
  for (const l of events.flatMap(linksOf)) links.set(`${l.payment}|${l.invoice}`, l);
  return [...links.values()];
};
import {
  NOWS,
  SUB_STATUSES,
  appliedAtArb,
  eventSetArb,
  overridesArb,
} from '../support/event-arbitraries';

type Comparable = Omit<BillingStatus, 'lastEventId' | 'updatedAt' | 'livemode'>;

function derive(
  facts: readonly AppliedFact[],
  overrides: readonly OverrideRecord[],
  now: number,
  links: readonly InvoiceLink[] = [],
): BillingStatus {
  return deriveBillingStatus({
    customerId: CUSTOMER,
    facts,
    overrides,
    links,
    now,
    settings: DEFAULT_STATUS_SETTINGS,
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
          linksOfAll(d.events),
        );
        const facts = d.delivered.map((e, i) => applied(e, CUSTOMER, d.appliedAts[i]));
        const links = linksOfAll(d.delivered).reverse();
        expect(comparable(derive(facts, d.overrideOrder, d.now, links))).toEqual(
          comparable(expected),
        );
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
        const links = linksOfAll(d.delivered);
        expect(derive(reread, overrideOrder, d.now, [...links].reverse())).toEqual(
          derive(stored, d.overrides, d.now, links),
        );
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
