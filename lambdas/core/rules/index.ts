// Object kind -> rule. With lambdas/core/registry.ts this is all the processor needs to
// know about an event type.

import type { EventRule } from '../facts';
import { registryEntry, type ObjectKind } from '../registry';
import { chargeRule } from './charge';
import { customerRule } from './customer';
import { disputeRule } from './dispute';
import { invoiceRule } from './invoice';
import { paymentIntentRule } from './payment-intent';
import { paymentMethodRule } from './payment-method';
import { sourceRule } from './source';
import { subscriptionRule } from './subscription';

const RULES: Readonly<Record<ObjectKind, EventRule>> = {
  payment_intent: paymentIntentRule,
  charge: chargeRule,
  invoice: invoiceRule,
  dispute: disputeRule,
  payment_method: paymentMethodRule,
  source: sourceRule,
  subscription: subscriptionRule,
  customer: customerRule,
};

export function ruleFor(kind: ObjectKind): EventRule {
  return RULES[kind];
}

/** The rule for a handled event type, or undefined for a type no processor handles. */
export function ruleForType(type: string): EventRule | undefined {
  const entry = registryEntry(type);
  return entry ? RULES[entry.kind] : undefined;
}
