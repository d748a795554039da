// customer.source.* events: legacy Cards, Sources and bank accounts attached to a customer.
// Same state as payment methods; `expiring` announces the current expiry (legacy only).

import type { EventRule } from '../facts';
import { idOf } from '../stripe-event';
import { customerOfObject, ids, makeFact } from './common';
import { methodDetails } from './payment-method-details';

/** Fact data: `MethodDetails` (`{ methodType, brand, last4, expMonth, expYear }`); `ref` the method. */
export const sourceRule: EventRule = {
  resolveCustomer: customerOfObject,
  toFact(event) {
    const methodId = idOf(event.data.object, 'id') ?? event.id;
    return makeFact(event, {
      objectId: methodId,
      ref: methodId,
      data: methodDetails(event.data.object),
    });
  },
  revealKeys: (event) => ids(idOf(event.data.object, 'id')),
};
