// Object kind -> rule, and entry kind -> the conditions it yields. With
// lambdas/core/registry.ts this is all the processor and the status need to know about an
// event type.

import type { AppliedFact } from '../facts';
import type { Entry, EntryKind, EntryView, KindRule } from '../entries';
import { registryEntry, type ObjectKind } from '../registry';
import { chargeRule } from './charge';
import { customerRule } from './customer';
import { disputeRule, disputeView } from './dispute';
import { invoiceRule, invoiceView } from './invoice';
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

/** What a stored fact means in its own kind's rule (undefined for an unknown type). */
export function meaningOf(fact: Pick<AppliedFact, 'type'>): string | undefined {
  return ruleForType(fact.type)?.meanings.get(fact.type);
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
