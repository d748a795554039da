// customer.* events: they name the customer by the object's own id; deletion blocks for
// good. Nothing here needs the customer's other facts: deletion is a customer-level value.

import type { KindRule } from '../entries';
import { CUSTOMER_ID, idOf } from '../stripe-event';
import { NO_ENTRY, makeFact, objectIds } from './common';
import { meaningsOf } from '../registry';

const MEANINGS = meaningsOf('customer');

/** Fact data: `{}`; the event type alone says what happened to the customer. */
export const customerRule: KindRule = {
  kind: 'customer',
  meanings: MEANINGS,
  resolveCustomer(event) {
    const customerId = idOf(event.data.object, 'id');
    if (customerId === null) return { kind: 'none' };
    return CUSTOMER_ID.test(customerId)
      ? { kind: 'customer', customerId }
      : { kind: 'unsupported', reason: 'customer is not a cus_ id' };
  },
  toFact: (event) => makeFact(event, {}),
  revealKeys: () => [],
  idsRead: (event) => objectIds(event),
  ...NO_ENTRY,
  customerEffect: (fact) => ({ deleted: MEANINGS.get(fact.type) === 'deleted' }),
};
