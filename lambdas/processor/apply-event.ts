// The use case of every processor: find the customer -> commit the fact (the one
// conditional write that deduplicates) -> fold the event's object into the customer's
// status item -> apply the events this one reveals a customer for.
// Nothing here reads more than the event's own object: never the customer's whole history.

import type { ChargeLookup } from '../adapters/stripe-api';
import type { FactStore, ParkedEvent } from '../adapters/fact-store';
import type { KindRule } from '../core/entries';
import { MisroutedEventError } from '../core/errors';
import type { AppliedFact, Fact } from '../core/facts';
import { ruleForType } from '../core/rules';
import { EMPTY_RECORD, applyObjectFacts } from '../core/status-record';
import { stripeEventProblem, type StripeEvent } from '../core/stripe-event';

export type ApplyOutcome = 'applied' | 'duplicate' | 'no_customer' | 'parked' | 'unsupported';

/** The store methods applying an event may use. */
export type ApplyStore = Pick<
  FactStore,
  | 'putFact'
  | 'objectFacts'
  | 'updateStatus'
  | 'ownerOf'
  | 'revealOwner'
  | 'park'
  | 'parkedEvent'
  | 'unpark'
>;

export interface ApplyDeps {
  store: ApplyStore;
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
  /** Why the event was not applied (unsupported only). */
  reason?: string;
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

type Owner =
  | { customerId: string }
  | { none: true }
  | { unknown: readonly string[]; chargeId: string | null }
  | { unsupported: string };

/** Whose record the event touches, looking up disputes and detaches. */
async function findCustomer(event: StripeEvent, rule: KindRule, deps: ApplyDeps): Promise<Owner> {
  const resolution = rule.resolveCustomer(event);
  if (resolution.kind === 'customer') return { customerId: resolution.customerId };
  if (resolution.kind === 'none') return { none: true };
  if (resolution.kind === 'unsupported') return { unsupported: resolution.reason };
  return lookUpOwner(resolution.keys, resolution.chargeId, deps);
}

/** The owner an earlier event revealed, else the Stripe API's answer, else unknown. */
async function lookUpOwner(
  keys: readonly string[],
  chargeId: string | null,
  deps: ApplyDeps,
): Promise<Owner> {
  const known = await deps.store.ownerOf(keys);
  if (known) return { customerId: known };
  if (chargeId && deps.chargeLookup) {
    // A charge without a customer: the dispute changes no record.
    const customerId = await deps.chargeLookup.chargeCustomer(chargeId);
    return customerId ? { customerId } : { none: true };
  }
  return { unknown: keys, chargeId };
}

/**
 * Commits a fact and folds its object into the status item. The fact write is the
 * deduplication; on a duplicate (a redelivery, perhaps after a crash between the two writes)
 * the status is brought up to date all the same, which changes nothing when it already is.
 */
export async function commitFact(
  fact: Fact,
  customerId: string,
  deps: ApplyDeps,
): Promise<'applied' | 'duplicate'> {
  const committed = await deps.store.putFact(customerId, fact, deps.clock().toISOString());
  const needsObject = ruleForType(fact.type)?.entryKind != null;
  await deps.store.updateStatus(customerId, async (current) => {
    // Read after the status item, so these facts include every fact the item reflects.
    const facts = needsObject ? await deps.store.objectFacts(customerId, fact.objectId) : [];
    return applyObjectFacts(
      current?.record ?? EMPTY_RECORD,
      fact.objectId,
      withFact(facts, committed.fact),
    );
  });
  return committed.outcome;
}

/** `facts` with `fact` in it (a strongly consistent read has it already; this is a guard). */
function withFact(facts: AppliedFact[], fact: AppliedFact): AppliedFact[] {
  return facts.some((f) => f.eventId === fact.eventId) ? facts : [...facts, fact];
}

/** Applies a parked event for its now-known customer, then removes it from the park. */
async function applyParked(parked: ParkedEvent, customerId: string, deps: ApplyDeps) {
  await commitFact(parked.fact, customerId, deps);
  await deps.store.unpark(parked.eventId, parked.keys);
}

/** Records this event's customer as the owner of the ids it reveals; applies who waited. */
async function revealOwners(
  keys: readonly string[],
  customerId: string,
  deps: ApplyDeps,
): Promise<number> {
  let applied = 0;
  for (const key of keys) {
    const { owner, waiting } = await deps.store.revealOwner(key, customerId);
    for (const eventId of waiting) {
      const parked = await deps.store.parkedEvent(eventId);
      if (parked) {
        await applyParked(parked, owner, deps);
        applied += 1;
      } else {
        // Applied by someone else meanwhile: only the waiting mark is left.
        await deps.store.unpark(eventId, [key]);
      }
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
  if ('unsupported' in owner) return { ...result('unsupported', null), reason: owner.unsupported };
  if ('none' in owner) return result('no_customer', null);
  const fact = rule.toFact(event);
  let parkedKeys: readonly string[] = [];
  if ('unknown' in owner) {
    // Park, then look again: the park marks each key in the same item whose atomic update
    // records its owner, so either the revealer sees this event waiting or this sees it.
    parkedKeys = owner.unknown;
    const parked = { eventId: event.id, type: event.type, fact, keys: [...parkedKeys] };
    const known = await deps.store.park(
      { ...parked, chargeId: owner.chargeId },
      deps.clock().getTime(),
    );
    if (!known) return result('parked', null);
    owner = { customerId: known };
  }
  const outcome = await commitFact(fact, owner.customerId, deps);
  // Unpark only after the commit: a crash in between leaves the event parked, never lost.
  if (parkedKeys.length > 0) await deps.store.unpark(event.id, parkedKeys);
  const unparked = await revealOwners(rule.revealKeys(event), owner.customerId, deps);
  return result(outcome, owner.customerId, unparked);
}

/** The sweeper's retry of one parked event: look its owner up again and apply it. */
export async function retryParked(
  parked: ParkedEvent,
  deps: ApplyDeps,
): Promise<'applied' | 'no_customer' | 'parked'> {
  const owner = await lookUpOwner(parked.keys, parked.chargeId, deps);
  if ('unknown' in owner || 'unsupported' in owner) return 'parked';
  if ('none' in owner) {
    await deps.store.unpark(parked.eventId, parked.keys);
    return 'no_customer';
  }
  await applyParked(parked, owner.customerId, deps);
  return 'applied';
}
