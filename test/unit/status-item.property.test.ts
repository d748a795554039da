// Property: the status read from the billing-status item equals the full derivation over all
// stored facts, whatever the delivery order, duplicates, interleaved overrides and crashes
// between the fact write and the status write (repaired when the message is redelivered):
// docs/behaviour.md#status-at-constant-cost.
// The first version's monolithic derivation (test/support/reference-derivation.ts) is a second,
// independent oracle. Real concurrency against DynamoDB Local is in
// test/integration/status-item.property.test.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeStatusItem,
  encodeCommit,
  encodeOverride,
  encodeState,
  type Item,
} from '../../lambdas/adapters/status-item';
import { deriveBillingStatus, statusFromRecord } from '../../lambdas/core/billing-status';
import type { AppliedFact, OverrideRecord } from '../../lambdas/core/facts';
import { ruleForType } from '../../lambdas/core/rules';
import {
  EMPTY_RECORD,
  applyObjectFacts,
  applyOverride,
  type StatusRecord,
} from '../../lambdas/core/status-record';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { CUSTOMER } from '../support/derive';
import { NOWS, appliedAtArb, eventSetArb, overridesArb } from '../support/event-arbitraries';
import { referenceBillingStatus } from '../support/reference-derivation';

/** The record as it would be written to the item and read back. */
function throughItem(record: StatusRecord): StatusRecord {
  const item: Item = { st: { S: encodeState(record) } };
  if (record.override) item.ov = { S: encodeOverride(record.override) };
  if (record.lastCommit) item.lc = { S: encodeCommit(record.lastCommit) };
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
 * What the processors do, one delivery at a time: the first delivery stores the fact; every
 * delivery that does not crash folds the event's object (all its stored facts) into the
 * record. A crashed delivery's message comes back, so it is delivered again at the end.
 */
function simulate(order: readonly Delivery[]) {
  const stored = new Map<string, AppliedFact>();
  let record: StatusRecord = EMPTY_RECORD;
  const redeliver: Delivery[] = [];
  const deliver = (d: Delivery, mayCrash: boolean) => {
    if (d.kind === 'override') {
      record = throughItem(applyOverride(record, d.override));
      return;
    }
    const rule = ruleForType(d.event.type)!;
    const fact = rule.toFact(d.event);
    if (!stored.has(fact.eventId)) {
      stored.set(fact.eventId, { ...fact, customerId: CUSTOMER, appliedAt: d.appliedAt });
    }
    if (mayCrash && d.crash) {
      redeliver.push(d);
      return;
    }
    const own = stored.get(fact.eventId)!;
    const objectFacts = rule.entryKind
      ? [...stored.values()].filter((f) => f.objectId === fact.objectId)
      : [own];
    record = throughItem(applyObjectFacts(record, fact.objectId, objectFacts));
  };
  for (const d of order) deliver(d, true);
  for (const d of redeliver) deliver(d, false);
  return { record, facts: [...stored.values()] };
}

describe('the billing-status item', () => {
  it('gives the status of the full derivation, for any order, duplicates and crashes', () => {
    fc.assert(
      fc.property(scenarioArb, ({ overrides, order }) => {
        const { record, facts } = simulate(order);
        for (const now of NOWS) {
          const fromItem = statusFromRecord(CUSTOMER, record, now, 30);
          const input = { customerId: CUSTOMER, facts, overrides, now, expiryWarningDays: 30 };
          expect(fromItem).toEqual(deriveBillingStatus(input));
          expect(fromItem).toEqual(referenceBillingStatus(input));
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
          const status = statusFromRecord(CUSTOMER, record, NOWS[0]!, 30);
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
