// The vocabulary between the rules and the store. An applied event is kept as one small
// Fact in its customer's partition, grouped by its object: it is at once the deduplication
// record, the history entry and the input its object's entry in the status is folded from.
// Pure types: no I/O.

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
    }
  /**
   * The event names its owner in a way this gate does not key records by (Stripe Accounts
   * v2: `customer_account` instead of `customer`): acknowledged, counted and logged.
   */
  | { readonly kind: 'unsupported'; readonly reason: string };

export type BlockerReason =
  | 'payment_failed'
  | 'invoice_uncollectible'
  | 'dispute_open'
  | 'subscription_unpaid'
  | 'subscription_paused'
  | 'customer_deleted'
  | 'operator_deny';

export type WarningReason =
  'payment_action_required' | 'payment_method_expiring' | 'no_valid_payment_method';

export interface Condition<R extends string> {
  reason: R;
  objectId: string;
  since: number;
  eventId: string | null;
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

/** The billing status JSON, field for field (docs/behaviour.md#the-billing-status). */
export interface BillingStatus {
  customerId: string;
  canAllocate: boolean;
  blockers: Condition<BlockerReason>[];
  warnings: Condition<WarningReason>[];
  paymentMethods: PaymentMethodView[];
  override: { mode: OverrideMode; reason: string; setAt: string } | null;
  livemode: boolean;
  lastEventId: string | null;
  updatedAt: string;
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
