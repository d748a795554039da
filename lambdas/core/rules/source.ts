// customer.source.* events: legacy Cards, Sources and bank accounts attached to a customer.
// Same state as payment methods; `expiring` announces the current expiry (legacy only).

import type { EventRule } from '../facts';
import { customerOfObject } from './common';
import { methodFact, methodRevealKeys } from './payment-method-details';

/** Fact data: `MethodDetails` (`{ methodType, brand, last4, expMonth, expYear }`); `ref` the method. */
export const sourceRule: EventRule = {
  resolveCustomer: customerOfObject,
  toFact: methodFact,
  revealKeys: methodRevealKeys,
};
