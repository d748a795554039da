// customer.subscription.* events: the subscription's newest event decides its status;
// past_due/unpaid and paused block.

import type { EventRule } from '../facts';
import { str } from '../stripe-event';
import { customerOfObject, makeFact } from './common';

/** Fact data: `{ status, previousStatus }` (`previousStatus` from `previous_attributes`, or null). */
export const subscriptionRule: EventRule = {
  resolveCustomer: customerOfObject,
  toFact(event) {
    return makeFact(event, {
      data: {
        status: str(event.data.object, 'status'),
        previousStatus: str(event.data.previous_attributes, 'status'),
      },
    });
  },
  revealKeys: () => [],
};
