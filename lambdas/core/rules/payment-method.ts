// payment_method.* events: a method's details come from its newest event; a detach is
// terminal. Stripe clears `customer` before sending payment_method.detached, so the owner
// is the previous one, or the one an earlier event recorded for the method.

import { CUSTOMER_ID, idOf } from '../stripe-event';
import { customerOfObject } from './common';
import { methodRule } from './payment-method-details';
import { meaningsOf } from '../registry';

const MEANINGS = meaningsOf('payment_method');

/** Fact data: `MethodDetails` (`{ methodType, brand, last4, expMonth, expYear }`). */
export const paymentMethodRule = methodRule('payment_method', MEANINGS, (event) => {
  if (event.type !== 'payment_method.detached') return customerOfObject(event);
  // An id, or (defensively) an expanded customer object.
  const previous = idOf(event.data.previous_attributes, 'customer');
  if (previous) {
    return CUSTOMER_ID.test(previous)
      ? { kind: 'customer', customerId: previous }
      : { kind: 'unsupported', reason: 'customer is not a cus_ id' };
  }
  const current = customerOfObject(event);
  if (current.kind === 'customer' || current.kind === 'unsupported') return current;
  const methodId = idOf(event.data.object, 'id');
  return methodId ? { kind: 'lookup', keys: [methodId], chargeId: null } : { kind: 'none' };
});
