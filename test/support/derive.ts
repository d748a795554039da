// Test helpers: turn built Stripe events into applied facts and derive a status, exactly as
// the processor and status API do, without the store. Every status `statusOf` returns has
// been computed four ways that must agree: the full derivation, the first version's
// independent derivation (reference-derivation.ts), and the billing-status item folded one
// event at a time in the given order and in the reverse order.
import { expect } from 'vitest';
import { deriveBillingStatus, statusFromRecord } from '../../lambdas/core/billing-status';
import type { AppliedFact, BillingStatus, OverrideRecord } from '../../lambdas/core/facts';
import { refoldsEntry, ruleForType } from '../../lambdas/core/rules';
import {
  EMPTY_RECORD,
  applyObjectFacts,
  applyOverride,
  type StatusRecord,
} from '../../lambdas/core/status-record';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { FIXTURE_CUSTOMER } from '../../bin/events/stripe-events';
import { referenceBillingStatus } from './reference-derivation';

export const CUSTOMER = FIXTURE_CUSTOMER;

export function applied(
  event: StripeEvent,
  customerId = CUSTOMER,
  appliedAt = new Date(event.created * 1000).toISOString(),
): AppliedFact {
  const rule = ruleForType(event.type);
  if (!rule) throw new Error(`no rule for ${event.type}`);
  return { ...rule.toFact(event), customerId, appliedAt };
}

/**
 * The status item as the processors build it: facts committed one at a time in this order,
 * each folding its object's facts committed so far, then the overrides.
 */
export function foldedRecord(
  facts: readonly AppliedFact[],
  overrides: readonly OverrideRecord[],
): StatusRecord | null {
  const committed = new Map<string, AppliedFact>();
  let record: StatusRecord = EMPTY_RECORD;
  for (const f of facts) {
    if (!committed.has(f.eventId)) committed.set(f.eventId, f);
    const own = committed.get(f.eventId)!;
    const refold = refoldsEntry(f);
    const objectFacts = refold
      ? [...committed.values()].filter((c) => c.objectId === f.objectId)
      : [own];
    record = applyObjectFacts(record, f.objectId, objectFacts, { refold });
  }
  for (const o of overrides) record = applyOverride(record, o);
  return facts.length === 0 && overrides.length === 0 ? null : record;
}

export function statusOf(
  events: readonly StripeEvent[],
  options: { now?: number; days?: number; overrides?: OverrideRecord[]; customerId?: string } = {},
): BillingStatus {
  const customerId = options.customerId ?? CUSTOMER;
  const input = {
    customerId,
    facts: events.map((e) => applied(e, customerId)),
    overrides: options.overrides ?? [],
    now: options.now ?? 1_700_000_000,
    expiryWarningDays: options.days ?? 30,
  };
  const status = deriveBillingStatus(input);
  if (!status) throw new Error('no status derived');
  expect(referenceBillingStatus(input), 'the reference derivation').toEqual(status);
  for (const facts of [input.facts, input.facts.slice().reverse()]) {
    const record = foldedRecord(facts, input.overrides)!;
    const folded = statusFromRecord(customerId, record, input.now, input.expiryWarningDays);
    expect(folded, 'the status item folded event by event').toEqual(status);
  }
  return status;
}

/** Blockers as `reason:objectId` strings, for compact assertions. */
export const reasons = (s: BillingStatus) => s.blockers.map((b) => `${b.reason}:${b.objectId}`);
export const warningReasons = (s: BillingStatus) =>
  s.warnings.map((w) => `${w.reason}:${w.objectId}`);
