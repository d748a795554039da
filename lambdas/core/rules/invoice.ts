// invoice.* events: an unpaid invoice blocks until it is paid or voided, whatever else the
// customer pays; marked_uncollectible sharpens the blocker.

import type { EventRule } from '../facts';
import { str } from '../stripe-event';
import { customerOfObject, makeFact } from './common';

export const invoiceRule: EventRule = {
  resolveCustomer: customerOfObject,
  toFact(event) {
    return makeFact(event, { data: { status: str(event.data.object, 'status') } });
  },
  revealKeys: () => [],
};
