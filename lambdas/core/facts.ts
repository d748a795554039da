// The vocabulary between the rules and the store. An applied event is kept as one small
// Fact in its customer's partition, grouped by its object: it is at once the deduplication
// record, the history entry and the input its object's entry in the status is folded from.
// Pure types: no I/O.

import type { ConditionReason } from './policy';

/**
 * Rule-specific details of one event, as small JSON. Each rule file defines the shape it
 * writes and reads back; the store treats it as opaque. Keep it small: a fact item must
 * stay under 1 KB so that one write costs one write unit.
 */
export type FactData = Record<string, string | number | boolean | null>;

/** What one applied event contributes, before the store adds who and when. */
export interface Fact {
  /** The Stripe event id (`evt_...`, or `bf_...` for a backfilled listing). */
  readonly eventId: string;
  readonly type: string;
  /** The event's `created`, unix seconds. */
  readonly created: number;
  readonly livemode: boolean;
  /** The Stripe object the event is about (pi_, ch_, in_, dp_, pm_/card_/src_, sub_, cus_). */
  readonly objectId: string;
  readonly data: FactData;
}

/** A fact as committed: its customer and the commit time. */
export interface AppliedFact extends Fact {
  readonly customerId: string;
  /** ISO 8601 time of the commit (milliseconds). */
  readonly appliedAt: string;
}

export type OverrideMode = 'allow' | 'deny';

/** One operator action on a customer: a set or a clear (docs/behaviour.md#the-billing-status). */
export interface OverrideRecord {
  /** `ovr_...`, sortable by time of creation. */
  readonly id: string;
  readonly customerId: string;
  /** `null` for a clear. */
  readonly mode: OverrideMode | null;
  readonly reason: string | null;
  /** ISO 8601 with milliseconds. */
  readonly setAt: string;
  /** Unix seconds at which a set ends as if cleared; null when it does not expire (and for a clear). */
  readonly expiresAt: number | null;
  /** Who did it (AWS caller identity or local user), for the history. */
  readonly actor: string | null;
}

/** Where an event's customer comes from. */
export type CustomerResolution =
  /** The event names its customer. */
  | { readonly kind: 'customer'; readonly customerId: string }
  /** A guest payment, a charge without customer...: the event changes no record. */
  | { readonly kind: 'none' }
  /**
   * The customer must be found through another object: a dispute's charge or PaymentIntent,
   * a detached payment method. `keys` are the object ids to look up, most specific first;
   * `chargeId` is the charge the Stripe API can be asked about (disputes only).
   */
  | {
      readonly kind: 'lookup';
      readonly keys: readonly string[];
      readonly chargeId: string | null;
      /** An Accounts v2 id the Stripe API can be asked about (objects naming only it). */
      readonly accountId?: string | null;
    }
  /**
   * The event names an owner this gate cannot key a record by (a `customer` that is not a
   * customer id): acknowledged, counted and logged.
   */
  | { readonly kind: 'unsupported'; readonly reason: string };

/** The reason of a listed condition: any a rule opens, or an operator's deny. */
export type ConditionReasonOrDeny = ConditionReason | 'operator_deny';
/** Under the policy any reason may block (`operator_deny` always does). */
export type BlockerReason = ConditionReasonOrDeny;
/** Under the policy any configurable reason may warn (a `block` in its grace warns too). */
export type WarningReason = ConditionReason;

export interface Condition<R extends string> {
  reason: R;
  objectId: string;
  since: number;
  eventId: string | null;
  /**
   * Only on conditions governed by the policy's `grace` or `whileRetrying`: the unix second
   * at which it blocks or blocked, `null` while only `whileRetrying` holds it.
   */
  blocksAt?: number | null;
}

export type PaymentMethodStatus = 'active' | 'expiring' | 'expired' | 'deleted';

export interface PaymentMethodView {
  id: string;
  type: string;
  status: PaymentMethodStatus;
  brand: string | null;
  last4: string | null;
  expMonth: number | null;
  expYear: number | null;
}

/** Conditions of one reason that a summarised status counts instead of listing. */
export interface SummarisedConditions {
  reason: ConditionReason;
  /** How many conditions of this reason the status does not list. */
  count: number;
  /** The earliest `since` among them. */
  since: number;
  /** The earliest moment one of them blocks (or blocked), when the policy gives one. */
  blocksAt?: number | null;
}

/** What a status past its bound counts instead of listing (docs/behaviour.md#hostile-and-busy-customers). */
export interface StatusSummary {
  blockers: SummarisedConditions[];
  warnings: SummarisedConditions[];
  /** Payment methods not listed, by status. */
  paymentMethods: Record<PaymentMethodStatus, number>;
}

/** The operator override in force, as the status shows it. */
export interface OverrideView {
  mode: OverrideMode;
  reason: string;
  setAt: string;
  /** Unix seconds at which it ends as if cleared; null when it does not expire. */
  expiresAt: number | null;
}

/** The billing status JSON, field for field (docs/behaviour.md#the-billing-status). */
export interface BillingStatus {
  customerId: string;
  /** The customer's Accounts v2 id, when an event has taught it. */
  customerAccount?: string;
  canAllocate: boolean;
  blockers: Condition<BlockerReason>[];
  warnings: Condition<WarningReason>[];
  paymentMethods: PaymentMethodView[];
  override: OverrideView | null;
  livemode: boolean;
  lastEventId: string | null;
  updatedAt: string;
  /** The earliest future unix second at which the status changes with no further event. */
  nextChangeAt: number | null;
  /** Present only when the status counts conditions or methods instead of listing them. */
  summary?: StatusSummary;
}

/** One row of `GET /customers/{id}/events`. */
export interface HistoryEntry {
  id: string;
  type: string;
  created: number;
  appliedAt: string;
  /** Overrides only. */
  reason?: string | null;
  actor?: string | null;
}
