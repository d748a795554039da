// payment_intent.* events: a PaymentIntent's failures block until it succeeds or is canceled,
// or until a later successful payment of the customer supersedes them.

import type { KindRule } from '../entries';
import { idOf, obj, str, type StripeEvent } from '../stripe-event';
import { customerOfObject, dataStr, ids, makeFact, withMeaning } from './common';
import { paymentEntry } from './payment-failures';
import { meaningsOf } from '../registry';

/** The PaymentIntent's latest charge: `latest_charge`, or `charges.data[0]` on old API versions. */
export function latestChargeOf(event: StripeEvent): string | null {
  const pi = event.data.object;
  const latest = idOf(pi, 'latest_charge');
  if (latest) return latest;
  const charges = obj(pi, 'charges')?.data;
  if (Array.isArray(charges) && charges.length > 0) {
    const first = charges[0] as Record<string, unknown> | undefined;
    if (first && typeof first.id === 'string') return first.id;
  }
  return null;
}

const MEANINGS = meaningsOf('payment_intent');

/** Whatever the event type, a PaymentIntent in one of these statuses is settled for good. */
const TERMINAL_STATUSES: ReadonlySet<string> = new Set(['succeeded', 'canceled']);

/** Fact data: `{ status }`, the PaymentIntent's status as the event saw it. */
export const paymentIntentRule: KindRule = {
  kind: 'payment_intent',
  meanings: MEANINGS,
  resolveCustomer: customerOfObject,
  toFact(event) {
    return makeFact(event, { data: { status: str(event.data.object, 'status') } });
  },
  revealKeys(event) {
    return ids(idOf(event.data.object, 'id'), latestChargeOf(event));
  },
  entryKind: 'payment',
  fold(facts, meaningOf) {
    const terminal = facts.some((f) => {
      const meaning = meaningOf(f);
      return (
        meaning === 'succeeded' ||
        meaning === 'canceled' ||
        TERMINAL_STATUSES.has(dataStr(f, 'status') ?? '')
      );
    });
    return terminal ? null : paymentEntry(withMeaning(facts, meaningOf, 'failed'));
  },
  customerEffect: (fact) => ({ success: MEANINGS.get(fact.type) === 'succeeded' }),
};
