// payment_intent.* events: a PaymentIntent's failures block until it succeeds or is canceled,
// or until a later successful payment of the customer supersedes them; a PaymentIntent of an
// invoice opens no condition of its own.

import type { KindRule } from '../entries';
import { meaningsOf } from '../registry';
import { idOf, obj, str, type StripeEvent } from '../stripe-event';
import { customerOfObject, dataStr, ids, makeFact, objectIds, withMeaning } from './common';
import { belongsToInvoice, paymentEntry } from './payment-failures';

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

/**
 * Fact data: `{ status, invoice }`: the PaymentIntent's status as the event saw it, and its
 * invoice (API versions before 2025-03-31.basil name it; later ones never do).
 */
export const paymentIntentRule: KindRule = {
  kind: 'payment_intent',
  meanings: MEANINGS,
  resolveCustomer: customerOfObject,
  toFact(event) {
    return makeFact(event, {
      data: {
        status: str(event.data.object, 'status'),
        invoice: idOf(event.data.object, 'invoice'),
      },
    });
  },
  revealKeys(event) {
    return ids(idOf(event.data.object, 'id'), latestChargeOf(event));
  },
  idsRead: (event) => objectIds(event, latestChargeOf(event), idOf(event.data.object, 'invoice')),
  entryKind: 'payment',
  fold(facts, meaningOf, links) {
    const terminal = facts.some((f) => {
      const meaning = meaningOf(f);
      return (
        meaning === 'succeeded' ||
        meaning === 'canceled' ||
        TERMINAL_STATUSES.has(dataStr(f, 'status') ?? '')
      );
    });
    if (terminal || belongsToInvoice(facts, links)) return null;
    return paymentEntry(withMeaning(facts, meaningOf, 'failed'));
  },
  customerEffect: (fact) => ({ success: MEANINGS.get(fact.type) === 'succeeded' }),
};
