// Property: the status read from the billing-status item equals the full derivation over all
// stored facts, whatever the delivery order, duplicates, interleaved overrides and crashes
// between the fact write and the status write (repaired when the message is redelivered):
// docs/behaviour.md#status-at-constant-cost.
// The revision-4 oracle (test/support/reference-status.ts), which reads the raw events, is a
// second, independent check. Real concurrency against DynamoDB Local is in
// test/integration/status-item.property.test.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  STATUS_ITEM_FORMAT,
  decodeStatusItem,
  encodeAccount,
  encodeCommit,
  encodeDeleted,
  encodeLastStripe,
  encodeOverride,
  entryAttribute,
  listedAttribute,
  slotValue,
  type Item,
} from '../../lambdas/adapters/status-item';
import { STATUS_ATTR } from '../../lambdas/adapters/table-layout';
import {
  DEFAULT_STATUS_SETTINGS,
  deriveBillingStatus,
  statusFromRecord,
} from '../../lambdas/core/billing-status';
import type { EntryKind, InvoiceLink } from '../../lambdas/core/entries';
import type { AppliedFact, OverrideRecord } from '../../lambdas/core/facts';
import { refoldsEntry, ruleForType } from '../../lambdas/core/rules';
import {
  EMPTY_RECORD,
  applyObjectFacts,
  applyOverride,
  entryObjectId,
  type StatusRecord,
} from '../../lambdas/core/status-record';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { CUSTOMER, linksOf } from '../support/derive';
import { NOWS, appliedAtArb, eventSetArb, overridesArb } from '../support/event-arbitraries';
import { referenceStatus } from '../support/reference-status';

const SETTINGS = DEFAULT_STATUS_SETTINGS;

/**
 * The record as it would be written to the item and read back: every entry in its own
 * attribute and each customer-level value in its own, as the writer's rebuild puts them.
 */
function throughItem(record: StatusRecord): StatusRecord {
  const item: Item = { [STATUS_ATTR.format]: { N: String(STATUS_ITEM_FORMAT) } };
  const listed = new Map<EntryKind, number>();
  for (const [key, entry] of record.entries) {
    item[entryAttribute(entry.kind, entryObjectId(key))] = slotValue(1, 0, entry);
    listed.set(entry.kind, (listed.get(entry.kind) ?? 0) + 1);
  }
  for (const [kind, n] of listed) item[listedAttribute(kind)] = { N: String(n) };
  const put = (name: string, value: string | null) => {
    if (value !== null) item[name] = { S: value };
  };
  put(STATUS_ATTR.lastCommit, record.lastCommit && encodeCommit(record.lastCommit));
  put(STATUS_ATTR.lastStripe, record.lastStripe && encodeLastStripe(record.lastStripe));
  put(STATUS_ATTR.deleted, record.deleted && encodeDeleted(record.deleted));
  put(STATUS_ATTR.account, record.customerAccount && encodeAccount(record.customerAccount));
  put(STATUS_ATTR.override, record.override && encodeOverride(record.override));
  if (record.latestSuccess !== null) {
    item[STATUS_ATTR.latestSuccess] = { N: String(record.latestSuccess) };
  }
  return decodeStatusItem(item).record;
}

type Delivery =
  | { kind: 'event'; event: StripeEvent; appliedAt: string; crash: boolean }
  | { kind: 'override'; override: OverrideRecord };

const scenarioArb = fc
  .record({ events: eventSetArb, overrides: overridesArb })
  .chain(({ events, overrides }) =>
    fc
      .record({
        // Every event at least once, some again (Stripe's retries), each with its own commit
        // time (only the first delivery's is kept) and sometimes a crash after the fact write.
        repeats: fc.array(fc.nat(events.length - 1), { maxLength: events.length }),
        times: fc.array(appliedAtArb, {
          minLength: 2 * events.length,
          maxLength: 2 * events.length,
        }),
        crashes: fc.array(fc.boolean(), {
          minLength: 2 * events.length,
          maxLength: 2 * events.length,
        }),
      })
      .chain(({ repeats, times, crashes }) => {
        const deliveries: Delivery[] = [
          ...[...events, ...repeats.map((i) => events[i]!)].map((event, i) => ({
            kind: 'event' as const,
            event,
            appliedAt: times[i]!,
            crash: crashes[i]!,
          })),
          ...overrides.map((override) => ({ kind: 'override' as const, override })),
        ];
        return fc
          .shuffledSubarray(deliveries, { minLength: deliveries.length })
          .map((order) => ({ overrides, order }));
      }),
  );

/**
 * When each event is committed: the first delivery's commit time (the fact write comes before
 * any crash). An invoice payment names no customer: it waits (is parked) until an event
 * reveals its PaymentIntent's customer, and is committed then, so at the later of its own
 * time and the earliest commit of a revealing event; never, when none does. The delivery
 * order stands in for when the parked event is released: the fold does not depend on it.
 */
function commitTimes(order: readonly Delivery[]): Map<string, string> {
  const arrival = new Map<string, { event: StripeEvent; at: string }>();
  for (const d of order) {
    if (d.kind === 'event' && !arrival.has(d.event.id)) {
      arrival.set(d.event.id, { event: d.event, at: d.appliedAt });
    }
  }
  const revealedAt = new Map<string, number>();
  for (const { event, at } of arrival.values()) {
    for (const key of ruleForType(event.type)!.revealKeys(event)) {
      revealedAt.set(key, Math.min(revealedAt.get(key) ?? Infinity, Date.parse(at)));
    }
  }
  const times = new Map<string, string>();
  for (const [id, { event, at }] of arrival) {
    const resolution = ruleForType(event.type)!.resolveCustomer(event);
    if (resolution.kind !== 'lookup' || event.type.startsWith('charge.dispute.')) {
      // Disputes: the processor asks Stripe for the charge's customer at once.
      times.set(id, at);
      continue;
    }
    const known = Math.min(...resolution.keys.map((k) => revealedAt.get(k) ?? Infinity));
    if (known === Infinity) continue;
    times.set(id, new Date(Math.max(Date.parse(at), known)).toISOString());
  }
  return times;
}

