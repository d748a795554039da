// Readers shared by the rule files: where an event's customer is, how a fact is built from
// the envelope, and how a stored fact's data is read back. Pure.

import type { AppliedFact, CustomerResolution, Fact, FactData } from '../facts';
import { idOf, type StripeEvent } from '../stripe-event';

/**
 * `data.object.customer` (an id, or an expanded customer): the usual owner of an event. An
 * object of Stripe's Accounts v2 names a `customer_account` (acct_...) instead; records are
 * keyed by customer ids, so such an event is reported as unsupported rather than dropped.
 */
export function customerOfObject(event: StripeEvent): CustomerResolution {
  const customerId = idOf(event.data.object, 'customer');
  if (customerId) return { kind: 'customer', customerId };
  if (idOf(event.data.object, 'customer_account')) {
    return { kind: 'unsupported', reason: 'customer_account (Accounts v2)' };
  }
  return { kind: 'none' };
}

/** The event's object id; an object without one is keyed by the event. */
export function objectIdOf(event: StripeEvent): string {
  return idOf(event.data.object, 'id') ?? event.id;
}

export function makeFact(event: StripeEvent, fields: { objectId?: string; data?: FactData }): Fact {
  return {
    eventId: event.id,
    type: event.type,
    created: event.created,
    livemode: event.livemode === true,
    objectId: fields.objectId ?? objectIdOf(event),
    data: fields.data ?? {},
  };
}

/** Non-null, distinct ids, in order. */
export function ids(...values: (string | null | undefined)[]): string[] {
  return [...new Set(values.filter((v): v is string => typeof v === 'string' && v.length > 0))];
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
