// Test helpers: turn built Stripe events into applied facts and derive a status, exactly as
// the processor and status API do, without the store.
import { deriveBillingStatus } from '../../lambdas/core/billing-status';
import type { AppliedFact, BillingStatus, OverrideRecord } from '../../lambdas/core/facts';
import { ruleForType } from '../../lambdas/core/rules';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { FIXTURE_CUSTOMER } from '../../bin/stripe-events';

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

export function statusOf(
  events: readonly StripeEvent[],
  options: { now?: number; days?: number; overrides?: OverrideRecord[]; customerId?: string } = {},
): BillingStatus {
  const customerId = options.customerId ?? CUSTOMER;
  const status = deriveBillingStatus({
    customerId,
    facts: events.map((e) => applied(e, customerId)),
    overrides: options.overrides ?? [],
    now: options.now ?? 1_700_000_000,
    expiryWarningDays: options.days ?? 30,
  });
  if (!status) throw new Error('no status derived');
  return status;
}

/** Blockers as `reason:objectId` strings, for compact assertions. */
export const reasons = (s: BillingStatus) => s.blockers.map((b) => `${b.reason}:${b.objectId}`);
export const warningReasons = (s: BillingStatus) =>
  s.warnings.map((w) => `${w.reason}:${w.objectId}`);