/**
 * What the processors do, one delivery at a time: the first delivery stores the fact and the
 * invoice links its event carries; every delivery that does not crash folds the event's
 * object (all its stored facts and links) into the record, and every payment it links. A
 * crashed delivery's message comes back, so it is delivered again at the end. An operator
 * action is stored and folded at once; the overrides returned are the ones stored.
 */
function simulate(order: readonly Delivery[]) {
  const times = commitTimes(order);
  const stored = new Map<string, AppliedFact>();
  const links: InvoiceLink[] = [];
  let record: StatusRecord = EMPTY_RECORD;
  const redeliver: Delivery[] = [];
  const factsOf = (objectId: string) => [...stored.values()].filter((f) => f.objectId === objectId);
  const linksOfObject = (objectId: string) => links.filter((l) => l.payment === objectId);
  const overrides: OverrideRecord[] = [];
  const deliver = (d: Delivery, mayCrash: boolean) => {
    if (d.kind === 'override') {
      // A clear of a customer without a record is refused (a 404): nothing is stored.
      if (d.override.mode === null && stored.size === 0 && overrides.length === 0) return;
      overrides.push(d.override);
      record = throughItem(applyOverride(record, d.override));
      return;
    }
    const appliedAt = times.get(d.event.id);
    if (appliedAt === undefined) return; // parked for good: its customer is never known
    const fact = ruleForType(d.event.type)!.toFact(d.event);
    const own = linksOf(d.event);
    if (!stored.has(fact.eventId)) {
      stored.set(fact.eventId, { ...fact, customerId: CUSTOMER, appliedAt });
      for (const l of own) {
        if (!links.some((k) => k.payment === l.payment && k.invoice === l.invoice)) links.push(l);
      }
    }
    if (mayCrash && d.crash) {
      redeliver.push(d);
      return;
    }
    const committed = stored.get(fact.eventId)!;
    const refold = refoldsEntry(committed);
    let next = applyObjectFacts(
      record,
      fact.objectId,
      refold ? factsOf(fact.objectId) : [committed],
      {
        refold,
        links: linksOfObject(fact.objectId),
      },
    );
    for (const payment of new Set(own.map((l) => l.payment))) {
      if (payment === fact.objectId) continue;
      next = applyObjectFacts(next, payment, factsOf(payment), { links: linksOfObject(payment) });
    }
    record = throughItem(next);
  };
  for (const d of order) deliver(d, true);
  for (const d of redeliver) deliver(d, false);
  // What the reference reads: every event Stripe sent, at its own first commit time.
  const sent = new Map<string, { event: StripeEvent; appliedAt: string }>();
  for (const d of order) {
    if (d.kind === 'event' && !sent.has(d.event.id)) {
      sent.set(d.event.id, { event: d.event, appliedAt: d.appliedAt });
    }
  }
  return { record, facts: [...stored.values()], links, overrides, sent: [...sent.values()] };
}

/** What Stripe answers about a dispute's charge: every charge here is the customer's. */
function chargeCustomers(events: readonly { event: StripeEvent }[]): Record<string, string> {
  const answers: Record<string, string> = {};
  for (const { event } of events) {
    const charge = event.data.object.charge;
    if (event.type.startsWith('charge.dispute.') && typeof charge === 'string') {
      answers[charge] = CUSTOMER;
    }
  }
  return answers;
}

describe('the billing-status item', () => {
  it('gives the status of the full derivation, for any order, duplicates and crashes', () => {
    fc.assert(
      fc.property(scenarioArb, ({ order }) => {
        const { record, facts, links, overrides, sent } = simulate(order);
        for (const now of NOWS) {
          const derived = deriveBillingStatus({
            customerId: CUSTOMER,
            facts,
            links,
            overrides,
            now,
            settings: SETTINGS,
          });
          const reference = referenceStatus({
            customerId: CUSTOMER,
            events: sent,
            overrides,
            policy: SETTINGS.policy,
            now,
            expiryWarningDays: SETTINGS.expiryWarningDays,
            stripe: { chargeCustomer: chargeCustomers(sent) },
          });
          if (facts.length === 0 && overrides.length === 0) {
            // Only events still waiting for their customer: no record, no item (a 404).
            expect(derived).toBeNull();
            expect(reference).toBeNull();
            continue;
          }
          const fromItem = statusFromRecord(CUSTOMER, record, now, SETTINGS);
          expect(fromItem).toEqual(derived);
          expect(fromItem).toEqual(reference);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('keeps only what is open: a settled object leaves no entry behind', () => {
    fc.assert(
      fc.property(scenarioArb, ({ order }) => {
        const { record } = simulate(order);
        for (const [key, entry] of record.entries) {
          // Every entry but a payment method yields a condition at some reading time, or
          // would be dropped.
          if (entry.kind === 'method') continue;
          const status = statusFromRecord(CUSTOMER, record, NOWS[0]!, SETTINGS);
          const objectId = key.slice(key.indexOf(':') + 1);
          const named = [...status.blockers, ...status.warnings].some(
            (c) => c.objectId === objectId,
          );
          expect(named).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
});
