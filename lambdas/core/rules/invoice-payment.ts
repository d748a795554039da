// invoice_payment.* events: an invoice's payment names its invoice and the PaymentIntent (or
// legacy charge) that pays it, and no customer. It links the two, so the PaymentIntent opens
// no condition of its own (docs/behaviour.md#access-policy); it applies to the customer the
// PaymentIntent belongs to, waiting like a dispute until an event reveals that customer.

import type { KindRule } from '../entries';
import { meaningsOf } from '../registry';
import { idOf, obj, str, type StripeEvent } from '../stripe-event';
import { NO_ENTRY, ids, makeFact, objectIds } from './common';

const MEANINGS = meaningsOf('invoice_payment');

/** The PaymentIntent, or for the Charges API the charge, that pays the invoice. */
function paymentOf(event: StripeEvent): string | null {
  const payment = obj(event.data.object, 'payment');
  return idOf(payment, 'payment_intent') ?? idOf(payment, 'charge');
}

/** Fact data: `{ payment, invoice, status }`. */
export const invoicePaymentRule: KindRule = {
  kind: 'invoice_payment',
  meanings: MEANINGS,
  resolveCustomer(event) {
    const payment = paymentOf(event);
    return payment ? { kind: 'lookup', keys: [payment], chargeId: null } : { kind: 'none' };
  },
  toFact(event) {
    return makeFact(event, {
      data: {
        payment: paymentOf(event),
        invoice: idOf(event.data.object, 'invoice'),
        status: str(event.data.object, 'status'),
      },
    });
  },
  revealKeys: () => [],
  links(event) {
    const payment = paymentOf(event);
    const invoice = idOf(event.data.object, 'invoice');
    return payment && invoice ? [{ payment, invoice }] : [];
  },
  idsRead: (event) =>
    ids(...objectIds(event), paymentOf(event), idOf(event.data.object, 'invoice')),
  ...NO_ENTRY,
  customerEffect: () => ({}),
};
