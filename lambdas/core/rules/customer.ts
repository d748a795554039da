// customer.* events: they name the customer by the object's own id; deletion blocks for good.

import type { EventRule } from '../facts';
import { idOf } from '../stripe-event';
import { makeFact } from './common';

/** Fact data: `{}`; the event type alone says what happened to the customer. */
export const customerRule: EventRule = {
  resolveCustomer(event) {
    const customerId = idOf(event.data.object, 'id');
    return customerId?.startsWith('cus_') ? { kind: 'customer', customerId } : { kind: 'none' };
  },
  toFact: (event) => makeFact(event, {}),
  revealKeys: () => [],
};
