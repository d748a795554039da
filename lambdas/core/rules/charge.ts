// charge.* events: legacy Charges API payments (no PaymentIntent) block and unblock like
// PaymentIntents; a charge of a PaymentIntent only tells whose charge it is.

import type { EventRule } from '../facts';
import { idOf, str } from '../stripe-event';
import { customerOfObject, ids, makeFact } from './common';

/** Fact data: `{ status, paymentIntent }` (`paymentIntent` null for the legacy Charges API). */
export const chargeRule: EventRule = {
  resolveCustomer: customerOfObject,
  toFact(event) {
    const chargeId = idOf(event.data.object, 'id') ?? event.id;
    return makeFact(event, {
      objectId: chargeId,
      ref: chargeId,
      data: {
        status: str(event.data.object, 'status'),
        paymentIntent: idOf(event.data.object, 'payment_intent'),
      },
    });
  },
  revealKeys(event) {
    return ids(idOf(event.data.object, 'id'), idOf(event.data.object, 'payment_intent'));
  },
};
