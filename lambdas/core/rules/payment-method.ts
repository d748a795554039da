// payment_method.* events: a method's details come from its newest event; a detach is
// terminal. Stripe clears `customer` before sending payment_method.detached, so the owner
// is the previous one, or the one an earlier event recorded for the method.

import type { EventRule } from '../facts';
import { idOf } from '../stripe-event';
import { customerOfObject } from './common';
import { methodFact, methodRevealKeys } from './payment-method-details';

/** Fact data: `MethodDetails` (`{ methodType, brand, last4, expMonth, expYear }`); `ref` the method. */
export const paymentMethodRule: EventRule = {
  resolveCustomer(event) {
    if (event.type !== 'payment_method.detached') return customerOfObject(event);
    // An id, or (defensively) an expanded customer object.
    const previous = idOf(event.data.previous_attributes, 'customer');
    if (previous) return { kind: 'customer', customerId: previous };
    const current = customerOfObject(event);
    if (current.kind === 'customer') return current;
    const methodId = idOf(event.data.object, 'id');
    return methodId ? { kind: 'lookup', keys: [methodId], chargeId: null } : { kind: 'none' };
  },
  toFact: methodFact,
  revealKeys: methodRevealKeys,
};
