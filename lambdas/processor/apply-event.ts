// The use case of every processor: find the customer -> build the fact -> commit it with
// one conditional write -> apply events that were parked waiting for this customer.
// Facts commute, so concurrent processors never need to read-modify-write anything.

import type { ChargeLookup } from '../adapters/stripe-api';
import type { FactStore, ParkedEvent } from '../adapters/fact-store';
import { MisroutedEventError } from '../core/errors';
import type { EventRule } from '../core/facts';
import { ruleForType } from '../core/rules';
import { stripeEventProblem, type StripeEvent } from '../core/stripe-event';

export type ApplyOutcome = 'applied' | 'duplicate' | 'no_customer' | 'parked';

export interface ApplyDeps {
  store: FactStore;
  /** Set when a Stripe API key is configured: disputes then ask Stripe for their charge. */
  chargeLookup: ChargeLookup | null;
  clock: () => Date;
}

export interface ApplyResult {
  outcome: ApplyOutcome;
  eventId: string;
  type: string;
  customerId: string | null;
  /** Parked events this one revealed a customer for, applied now. */
  unparked: number;
}

/** Parses a queued body; anything but an event of `expectedType` is a routing fault. */
export function parseQueuedEvent(body: string, expectedType: string | null): StripeEvent {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new MisroutedEventError('queued message is not JSON');
  }
  const problem = stripeEventProblem(value, { allowBackfillIds: true });
  if (problem) throw new MisroutedEventError(`queued message: ${problem}`);
  const event = value as StripeEvent;
  if (expectedType !== null && event.type !== expectedType) {
    throw new MisroutedEventError(
      `queued message of type ${event.type} on the ${expectedType} processor`,
    );
  }
  if (!ruleForType(event.type)) {
    throw new MisroutedEventError(`no rule handles events of type ${event.type}`);
  }
  return event;
}

type Owner = { customerId: string } | { none: true } | { unknown: readonly string[] };

/** Whose record the event touches (CONTRACT section 4), looking up disputes and detaches. */
async function findCustomer(event: StripeEvent, rule: EventRule, deps: ApplyDeps): Promise<Owner> {
  const resolution = rule.resolveCustomer(event);
  if (resolution.kind === 'customer') return { customerId: resolution.customerId };
  if (resolution.kind === 'none') return { none: true };
  const known = await deps.store.findOwner(resolution.keys);
  if (known) return { customerId: known };
  if (resolution.chargeId && deps.chargeLookup) {
    const customerId = await deps.chargeLookup.chargeCustomer(resolution.chargeId);
    return customerId ? { customerId } : { none: true };
  }
  return { unknown: resolution.keys };
}

async function commit(event: StripeEvent, rule: EventRule, customerId: string, deps: ApplyDeps) {
  return deps.store.putFact(customerId, rule.toFact(event), deps.clock().toISOString());
}

/** Applies a parked event for a now-known customer, then removes it from the park. */
async function applyParked(parked: ParkedEvent, customerId: string, deps: ApplyDeps) {
  const event = parseQueuedEvent(parked.body, parked.type);
  await commit(event, ruleForType(event.type)!, customerId, deps);
  await deps.store.unpark(parked.eventId, parked.keys);
}

/** Events parked under any id this event ties to `customerId` are applied now. */
async function applyParkedRevealedBy(
  event: StripeEvent,
  rule: EventRule,
  customerId: string,
  deps: ApplyDeps,
): Promise<number> {
  let applied = 0;
  for (const key of rule.revealKeys(event)) {
    for (const parked of await deps.store.parkedFor(key)) {
      await applyParked(parked, customerId, deps);
      applied += 1;
    }
  }
  return applied;
}

export async function applyEvent(
  body: string,
  expectedType: string | null,
  deps: ApplyDeps,
): Promise<ApplyResult> {
  const event = parseQueuedEvent(body, expectedType);
  const rule = ruleForType(event.type)!;
  const result = (outcome: ApplyOutcome, customerId: string | null, unparked = 0) => ({
    outcome,
    eventId: event.id,
    type: event.type,
    customerId,
    unparked,
  });

  let owner = await findCustomer(event, rule, deps);
  if ('none' in owner) return result('no_customer', null);
  let parkedKeys: readonly string[] = [];
  if ('unknown' in owner) {
    parkedKeys = owner.unknown;
    const parked = { eventId: event.id, type: event.type, body, keys: [...parkedKeys] };
    await deps.store.park(parked, deps.clock().getTime());
    // Re-check after parking: a revealing event committed meanwhile may have looked for
    // parked events before ours was written. One of the two sees the other (in AWS up to
    // the byRef index's propagation delay, which the scheduled sweeper covers).
    const customerId = await deps.store.findOwner(parkedKeys);
    if (!customerId) return result('parked', null);
    owner = { customerId };
  }
  const outcome = await commit(event, rule, owner.customerId, deps);
  // Unpark only after the commit: a crash in between leaves the event parked, never lost.
  if (parkedKeys.length > 0) await deps.store.unpark(event.id, parkedKeys);
  const unparked = await applyParkedRevealedBy(event, rule, owner.customerId, deps);
  return result(outcome, owner.customerId, unparked);
}

/** The sweeper's retry of one parked event: resolve its owner again and apply it. */
export async function retryParked(
  parked: ParkedEvent,
  deps: ApplyDeps,
): Promise<'applied' | 'no_customer' | 'parked'> {
  const event = parseQueuedEvent(parked.body, parked.type);
  const owner = await findCustomer(event, ruleForType(event.type)!, deps);
  if ('unknown' in owner) return 'parked';
  if ('none' in owner) {
    await deps.store.unpark(parked.eventId, parked.keys);
    return 'no_customer';
  }
  await applyParked(parked, owner.customerId, deps);
  return 'applied';
}
