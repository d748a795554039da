// charge.dispute.* events: disputes carry no customer; they are tied to one through their
// charge or PaymentIntent (CONTRACT section 4, "Disputes carry no customer").

import type { EventRule } from '../facts';
import { idOf, str } from '../stripe-event';
import { ids, makeFact } from './common';

/** Fact data: `{ status }`, the dispute's status (won/lost/warning_closed/prevented close it). */
export const disputeRule: EventRule = {
  resolveCustomer(event) {
    const charge = idOf(event.data.object, 'charge');
    const paymentIntent = idOf(event.data.object, 'payment_intent');
    const keys = ids(charge, paymentIntent);
    return keys.length === 0 ? { kind: 'none' } : { kind: 'lookup', keys, chargeId: charge };
  },
  toFact(event) {
    return makeFact(event, { data: { status: str(event.data.object, 'status') } });
  },
  revealKeys: () => [],
};
