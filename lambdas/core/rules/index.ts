// Object kind -> rule, and entry kind -> the conditions it yields. With
// lambdas/core/registry.ts this is all the processor and the status need to know about an
// event type.

import type { AppliedFact, Fact } from '../facts';
import { idsAndDatesProblem, type StripeEvent } from '../stripe-event';
import type { Entry, EntryKind, EntryView, KindRule } from '../entries';
import { registryEntry, type ObjectKind } from '../registry';
import { chargeRule } from './charge';
import { customerRule } from './customer';
import { disputeRule, disputeView } from './dispute';
import { invoiceRule, invoiceView } from './invoice';
import { invoicePaymentRule } from './invoice-payment';
import { paymentView } from './payment-failures';
import { paymentIntentRule } from './payment-intent';
import { methodView } from './payment-method-details';
import { paymentMethodRule } from './payment-method';
import { sourceRule } from './source';
import { subscriptionRule, subscriptionView } from './subscription';

const RULES: Readonly<Record<ObjectKind, KindRule>> = {
  payment_intent: paymentIntentRule,
  charge: chargeRule,
  invoice: invoiceRule,
  invoice_payment: invoicePaymentRule,
  dispute: disputeRule,
  payment_method: paymentMethodRule,
  source: sourceRule,
  subscription: subscriptionRule,
  customer: customerRule,
};

export function ruleFor(kind: ObjectKind): KindRule {
  return RULES[kind];
}

/** The rule for a handled event type, or undefined for a type no processor handles. */
export function ruleForType(type: string): KindRule | undefined {
  const entry = registryEntry(type);
  return entry ? RULES[entry.kind] : undefined;
}

/**
 * Why an event of a handled type is refused at the door (an id or date Stripe never sends),
 * or null; unhandled types are not checked (they are acknowledged and ignored).
 */
export function eventProblem(event: StripeEvent, nowSeconds: number): string | null {
  const rule = ruleForType(event.type);
  return rule ? idsAndDatesProblem(event, rule.idsRead(event), nowSeconds) : null;
}

/** What a stored fact means in its own kind's rule (undefined for an unknown type). */
export function meaningOf(fact: Pick<AppliedFact, 'type'>): string | undefined {
  return ruleForType(fact.type)?.meanings.get(fact.type);
}

/**
 * Whether applying this fact recomputes its object's entry from all the object's facts;
 * false for facts that act on the customer only, or cannot change their object's entry.
 */
export function refoldsEntry(fact: Fact): boolean {
  const rule = ruleForType(fact.type);
  return rule?.entryKind != null && (rule.changesEntry?.(fact) ?? true);
}

/** The entry kind a fact folds into, or null for customer-level facts and unknown types. */
export function entryKindOf(fact: Pick<AppliedFact, 'type'>): EntryKind | null {
  return ruleForType(fact.type)?.entryKind ?? null;
}

type Views = { [K in EntryKind]: EntryView<Extract<Entry, { kind: K }>> };

/** Entry kind -> its conditions, in the order the status composes them. */
export const ENTRY_VIEWS: Views = {
  payment: paymentView,
  invoice: invoiceView,
  dispute: disputeView,
  subscription: subscriptionView,
  method: methodView,
};
