// Readers shared by the rule files: where an event's customer is, and how a fact is built
// from the envelope. Pure.

import type { CustomerResolution, Fact, FactData } from '../facts';
import { idOf, type StripeEvent } from '../stripe-event';

/** `data.object.customer` (an id, or an expanded customer): the usual owner of an event. */
export function customerOfObject(event: StripeEvent): CustomerResolution {
  const customerId = idOf(event.data.object, 'customer');
  return customerId ? { kind: 'customer', customerId } : { kind: 'none' };
}

/** The event's object id; an object without one is keyed by the event. */
export function objectIdOf(event: StripeEvent): string {
  return idOf(event.data.object, 'id') ?? event.id;
}

export function makeFact(
  event: StripeEvent,
  fields: { objectId?: string; ref?: string | null; data?: FactData },
): Fact {
  return {
    eventId: event.id,
    type: event.type,
    created: event.created,
    livemode: event.livemode === true,
    objectId: fields.objectId ?? objectIdOf(event),
    ref: fields.ref ?? null,
    data: fields.data ?? {},
  };
}

/** Non-null, distinct ids, in order. */
export function ids(...values: (string | null | undefined)[]): string[] {
  return [...new Set(values.filter((v): v is string => typeof v === 'string' && v.length > 0))];
}
