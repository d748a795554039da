// What each object kind contributes to a customer's billing status. A kind's rule reads its
// events (extraction), folds all facts of one object into that object's *entry* (the small
// value the billing-status item keeps while the object matters), and says which conditions
// the entries yield. Entries and conditions know nothing of the deployer's policy: the policy
// decides afterwards whether a condition blocks, warns or is ignored (billing-status.ts).
// Pure types: no I/O.

import type { AppliedFact, CustomerResolution, Fact, PaymentMethodView } from './facts';
import type { Opener } from './ordering';
import type { ConditionReason } from './policy';
import type { ObjectKind } from './registry';
import type { StripeEvent } from './stripe-event';

/** A PaymentIntent's or legacy charge's failures that no successful payment superseded yet. */
export interface PaymentEntry {
  readonly kind: 'payment';
  /** Sorted by `created`, then event id. */
  readonly failures: readonly Opener[];
}

/** An invoice that is neither paid nor void and has failed, is overdue or needs an action. */
export interface InvoiceEntry {
  readonly kind: 'invoice';
  /** The earliest `invoice.payment_failed`. */
  readonly failed: Opener | null;
  /**
   * The newest failure (greatest attempt count, then `created`, then id), and whether Stripe
   * still plans to retry it (its `next_payment_attempt` is set): what `whileRetrying` reads.
   */
  readonly newestFailure: { readonly at: Opener; readonly retrying: boolean } | null;
  /** The earliest `marked_uncollectible`, unless collection is paused. */
  readonly uncollectible: Opener | null;
  /** The earliest `invoice.overdue`. */
  readonly overdue: Opener | null;
  readonly actionRequired: Opener | null;
  /**
   * Collection is paused (an event saw it uncollectible for `subscription_paused`): the
   * invoice opens no failure, overdue or uncollectible condition.
   */
  readonly paused: boolean;
}

/** A dispute that was opened and is not closed. */
export interface DisputeEntry {
  readonly kind: 'dispute';
  readonly opened: Opener;
}

/** A subscription whose current status blocks. */
export interface SubscriptionEntry {
  readonly kind: 'subscription';
  readonly reason: 'subscription_past_due' | 'subscription_unpaid' | 'subscription_paused';
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

/**
 * A payment (a PaymentIntent, or a legacy charge) known to belong to an invoice, or, with
 * `invoice: null`, known to belong to none (Stripe was asked once). Learned from any event
 * that names both, in any order, and kept with the payment's facts, so its fold sees it.
 */
export interface InvoiceLink {
  /** The PaymentIntent or legacy charge id. */
  readonly payment: string;
  readonly invoice: string | null;
}

/** What one fact means to the customer as a whole, beyond its object's entry. */
export interface CustomerEffect {
  /** A successful payment: failures at or before its `created` are superseded. */
  readonly success?: boolean;
  /** The customer was deleted (terminal). */
  readonly deleted?: boolean;
  /** The customer's Accounts v2 id (`acct_...`), when the event names both ids. */
  readonly customerAccount?: string;
}

/** How one object kind's events are read and what they mean. One module per kind in ./rules. */
export interface KindRule {
  readonly kind: ObjectKind;
  /** What each event type of this kind means to the rules (from the registry). */
  readonly meanings: ReadonlyMap<string, string>;
  resolveCustomer(event: StripeEvent): CustomerResolution;
  toFact(event: StripeEvent): Fact;
  /**
   * The object ids this event ties to its customer when it names one (its charge, its
   * PaymentIntent, its latest charge, its payment method, its customer's Accounts v2 id).
   * Events parked waiting on any of these are applied once this event is committed.
   */
  revealKeys(event: StripeEvent): readonly string[];
  /**
   * The PaymentIntents this event says belong to an invoice (a charge or invoice of API
   * versions before basil, an invoice payment). Each is kept with that PaymentIntent's facts
   * and its entry folded again. @default none
   */
  links?(event: StripeEvent): readonly InvoiceLink[];
  /**
   * Every id this event's rule reads (object, customer, charge, PaymentIntent, invoice,
   * account...), so that ids Stripe never sends are refused at the door.
   */
  idsRead(event: StripeEvent): readonly string[];
  /**
   * The entry kind its facts fold into, or null when its facts only act on the customer as a
   * whole (then applying one needs no other fact of its object). Facts of kinds with the same
   * entry kind fold together (a card can receive both source and payment-method events).
   */
  readonly entryKind: EntryKind | null;
  /**
   * Folds every fact of one object (of this entry kind), with the invoice links known for it,
   * into the object's entry, or null when the object contributes nothing (closed, terminal,
   * or nothing open). `meaningOf` gives each fact's meaning in its own kind's rule.
   */
  fold(
    facts: readonly AppliedFact[],
    meaningOf: MeaningOf,
    links: readonly InvoiceLink[],
  ): Entry | null;
  /**
   * Whether this fact can change its object's entry. When it cannot (a charge of a
   * PaymentIntent: its PaymentIntent's events decide), applying it reads no other fact of its
   * object. @default always
   */
  changesEntry?(fact: Fact): boolean;
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

/**
 * A condition as a rule sees it, before the policy: its reason, object and opening event. An
 * invoice's failure also says whether Stripe still retries it (`whileRetrying`).
 */
export interface RawCondition {
  readonly reason: ConditionReason;
  readonly objectId: string;
  readonly since: number;
  readonly eventId: string | null;
  /** Invoices' `payment_failed` only: retrying, or given up at `gaveUpAt`. */
  readonly retry?: { readonly retrying: boolean; readonly gaveUpAt: number | null };
}

export interface EntryConditions {
  conditions: RawCondition[];
  paymentMethods: PaymentMethodView[];
  /** Future moments at which these entries' conditions or methods change with no event. */
  changesAt: number[];
  /**
   * Methods only: whether any is known, whether one is usable (active or expiring), and the
   * latest moment one stopped being valid; `no_valid_payment_method` is decided from these
   * with the summarised methods (billing-status.ts).
   */
  methods?: MethodsState;
}

export interface MethodsState {
  readonly known: boolean;
  readonly usable: boolean;
  readonly lastStop: { readonly time: number; readonly eventId: string | null } | null;
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
