// The use case of every processor: check the event's ids and dates -> find the customer ->
// commit the fact (the one conditional write that deduplicates) -> fold the event's object
// (and any payment it links to an invoice) into the customer's status item -> apply the
// events this one reveals a customer for. Nothing here reads more than the objects the event
// names: never the customer's whole history. A batch (applyEvents) commits each event's fact
// on its own, then writes each customer's status item once for all its events of the batch.

import type { FactStore, ObjectFacts, ParkedEvent } from '../adapters/fact-store';
import { mergeStatusChanges, type StatusChange } from '../adapters/status-writer';
import type { StripeLookup } from '../adapters/stripe-api';
import type { InvoiceLink, KindRule } from '../core/entries';
import { MisroutedEventError } from '../core/errors';
import type { AppliedFact, Fact } from '../core/facts';
import { registryEntry } from '../core/registry';
import { eventProblem, refoldsEntry, ruleForType } from '../core/rules';
import { customerChange, objectEntries } from '../core/status-record';
import { stripeEventProblem, type StripeEvent } from '../core/stripe-event';

export type ApplyOutcome =
  'applied' | 'duplicate' | 'no_customer' | 'parked' | 'unsupported' | 'refused';

/** The store methods applying an event may use. */
export type ApplyStore = Pick<
  FactStore,
  | 'putFact'
  | 'putLink'
  | 'objectFacts'
  | 'applyToStatus'
  | 'ownerOf'
  | 'revealOwners'
  | 'park'
  | 'parkedEvent'
  | 'unpark'
>;

export interface ApplyDeps {
  store: ApplyStore;
  /**
   * Set when a Stripe API key is configured (and the type may ask, see the registry):
   * disputes ask for their charge's customer, failed PaymentIntents for their invoice.
   */
  stripe: StripeLookup | null;
  clock: () => Date;
}

