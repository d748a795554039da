// What each object kind contributes to a customer's billing status. A kind's rule reads its
// events (extraction), folds all facts of one object into that object's *entry* (the small
// value the billing-status item keeps while the object matters), and says which blockers and
// warnings the entries yield. Pure types: no I/O.

import type {
  AppliedFact,
  BlockerReason,
  Condition,
  CustomerResolution,
  Fact,
  PaymentMethodView,
  WarningReason,
} from './facts';
import type { Opener } from './ordering';
import type { ObjectKind } from './registry';
import type { StripeEvent } from './stripe-event';

/** A PaymentIntent's or legacy charge's failures that no successful payment superseded yet. */
export interface PaymentEntry {
  readonly kind: 'payment';
  /** Sorted by `created`, then event id. */
  readonly failures: readonly Opener[];
}

/** An invoice that is neither paid nor void and has failed or needs an action. */
export interface InvoiceEntry {
  readonly kind: 'invoice';
  readonly blocker: {
    readonly reason: 'payment_failed' | 'invoice_uncollectible';
    readonly since: Opener;
  } | null;
  readonly actionRequired: Opener | null;
}

/** A dispute that was opened and is not closed. */
export interface DisputeEntry {
  readonly kind: 'dispute';
  readonly opened: Opener;
}

/** A subscription whose current status blocks. */
export interface SubscriptionEntry {
  readonly kind: 'subscription';
  readonly reason: 'subscription_unpaid' | 'subscription_paused';
  readonly since: Opener;
}

/** A payment method or source, kept for good: the status lists every known method. */
export interface MethodEntry {
  readonly kind: 'method';
  readonly type: string;
  readonly brand: string | null;
  readonly last4: string | null;
  readonly expMonth: number | null;
  readonly expYear: number | null;
  /** The deletion (detach, source deleted) that made it `deleted`, if any. */
  readonly deleted: Opener | null;
  /** The `customer.source.expiring` event that announced exactly its current expiry, if any. */
  readonly announced: Opener | null;
}

export type Entry = PaymentEntry | InvoiceEntry | DisputeEntry | SubscriptionEntry | MethodEntry;
export type EntryKind = Entry['kind'];

/** What one fact means to the customer as a whole, beyond its object's entry. */
export interface CustomerEffect {
  /** A successful payment: failures at or before its `created` are superseded. */
  readonly success?: boolean;
  /** The customer was deleted (terminal). */
  readonly deleted?: boolean;
}

/** How one object kind's events are read and what they mean. One module per kind in ./rules. */
export interface KindRule {
  readonly kind: ObjectKind;
  /**
   * What each event type of this kind means to the rules. Every registry type of the kind
   * must be here (a test checks it), so a new registry line cannot be stored and ignored.
   */
  readonly meanings: ReadonlyMap<string, string>;
  resolveCustomer(event: StripeEvent): CustomerResolution;
  toFact(event: StripeEvent): Fact;
  /**
   * The object ids this event ties to its customer when it names one (its charge, its
   * PaymentIntent, its latest charge, its payment method). Events parked waiting on any of
   * these are applied once this event is committed.
   */
  revealKeys(event: StripeEvent): readonly string[];
  /**
   * The entry kind its facts fold into, or null when its facts only act on the customer as a
   * whole (then applying one needs no other fact of its object). Facts of kinds with the same
   * entry kind fold together (a card can receive both source and payment-method events).
   */
  readonly entryKind: EntryKind | null;
  /**
   * Folds every fact of one object (of this entry kind) into the object's entry, or null when
   * the object contributes nothing (closed, terminal, or nothing open). `meaningOf` gives each
   * fact's meaning in its own kind's rule.
   */
  fold(facts: readonly AppliedFact[], meaningOf: MeaningOf): Entry | null;
  customerEffect(fact: Fact): CustomerEffect;
}

export type MeaningOf = (fact: AppliedFact) => string | undefined;

/** Inputs of the conditions that depend on the customer or on the reading time. */
export interface ViewContext {
  readonly customerId: string;
  /** `created` of the customer's latest successful payment, or null. */
  readonly latestSuccess: number | null;
  /** Reading time, unix seconds. */
  readonly now: number;
  /** EXPIRY_WARNING_DAYS in seconds. */
  readonly warningWindow: number;
}

export interface EntryConditions {
  blockers: Condition<BlockerReason>[];
  warnings: Condition<WarningReason>[];
  paymentMethods: PaymentMethodView[];
}

/** The conditions one entry kind yields, over all its entries of one customer. */
export interface EntryView<E extends Entry = Entry> {
  conditions(entries: ReadonlyArray<readonly [string, E]>, ctx: ViewContext): EntryConditions;
  /**
   * The entry as it stands after the customer's latest successful payment moved: parts that
   * can never count again are dropped; null drops the whole entry. Default: unchanged.
   */
  settle?(entry: E, latestSuccess: number | null): E | null;
}
