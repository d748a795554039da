// charge.* events: legacy Charges API payments (no PaymentIntent) block and unblock like
// PaymentIntents; a charge of a PaymentIntent only tells whose charge it is (its
// PaymentIntent's events decide).

import type { KindRule } from '../entries';
import type { Fact } from '../facts';
import { idOf, str } from '../stripe-event';
import { customerOfObject, dataStr, ids, makeFact, withMeaning } from './common';
import { paymentEntry } from './payment-failures';
import { meaningsOf } from '../registry';

const MEANINGS = meaningsOf('charge');

/** A charge made through the Charges API, without a PaymentIntent. */
const isLegacy = (f: Fact) => dataStr(f, 'paymentIntent') === null;

/** Fact data: `{ status, paymentIntent }` (`paymentIntent` null for the legacy Charges API). */
export const chargeRule: KindRule = {
  kind: 'charge',
  meanings: MEANINGS,
  resolveCustomer: customerOfObject,
  toFact(event) {
    return makeFact(event, {
      data: {
        status: str(event.data.object, 'status'),
        paymentIntent: idOf(event.data.object, 'payment_intent'),
      },
    });
  },
  revealKeys(event) {
    return ids(idOf(event.data.object, 'id'), idOf(event.data.object, 'payment_intent'));
  },
  entryKind: 'payment',
  fold(facts, meaningOf) {
    return paymentEntry(withMeaning(facts, meaningOf, 'failed').filter(isLegacy));
  },
  changesEntry: isLegacy,
  customerEffect: (fact) => ({
    success: MEANINGS.get(fact.type) === 'succeeded' && isLegacy(fact),
  }),
};