export interface ApplyResult {
  outcome: ApplyOutcome;
  eventId: string;
  type: string;
  customerId: string | null;
  /** Parked events this one revealed a customer for, applied now. */
  unparked: number;
  /** Why the event was not applied (unsupported and refused only). */
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
  | { unknown: readonly string[]; chargeId: string | null; accountId: string | null }
  | { unsupported: string };

/** Whose record the event touches, looking up disputes, detaches and Accounts v2 ids. */
async function findCustomer(event: StripeEvent, rule: KindRule, deps: ApplyDeps): Promise<Owner> {
  const resolution = rule.resolveCustomer(event);
  if (resolution.kind === 'customer') return { customerId: resolution.customerId };
  if (resolution.kind === 'none') return { none: true };
  if (resolution.kind === 'unsupported') return { unsupported: resolution.reason };
  return lookUpOwner(resolution.keys, resolution.chargeId, resolution.accountId ?? null, deps, {
    askAccount: false,
  });
}

/**
 * The owner an earlier event revealed, else the Stripe API's answer, else unknown. Processors
 * ask only for a dispute's charge; the sweeper also asks for an Accounts v2 id's customer
 * (`askAccount`), so that no other processor needs the API key.
 */
async function lookUpOwner(
  keys: readonly string[],
  chargeId: string | null,
  accountId: string | null,
  deps: ApplyDeps,
  { askAccount }: { askAccount: boolean },
): Promise<Owner> {
  const known = await deps.store.ownerOf(keys);
  if (known) return { customerId: known };
  const unknown = { unknown: keys, chargeId, accountId };
  if (chargeId && deps.stripe) {
    // A charge without a customer: the dispute changes no record.
    const customerId = await deps.stripe.chargeCustomer(chargeId);
    if (customerId !== undefined) return customerId ? { customerId } : { none: true };
  }
  if (accountId && askAccount && deps.stripe) {
    const customerId = await deps.stripe.accountCustomer(accountId);
    // Stripe knows no customer for the account yet: keep waiting for one.
    if (customerId) {
      await deps.store.revealOwners([accountId], customerId);
      return { customerId };
    }
  }
  return unknown;
}

/**
 * The status-item entries of objects, each folded from all its facts and links. An object
 * closed from its only fact (a succeeded charge, say) is left out: a closed entry is written
 * so that an older snapshot cannot bring the object back, and a snapshot of one fact has none
 * older; another single fact of the object is folded again, with both, by whichever of the two
 * events commits last.
 */
function entriesOf(
  objects: ReadonlyMap<string, ObjectFacts>,
): NonNullable<StatusChange['entries']> {
  const entries = [];
  for (const [objectId, { facts, links }] of objects) {
    const count = facts.length + links.length;
    for (const [kind, entry] of objectEntries(facts, links)) {
      if (entry === null && count <= 1) continue;
      entries.push({ kind, objectId, count, entry });
    }
  }
  return entries;
}

/**
 * With an API key, a failed PaymentIntent that nothing links to an invoice asks Stripe once
 * which invoice it pays (docs/behaviour.md#access-policy); the answer, an invoice or none, is
 * kept as its link, so it is never asked again.
 */
async function askForInvoice(
  fact: AppliedFact,
  known: ObjectFacts | undefined,
  deps: ApplyDeps,
): Promise<InvoiceLink | null> {
  if (!deps.stripe || !known || registryEntry(fact.type)?.stripeApi !== 'invoice_payment') {
    return null;
  }
  const linked =
    known.links.length > 0 || known.facts.some((f) => typeof f.data.invoice === 'string');
  if (linked) return null;
  const invoice = await deps.stripe.paymentIntentInvoice(fact.objectId);
  return invoice === undefined ? null : { payment: fact.objectId, invoice };
}

/**
 * Commits a fact and folds its object, and every payment it links to an invoice, into the
 * status item. The fact write is the deduplication; on a duplicate (a redelivery, perhaps
 * after a crash between the writes) the status is brought up to date all the same, which
 * changes nothing when it already is.
 */
export async function commitFact(
  fact: Fact,
  customerId: string,
  links: readonly InvoiceLink[],
  deps: ApplyDeps,
): Promise<'applied' | 'duplicate'> {
  const committed = await commitFactOnly(fact, customerId, links, deps);
  await deps.store.applyToStatus(customerId, committed.change, committed.change.commit!.id);
  return committed.outcome;
}

/** A committed fact and the status change it makes (not written yet). */
interface Committed {
  outcome: 'applied' | 'duplicate';
  change: StatusChange;
}

/** commitFact up to the status item: the fact, its links, and the change they make. */
async function commitFactOnly(
  fact: Fact,
  customerId: string,
  links: readonly InvoiceLink[],
  deps: ApplyDeps,
): Promise<Committed> {
  const committed = await deps.store.putFact(customerId, fact, deps.clock().toISOString());
  const applied = committed.fact;
  const objects = new Map<string, ObjectFacts>();
  if (refoldsEntry(applied)) {
    // Read after the fact's commit: these include it, and every fact the item reflects.
    const own = await deps.store.objectFacts(customerId, applied.objectId);
    if (!own.facts.some((f) => f.eventId === applied.eventId)) own.facts.push(applied);
    objects.set(applied.objectId, own);
  }
  const asked = await askForInvoice(applied, objects.get(applied.objectId), deps);
  for (const link of asked ? [...links, asked] : links) {
    await deps.store.putLink(customerId, link);
    const known = objects.get(link.payment);
    if (known) known.links.push(link);
    // Read after the link's write, so the payment's fold sees it.
    else objects.set(link.payment, await deps.store.objectFacts(customerId, link.payment));
  }
  return {
    outcome: committed.outcome,
    change: {
      entries: entriesOf(objects),
      commit: { id: applied.eventId, at: applied.appliedAt },
      stripe: { id: applied.eventId, at: applied.appliedAt, livemode: applied.livemode },
      ...customerChange(applied),
    },
  };
}

/** Applies a parked event for its now-known customer, then removes it from the park. */
async function applyParked(parked: ParkedEvent, customerId: string, deps: ApplyDeps) {
  await commitFact(parked.fact, customerId, parked.links ?? [], deps);
  await deps.store.unpark(parked.eventId, parked.keys);
}

/**
 * Records `customerId` as the owner of the ids events reveal; applies who waited. Returns,
 * per key, how many parked events it applied.
 */
async function revealOwners(
  keys: readonly string[],
  customerId: string,
  deps: ApplyDeps,
): Promise<Map<string, number>> {
  const applied = new Map<string, number>();
  const unique = [...new Set(keys)];
  for (const { key, owner, waiting } of await deps.store.revealOwners(unique, customerId)) {
    for (const eventId of waiting) {
      const parked = await deps.store.parkedEvent(eventId);
      if (parked) {
        await applyParked(parked, owner, deps);
        applied.set(key, (applied.get(key) ?? 0) + 1);
      } else {
        // Applied by someone else meanwhile: only the waiting mark is left.
        await deps.store.unpark(eventId, [key]);
      }
    }
  }
  return applied;
}

/** How many of `applied` (per key) were revealed by `keys`, each key counted once. */
function countRevealed(keys: readonly string[], applied: Map<string, number>): number {
  let count = 0;
  for (const key of new Set(keys)) {
    count += applied.get(key) ?? 0;
    applied.delete(key);
  }
  return count;
}

/** An event up to its status write: its result so far and, when it commits, what follows. */
interface Prepared {
  result: ApplyResult;
  /** Set when the event committed a fact: the change to write, then what to do after. */
  commit?: {
    customerId: string;
    change: StatusChange;
    /** The keys the event was parked under (unparked after the status write). */
    parkedKeys: readonly string[];
    /** The ids it reveals its customer for. */
    revealKeys: readonly string[];
  };
}

/** Checks, finds the customer, parks or commits the fact: everything before the status write. */
async function prepareEvent(
  body: string,
  expectedType: string | null,
  deps: ApplyDeps,
): Promise<Prepared> {
  const event = parseQueuedEvent(body, expectedType);
  const rule = ruleForType(event.type)!;
  const result = (outcome: ApplyOutcome, customerId: string | null): ApplyResult => ({
    outcome,
    eventId: event.id,
    type: event.type,
    customerId,
    unparked: 0,
  });
  // Ids and dates Stripe never sends stop here (the verifier refuses them on the webhook).
  const problem = eventProblem(event, Math.floor(deps.clock().getTime() / 1000));
  if (problem) return { result: { ...result('refused', null), reason: problem } };

  let owner = await findCustomer(event, rule, deps);
  if ('unsupported' in owner) {
    return { result: { ...result('unsupported', null), reason: owner.unsupported } };
  }
  if ('none' in owner) return { result: result('no_customer', null) };
  const fact = rule.toFact(event);
  const links = rule.links?.(event) ?? [];
  let parkedKeys: readonly string[] = [];
  if ('unknown' in owner) {
    // Park, then look again: the park marks each key in the same item whose atomic update
    // records its owner, so either the revealer sees this event waiting or this sees it.
    parkedKeys = owner.unknown;
    const known = await deps.store.park(
      {
        eventId: event.id,
        type: event.type,
        fact,
        keys: [...parkedKeys],
        chargeId: owner.chargeId,
        accountId: owner.accountId,
        links: [...links],
      },
      deps.clock().getTime(),
    );
    if (!known) return { result: result('parked', null) };
    owner = { customerId: known };
  }
  const committed = await commitFactOnly(fact, owner.customerId, links, deps);
  const alias = typeof fact.data.customerAccount === 'string' ? [fact.data.customerAccount] : [];
  return {
    result: result(committed.outcome, owner.customerId),
    commit: {
      customerId: owner.customerId,
      change: committed.change,
      parkedKeys,
      revealKeys: [...rule.revealKeys(event), ...alias],
    },
  };
}

/**
 * After the status write of the events of one customer: unpark those that were parked, then
 * record the ids they reveal (one read for all of them) and apply the events that waited.
 */
async function finishEvents(
  customerId: string,
  prepared: readonly Prepared[],
  deps: ApplyDeps,
): Promise<ApplyResult[]> {
  // Unpark only after the commit: a crash in between leaves the event parked, never lost.
  await Promise.all(
    prepared.map(async ({ result, commit }) => {
      if (commit && commit.parkedKeys.length > 0) {
        await deps.store.unpark(result.eventId, commit.parkedKeys);
      }
    }),
  );
  const applied = await revealOwners(
    prepared.flatMap((p) => p.commit?.revealKeys ?? []),
    customerId,
    deps,
  );
  return prepared.map((p) => ({
    ...p.result,
    unparked: countRevealed(p.commit?.revealKeys ?? [], applied),
  }));
}

/** Applies one event: a batch of one (applyEvents), its failure thrown. */
export async function applyEvent(
  body: string,
  expectedType: string | null,
  deps: ApplyDeps,
): Promise<ApplyResult> {
  const [result] = await applyEvents([body], expectedType, deps);
  if (result instanceof Error) throw result;
  return result!;
}

/**
 * Applies a batch: each event is checked and its fact committed on its own, then each
 * customer's status item is written once with the merged changes of all its events of the
 * batch (mergeStatusChanges), then its events are unparked and reveal their owners. Writers
 * of one customer in one batch thus make one write instead of racing each other. Per event,
 * its result or the error that keeps it for redelivery: a failure after an event's fact
 * (its customer's status write, or what follows) fails every event of that customer in the
 * batch; their facts are kept, and a redelivery, a duplicate, brings the item up to date.
 */
export async function applyEvents(
  bodies: readonly string[],
  expectedType: string | null,
  deps: ApplyDeps,
): Promise<(ApplyResult | Error)[]> {
  const asError = (err: unknown) => (err instanceof Error ? err : new Error(String(err)));
  const prepared = await Promise.all(
    bodies.map((body) => prepareEvent(body, expectedType, deps).catch(asError)),
  );
  // Until its customer's write: an event's result so far (final for those that commit none).
  const outcomes = prepared.map((p) => (p instanceof Error ? p : p.result));
  const byCustomer = new Map<string, number[]>();
  prepared.forEach((p, i) => {
    if (p instanceof Error || !p.commit) return;
    byCustomer.set(p.commit.customerId, [...(byCustomer.get(p.commit.customerId) ?? []), i]);
  });
  await Promise.all(
    [...byCustomer].map(async ([customerId, indexes]) => {
      const group = indexes.map((i) => prepared[i] as Prepared);
      const merged = group.map((p) => p.commit!.change).reduce(mergeStatusChanges);
      try {
        await deps.store.applyToStatus(customerId, merged, merged.commit!.id);
        const results = await finishEvents(customerId, group, deps);
        indexes.forEach((i, k) => (outcomes[i] = results[k]!));
      } catch (err) {
        for (const i of indexes) outcomes[i] = asError(err);
      }
    }),
  );
  return outcomes;
}

/** The sweeper's retry of one parked event: look its owner up again and apply it. */
export async function retryParked(
  parked: ParkedEvent,
  deps: ApplyDeps,
): Promise<'applied' | 'no_customer' | 'parked'> {
  const owner = await lookUpOwner(parked.keys, parked.chargeId, parked.accountId ?? null, deps, {
    askAccount: true,
  });
  if ('unknown' in owner || 'unsupported' in owner) return 'parked';
  if ('none' in owner) {
    await deps.store.unpark(parked.eventId, parked.keys);
    return 'no_customer';
  }
  await applyParked(parked, owner.customerId, deps);
  return 'applied';
}
