// Readers shared by the rule files: where an event's customer is, how a fact is built from
// the envelope, and how a stored fact's data is read back. Pure.

import type { AppliedFact, CustomerResolution, Fact, FactData } from '../facts';
import { CUSTOMER_ID, idOf, type StripeEvent, type StripeObject } from '../stripe-event';

/**
 * `data.object.customer` (an id, or an expanded customer): the usual owner of an event. An
 * object of Stripe's Accounts v2 may name a `customer_account` (acct_...) instead; the record
 * stays keyed by the customer id, so such an event waits for the account's customer to be
 * known (an event naming both, or Stripe). A `customer` that is not a customer id changes no
 * record (docs/behaviour.md#hostile-and-busy-customers).
 */
export function customerOfObject(event: StripeEvent): CustomerResolution {
  return customerOf(event.data.object);
}

/** Whose object this is: its `customer`, else its `customer_account`'s customer. */
export function customerOf(o: StripeObject): CustomerResolution {
  const customerId = idOf(o, 'customer');
  if (customerId !== null) {
    return CUSTOMER_ID.test(customerId)
      ? { kind: 'customer', customerId }
      : { kind: 'unsupported', reason: 'customer is not a cus_ id' };
  }
  const account = idOf(o, 'customer_account');
  if (account) return { kind: 'lookup', keys: [account], chargeId: null, accountId: account };
  return { kind: 'none' };
}

/**
 * The Accounts v2 id an object names beside its customer id (a Customer its own id): it
 * teaches the alias acct_ -> cus_.
 */
export function accountAlias(o: StripeObject): string | null {
  const customerId = o.object === 'customer' ? idOf(o, 'id') : idOf(o, 'customer');
  const account = idOf(o, 'customer_account');
  return customerId !== null && CUSTOMER_ID.test(customerId) && account ? account : null;
}

/** The event's object id; an object without one is keyed by the event. */
export function objectIdOf(event: StripeEvent): string {
  return idOf(event.data.object, 'id') ?? event.id;
}

/**
 * The fact of an event: its rule's data, and the customer's Accounts v2 id when the object
 * names both ids (the status shows it as `customerAccount`).
 */
export function makeFact(event: StripeEvent, fields: { objectId?: string; data?: FactData }): Fact {
  const alias = accountAlias(event.data.object);
  return {
    eventId: event.id,
    type: event.type,
    created: event.created,
    livemode: event.livemode === true,
    objectId: fields.objectId ?? objectIdOf(event),
    data: { ...fields.data, ...(alias ? { customerAccount: alias } : {}) },
  };
}

/** Non-null, distinct ids, in order. */
export function ids(...values: (string | null | undefined)[]): string[] {
  return [...new Set(values.filter((v): v is string => typeof v === 'string' && v.length > 0))];
}

/**
 * The ids every rule reads of an object: its own id, its customer and its Accounts v2 id; a
 * rule adds the ones it reads beyond these.
 */
export function objectIds(event: StripeEvent, ...more: (string | null)[]): string[] {
  const o = event.data.object;
  return ids(idOf(o, 'id'), idOf(o, 'customer'), idOf(o, 'customer_account'), ...more);
}

/** A string field of a fact's data, or null. */
export function dataStr(f: Fact, key: string): string | null {
  const v = f.data[key];
  return typeof v === 'string' ? v : null;
}

/** A number field of a fact's data, or null. */
export function dataInt(f: Fact, key: string): number | null {
  const v = f.data[key];
  return typeof v === 'number' ? v : null;
}

/** The facts whose meaning is `meaning`. */
export function withMeaning(
  facts: readonly AppliedFact[],
  meaningOf: (f: AppliedFact) => string | undefined,
  ...meanings: string[]
): AppliedFact[] {
  return facts.filter((f) => {
    const m = meaningOf(f);
    return m !== undefined && meanings.includes(m);
  });
}

/** Rules whose facts act on the customer only: no entry to fold. */
export const NO_ENTRY = { entryKind: null, fold: () => null } as const;
