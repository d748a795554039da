// invoice.* events: an unpaid invoice blocks until it is paid or voided, whatever else the
// customer pays; marked_uncollectible sharpens the blocker.

import type { EventRule } from '../facts';
import { str, type StripeObject } from '../stripe-event';
import { customerOfObject, makeFact } from './common';

/**
 * The invoice's status. Invoices of API versions before `status` existed only say
 * `paid: true`; that is enough to know the invoice is settled.
 */
function invoiceStatus(invoice: StripeObject): string | null {
  return str(invoice, 'status') ?? (invoice.paid === true ? 'paid' : null);
}

/** Fact data: `{ status }`, the invoice's status as the event saw it (paid/void are terminal). */
export const invoiceRule: EventRule = {
  resolveCustomer: customerOfObject,
  toFact(event) {
    return makeFact(event, { data: { status: invoiceStatus(event.data.object) } });
  },
  revealKeys: () => [],
};
