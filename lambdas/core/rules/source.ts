// customer.source.* events: legacy Cards, Sources and bank accounts attached to a customer.
// Same entry as payment methods; `expiring` announces the current expiry (Stripe sends it only
// for legacy cards and sources, never through the PaymentMethod API).

import { customerOfObject } from './common';
import { methodRule } from './payment-method-details';
import { meaningsOf } from '../registry';

const MEANINGS = meaningsOf('source');

/** Fact data: `MethodDetails` (`{ methodType, brand, last4, expMonth, expYear }`). */
export const sourceRule = methodRule('source', MEANINGS, customerOfObject);
