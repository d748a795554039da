// Test helpers: turn built Stripe events into applied facts and derive a status, exactly as
// the processor and status API do, without the store. Every status `statusOf` returns has
// been computed four ways that must agree: the full derivation, the independent reference
// (reference-status.ts, which reads the raw events), and the billing-status item folded one
// event at a time in the given order and in the reverse order.
import { expect } from 'vitest';
import type { StatusSettings } from '../../lambdas/core/billing-status';
import { deriveBillingStatus, statusFromRecord } from '../../lambdas/core/billing-status';
import type { InvoiceLink } from '../../lambdas/core/entries';
import type { AppliedFact, BillingStatus, OverrideRecord } from '../../lambdas/core/facts';
import { DEFAULT_POLICY, type Policy } from '../../lambdas/core/policy';
import { refoldsEntry, ruleForType } from '../../lambdas/core/rules';
import {
  EMPTY_RECORD,
  applyObjectFacts,
  applyOverride,
  type StatusRecord,
} from '../../lambdas/core/status-record';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { FIXTURE_CUSTOMER } from '../../bin/events/stripe-events';
import { referenceStatus } from './reference-status';

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

/** The invoice links an event carries, as the processor records them. */
export function linksOf(event: StripeEvent): InvoiceLink[] {
  return [...(ruleForType(event.type)?.links?.(event) ?? [])];
}

/**
 * The status item as the processors build it: facts committed one at a time in this order,
 * each folding its object's facts (and links) committed so far, and every payment it links,
 * then the overrides.
 */
export function foldedRecord(
  steps: readonly { fact: AppliedFact; links: readonly InvoiceLink[] }[],
  overrides: readonly OverrideRecord[],
): StatusRecord | null {
  const committed = new Map<string, AppliedFact>();
  const links: InvoiceLink[] = [];
  let record: StatusRecord = EMPTY_RECORD;
  const factsOf = (objectId: string) =>
    [...committed.values()].filter((c) => c.objectId === objectId);
  const linksOfObject = (objectId: string) => links.filter((l) => l.payment === objectId);
  for (const { fact: f, links: own } of steps) {
    if (!committed.has(f.eventId)) committed.set(f.eventId, f);
    for (const l of own) {
      if (!links.some((k) => k.payment === l.payment && k.invoice === l.invoice)) links.push(l);
    }
    const applied = committed.get(f.eventId)!;
    const refold = refoldsEntry(f);
    record = applyObjectFacts(record, f.objectId, refold ? factsOf(f.objectId) : [applied], {
      refold,
      links: linksOfObject(f.objectId),
    });
    for (const payment of new Set(own.map((l) => l.payment))) {
      if (payment === f.objectId) continue;
      record = applyObjectFacts(record, payment, factsOf(payment), {
        links: linksOfObject(payment),
      });
    }
  }
  for (const o of overrides) record = applyOverride(record, o);
  return steps.length === 0 && overrides.length === 0 ? null : record;
}

export interface StatusOfOptions {
  now?: number;
  days?: number;
  policy?: Policy;
  overrides?: OverrideRecord[];
  customerId?: string;
}

export const settingsOf = (options: Pick<StatusOfOptions, 'days' | 'policy'>): StatusSettings => ({
  policy: options.policy ?? DEFAULT_POLICY,
  expiryWarningDays: options.days ?? 30,
});

/** The status of these events (of one customer), checked four ways (see the header). */
export function statusOf(
  events: readonly StripeEvent[],
  options: StatusOfOptions = {},
): BillingStatus {
  const customerId = options.customerId ?? CUSTOMER;
  const now = options.now ?? 1_700_000_000;
  const settings = settingsOf(options);
  const overrides = options.overrides ?? [];
  const steps = events.map((e) => ({ fact: applied(e, customerId), links: linksOf(e) }));
  const facts = steps.map((s) => s.fact);
  const links = steps.flatMap((s) => s.links);
  const status = deriveBillingStatus({ customerId, facts, links, overrides, now, settings });
  if (!status) throw new Error('no status derived');
  const reference = referenceStatus({
    customerId,
    events: events.map((event) => ({
      event,
      appliedAt: new Date(event.created * 1000).toISOString(),
    })),
    overrides,
    policy: settings.policy,
    now,
    expiryWarningDays: settings.expiryWarningDays,
    // These events are all the customer's: what the product is told, the reference asks Stripe.
    stripe: ownerHints(events, customerId),
  });
  expect(reference, 'the reference derivation').toEqual(status);
  for (const order of [steps, steps.slice().reverse()]) {
    const record = foldedRecord(order, overrides)!;
    const folded = statusFromRecord(customerId, record, now, settings);
    expect(folded, 'the status item folded event by event').toEqual(status);
  }
  return status;
}

/**
 * What Stripe would answer about the events' owners: every dispute's charge and every
 * Accounts v2 id belong to the customer.
 */
function ownerHints(events: readonly StripeEvent[], customerId: string) {
  const chargeCustomer: Record<string, string> = {};
  const customerOfAccount: Record<string, string> = {};
  for (const e of events) {
    const o = e.data.object;
    if (e.type.startsWith('charge.dispute.') && typeof o.charge === 'string') {
      chargeCustomer[o.charge] = customerId;
    }
    if (typeof o.customer_account === 'string') customerOfAccount[o.customer_account] = customerId;
  }
  return { chargeCustomer, customerOfAccount };
}

/** Blockers as `reason:objectId` strings, for compact assertions. */
export const reasons = (s: BillingStatus) => s.blockers.map((b) => `${b.reason}:${b.objectId}`);
export const warningReasons = (s: BillingStatus) =>
  s.warnings.map((w) => `${w.reason}:${w.objectId}`);

/**
 * The fields of an invoice or PaymentIntent object with this status (or none) and `paid: false`,
 * so that only the event type or the status can close it.
 */
export const objectWithStatus = (id: string, status: string | undefined) => ({
  id,
  status,
  paid: false,
});
