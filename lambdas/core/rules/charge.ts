// charge.* events: legacy Charges API payments (no PaymentIntent) block and unblock like
// PaymentIntents; a charge of a PaymentIntent only tells whose charge it is (its
// PaymentIntent's events decide), and, on API versions before basil, which invoice its
// PaymentIntent pays.

import type { KindRule } from '../entries';
import type { Fact } from '../facts';
import { meaningsOf } from '../registry';
import { idOf, str } from '../stripe-event';
import { customerOfObject, dataStr, ids, makeFact, objectIds, withMeaning } from './common';
import { belongsToInvoice, paymentEntry } from './payment-failures';

const MEANINGS = meaningsOf('charge');

/** A charge made through the Charges API, without a PaymentIntent. */
const isLegacy = (f: Fact) => dataStr(f, 'paymentIntent') === null;

/**
 * Fact data: `{ status, paymentIntent, invoice }` (`paymentIntent` null for the legacy
 * Charges API; `invoice` only on API versions before basil).
 */
export const chargeRule: KindRule = {
  kind: 'charge',
  meanings: MEANINGS,
  resolveCustomer: customerOfObject,
  toFact(event) {
    return makeFact(event, {
      data: {
        status: str(event.data.object, 'status'),
        paymentIntent: idOf(event.data.object, 'payment_intent'),
        invoice: idOf(event.data.object, 'invoice'),
      },
    });
  },
  revealKeys(event) {
    return ids(idOf(event.data.object, 'id'), idOf(event.data.object, 'payment_intent'));
  },
  links(event) {
    const paymentIntent = idOf(event.data.object, 'payment_intent');
    const invoice = idOf(event.data.object, 'invoice');
    return paymentIntent && invoice ? [{ payment: paymentIntent, invoice }] : [];
  },
  idsRead: (event) =>
    objectIds(event, idOf(event.data.object, 'payment_intent'), idOf(event.data.object, 'invoice')),
  entryKind: 'payment',
  fold(facts, meaningOf, links) {
    const legacy = facts.filter(isLegacy);
    if (belongsToInvoice(legacy, links)) return null;
    return paymentEntry(withMeaning(legacy, meaningOf, 'failed'));
  },
  changesEntry: isLegacy,
  customerEffect: (fact) => ({
    success: MEANINGS.get(fact.type) === 'succeeded' && isLegacy(fact),
  }),
};
