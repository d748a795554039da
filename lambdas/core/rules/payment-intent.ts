// payment_intent.* events: a PaymentIntent's failures block until it succeeds or is
// canceled, or until a later successful payment of the customer supersedes them.

import type { EventRule } from '../facts';
import { idOf, obj, str, type StripeEvent } from '../stripe-event';
import { customerOfObject, ids, makeFact } from './common';

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

/** Fact data: `{ status }` (the PaymentIntent's status); `ref` its latest charge, else its id. */
export const paymentIntentRule: EventRule = {
  resolveCustomer: customerOfObject,
  toFact(event) {
    const piId = idOf(event.data.object, 'id') ?? event.id;
    return makeFact(event, {
      objectId: piId,
      ref: latestChargeOf(event) ?? piId,
      data: { status: str(event.data.object, 'status') },
    });
  },
  revealKeys(event) {
    return ids(idOf(event.data.object, 'id'), latestChargeOf(event));
  },
};
