// Derives a customer's billing status (CONTRACT section 4) from the SET of its applied
// facts and overrides and the reading time. A pure function of that set: arrival order,
// array order and duplicates never change the answer, which is what makes every delivery
// order converge.

import type {
  AppliedFact,
  BillingStatus,
  BlockerReason,
  Condition,
  OverrideRecord,
  PaymentMethodView,
  WarningReason,
} from './facts';
import { registryEntry, type ObjectKind } from './registry';

export interface DeriveInput {
  customerId: string;
  facts: readonly AppliedFact[];
  overrides: readonly OverrideRecord[];
  /** Reading time, unix seconds: payment-method expiry is judged against it. */
  now: number;
  expiryWarningDays: number;
}

type Blocker = Condition<BlockerReason>;
type Warning = Condition<WarningReason>;

const DAY = 86_400;

// ---------------------------------------------------------------------------------------
// Small pure helpers

function byCreatedThenId(a: AppliedFact, b: AppliedFact): number {
  return a.created - b.created || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0);
}

/** The event that opened a condition: the earliest `created`, then the smallest id. */
function opener(facts: readonly AppliedFact[]): AppliedFact {
  return [...facts].sort(byCreatedThenId)[0]!;
}

function condition<R extends string>(reason: R, objectId: string, from: AppliedFact): Condition<R> {
  return { reason, objectId, since: from.created, eventId: from.eventId };
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

const str = (f: AppliedFact, key: string): string | null => {
  const v = f.data[key];
  return typeof v === 'string' ? v : null;
};
const int = (f: AppliedFact, key: string): number | null => {
  const v = f.data[key];
  return typeof v === 'number' ? v : null;
};

// ---------------------------------------------------------------------------------------
// Payments: PaymentIntents and legacy charges, with supersede

const PI_TERMINAL_STATUSES = new Set(['succeeded', 'canceled']);

function isSuccessfulPayment(f: AppliedFact): boolean {
  return (
    f.type === 'payment_intent.succeeded' ||
    (f.type === 'charge.succeeded' && str(f, 'paymentIntent') === null)
  );
}

function paymentBlockers(piFacts: AppliedFact[], chargeFacts: AppliedFact[]): Blocker[] {
  const latestSuccess = Math.max(
    -Infinity,
    ...[...piFacts, ...chargeFacts].filter(isSuccessfulPayment).map((f) => f.created),
  );
  // A failure at or before the latest successful payment is superseded.
  const open = (failures: AppliedFact[]) => failures.filter((f) => f.created > latestSuccess);
  const blockers: Blocker[] = [];
  for (const [piId, facts] of groupBy(piFacts, (f) => f.objectId)) {
    const terminal = facts.some(
      (f) =>
        f.type === 'payment_intent.succeeded' ||
        f.type === 'payment_intent.canceled' ||
        PI_TERMINAL_STATUSES.has(str(f, 'status') ?? ''),
    );
    const failures = open(facts.filter((f) => f.type === 'payment_intent.payment_failed'));
    if (!terminal && failures.length > 0) {
      blockers.push(condition('payment_failed', piId, opener(failures)));
    }
  }
  const legacy = chargeFacts.filter((f) => str(f, 'paymentIntent') === null);
  for (const [chargeId, facts] of groupBy(legacy, (f) => f.objectId)) {
    const failures = open(facts.filter((f) => f.type === 'charge.failed'));
    if (failures.length > 0) blockers.push(condition('payment_failed', chargeId, opener(failures)));
  }
  return blockers;
}

// ---------------------------------------------------------------------------------------
// Invoices

const INVOICE_TERMINAL_TYPES = new Set([
  'invoice.paid',
  'invoice.payment_succeeded',
  'invoice.voided',
]);
const INVOICE_TERMINAL_STATUSES = new Set(['paid', 'void']);

function invoiceConditions(facts: AppliedFact[]): { blockers: Blocker[]; warnings: Warning[] } {
  const blockers: Blocker[] = [];
  const warnings: Warning[] = [];
  for (const [invoiceId, events] of groupBy(facts, (f) => f.objectId)) {
    const terminal = events.some(
      (f) =>
        INVOICE_TERMINAL_TYPES.has(f.type) || INVOICE_TERMINAL_STATUSES.has(str(f, 'status') ?? ''),
    );
    if (terminal) continue;
    const failed = events.filter((f) => f.type === 'invoice.payment_failed');
    const uncollectible = events.filter((f) => f.type === 'invoice.marked_uncollectible');
    const actionRequired = events.filter((f) => f.type === 'invoice.payment_action_required');
    if (uncollectible.length > 0) {
      blockers.push(
        condition('invoice_uncollectible', invoiceId, opener([...failed, ...uncollectible])),
      );
    } else if (failed.length > 0) {
      blockers.push(condition('payment_failed', invoiceId, opener(failed)));
    }
    if (actionRequired.length > 0) {
      warnings.push(condition('payment_action_required', invoiceId, opener(actionRequired)));
    }
  }
  return { blockers, warnings };
}

// ---------------------------------------------------------------------------------------
// Disputes

const DISPUTE_CLOSED_STATUSES = new Set(['won', 'lost', 'warning_closed', 'prevented']);

function disputeBlockers(facts: AppliedFact[]): Blocker[] {
  const blockers: Blocker[] = [];
  for (const [disputeId, events] of groupBy(facts, (f) => f.objectId)) {
    const closed = events.some(
      (f) =>
        f.type === 'charge.dispute.closed' || DISPUTE_CLOSED_STATUSES.has(str(f, 'status') ?? ''),
    );
    const opened = events.filter((f) => f.type === 'charge.dispute.created');
    if (!closed && opened.length > 0) {
      blockers.push(condition('dispute_open', disputeId, opener(opened)));
    }
  }
  return blockers;
}

// ---------------------------------------------------------------------------------------
// Subscriptions

const SUBSCRIPTION_ORDER: Readonly<Record<string, number>> = {
  incomplete: 0,
  trialing: 1,
  active: 2,
  paused: 3,
  past_due: 4,
  unpaid: 5,
  canceled: 6,
  incomplete_expired: 6,
};
const SUBSCRIPTION_TERMINAL = new Set(['canceled', 'incomplete_expired']);
const rank = (status: string) => SUBSCRIPTION_ORDER[status] ?? -1;

/** Whether `a` comes after `b` among events with the same `created` (CONTRACT tie rules). */
function comesAfter(a: AppliedFact, b: AppliedFact): boolean {
  const aNamesB = str(a, 'previousStatus') === str(b, 'status');
  const bNamesA = str(b, 'previousStatus') === str(a, 'status');
  if (aNamesB !== bNamesA) return aNamesB;
  const byRank = rank(str(a, 'status')!) - rank(str(b, 'status')!);
  return byRank !== 0 ? byRank > 0 : a.eventId > b.eventId;
}

/**
 * The newest event: greatest `created`; among ties the one that comes after every other.
 * The tie relation need not be transitive, so when no candidate beats all others the
 * status order, then the id, decide: either way the choice depends on the set only.
 */
function newestSubscriptionEvent(facts: AppliedFact[]): AppliedFact {
  const latest = Math.max(...facts.map((f) => f.created));
  const candidates = facts.filter((f) => f.created === latest);
  const winner = candidates.find((c) => candidates.every((d) => d === c || comesAfter(c, d)));
  if (winner) return winner;
  return [...candidates].sort(
    (a, b) => rank(str(b, 'status')!) - rank(str(a, 'status')!) || (a.eventId < b.eventId ? 1 : -1),
  )[0]!;
}

function subscriptionBlockers(facts: AppliedFact[]): Blocker[] {
  const blockers: Blocker[] = [];
  const withStatus = facts.filter((f) => str(f, 'status') !== null);
  for (const [subscriptionId, events] of groupBy(withStatus, (f) => f.objectId)) {
    const terminal = events.filter((f) => SUBSCRIPTION_TERMINAL.has(str(f, 'status')!));
    const current = str(
      newestSubscriptionEvent(terminal.length > 0 ? terminal : events),
      'status',
    )!;
    const reason: BlockerReason | null =
      current === 'past_due' || current === 'unpaid'
        ? 'subscription_unpaid'
        : current === 'paused'
          ? 'subscription_paused'
          : null;
    if (reason === null) continue;
    const inStatus = events.filter((f) => str(f, 'status') === current);
    const entered = inStatus.filter(
      (f) =>
        f.type === 'customer.subscription.created' ||
        (str(f, 'previousStatus') !== null && str(f, 'previousStatus') !== current),
    );
    let from: AppliedFact;
    if (entered.length > 0) {
      const newest = Math.max(...entered.map((f) => f.created));
      from = opener(entered.filter((f) => f.created === newest));
    } else {
      from = opener(inStatus);
    }
    blockers.push(condition(reason, subscriptionId, from));
  }
  return blockers;
}

// ---------------------------------------------------------------------------------------
// Payment methods (PaymentMethods, legacy cards, sources)

const DELETION_TYPES = new Set(['customer.source.deleted', 'payment_method.detached']);

/** First second (UTC) of the month after the expiry month: the card is valid until then. */
export function expiryInstant(expMonth: number | null, expYear: number | null): number | null {
  if (expMonth === null || expYear === null || expMonth < 1 || expMonth > 12) return null;
  return Date.UTC(expYear, expMonth, 1) / 1000; // month index expMonth = the next month
}

function expiryKey(f: AppliedFact): number {
  return expiryInstant(int(f, 'expMonth'), int(f, 'expYear')) ?? -Infinity;
}

/** Newest details: greatest created, then the later expiry, then the greatest event id. */
function newestDetails(facts: AppliedFact[]): AppliedFact {
  return [...facts].sort(
    (a, b) =>
      b.created - a.created ||
      expiryKey(b) - expiryKey(a) ||
      (a.eventId < b.eventId ? 1 : a.eventId > b.eventId ? -1 : 0),
  )[0]!;
}

interface MethodState {
  view: PaymentMethodView;
  /** The expiring announcement of the current expiry, if any. */
  announcement: AppliedFact | null;
  deletion: AppliedFact | null;
  instant: number | null;
}

function methodStates(facts: AppliedFact[], now: number, window: number): MethodState[] {
  const states: MethodState[] = [];
  for (const [methodId, events] of groupBy(facts, (f) => f.objectId)) {
    const deletions = events.filter((f) => DELETION_TYPES.has(f.type));
    const detailEvents = events.filter((f) => !DELETION_TYPES.has(f.type));
    const details = newestDetails(detailEvents.length > 0 ? detailEvents : deletions);
    const expMonth = int(details, 'expMonth');
    const expYear = int(details, 'expYear');
    const instant = expiryInstant(expMonth, expYear);
    const announcements = events.filter(
      (f) =>
        f.type === 'customer.source.expiring' &&
        expMonth !== null &&
        int(f, 'expMonth') === expMonth &&
        int(f, 'expYear') === expYear,
    );
    const announcement = announcements.length > 0 ? opener(announcements) : null;
    const status: PaymentMethodView['status'] =
      deletions.length > 0
        ? 'deleted'
        : instant !== null && instant <= now
          ? 'expired'
          : (instant !== null && instant - now <= window) || announcement !== null
            ? 'expiring'
            : 'active';
    states.push({
      view: {
        id: methodId,
        type: str(details, 'methodType') ?? 'unknown',
        status,
        brand: str(details, 'brand'),
        last4: str(details, 'last4'),
        expMonth,
        expYear,
      },
      announcement,
      deletion: deletions.length > 0 ? opener(deletions) : null,
      instant,
    });
  }
  return states.sort((a, b) => (a.view.id < b.view.id ? -1 : 1));
}

function methodWarnings(states: MethodState[], customerId: string, window: number): Warning[] {
  const warnings: Warning[] = [];
  for (const s of states) {
    if (s.view.status !== 'expiring') continue;
    warnings.push(
      s.announcement
        ? condition('payment_method_expiring', s.view.id, s.announcement)
        : {
            reason: 'payment_method_expiring',
            objectId: s.view.id,
            since: s.instant! - window,
            eventId: null,
          },
    );
  }
  const usable = states.some((s) => s.view.status === 'active' || s.view.status === 'expiring');
  if (states.length > 0 && !usable) {
    // When each method stopped being valid: the earlier of its deletion and its expiry.
    const stops = states.map((s) => {
      const deletedAt = s.deletion?.created ?? Infinity;
      const expiredAt = s.instant ?? Infinity;
      return deletedAt <= expiredAt
        ? { since: deletedAt, eventId: s.deletion?.eventId ?? null, id: s.view.id }
        : { since: expiredAt, eventId: null, id: s.view.id };
    });
    // The latest stop; among equal moments the smallest method id, for determinism.
    const last = stops.sort((a, b) => b.since - a.since || (a.id < b.id ? -1 : 1))[0]!;
    warnings.push({
      reason: 'no_valid_payment_method',
      objectId: customerId,
      since: last.since,
      eventId: last.eventId,
    });
  }
  return warnings;
}

// ---------------------------------------------------------------------------------------
// Overrides and the record itself

function latestOverride(overrides: readonly OverrideRecord[]): OverrideRecord | null {
  return (
    [...overrides].sort((a, b) =>
      a.setAt !== b.setAt ? (a.setAt < b.setAt ? 1 : -1) : a.id < b.id ? 1 : -1,
    )[0] ?? null
  );
}

function sortConditions<R extends string>(list: Condition<R>[]): Condition<R>[] {
  return list.sort(
    (a, b) =>
      a.since - b.since ||
      (a.objectId < b.objectId ? -1 : a.objectId > b.objectId ? 1 : 0) ||
      (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0),
  );
}

function uniqueFacts(facts: readonly AppliedFact[]): AppliedFact[] {
  const seen = new Map<string, AppliedFact>();
  for (const f of facts) {
    const prior = seen.get(f.eventId);
    // A duplicate carries the same content; keep the earliest commit deterministically.
    if (!prior || f.appliedAt < prior.appliedAt) seen.set(f.eventId, f);
  }
  return [...seen.values()];
}

export function deriveBillingStatus(input: DeriveInput): BillingStatus | null {
  const facts = uniqueFacts(input.facts);
  if (facts.length === 0 && input.overrides.length === 0) return null;
  const window = input.expiryWarningDays * DAY;

  const byKind = (...kinds: ObjectKind[]) =>
    facts.filter((f) => kinds.includes(registryEntry(f.type)?.kind as ObjectKind));

  const invoices = invoiceConditions(byKind('invoice'));
  const methods = methodStates(byKind('payment_method', 'source'), input.now, window);
  const blockers: Blocker[] = [
    ...paymentBlockers(byKind('payment_intent'), byKind('charge')),
    ...invoices.blockers,
    ...disputeBlockers(byKind('dispute')),
    ...subscriptionBlockers(byKind('subscription')),
  ];
  const deletions = facts.filter((f) => f.type === 'customer.deleted');
  if (deletions.length > 0) {
    blockers.push(condition('customer_deleted', input.customerId, opener(deletions)));
  }

  const override = latestOverride(input.overrides);
  const activeOverride = override?.mode ? override : null;
  if (activeOverride?.mode === 'deny') {
    blockers.push({
      reason: 'operator_deny',
      objectId: input.customerId,
      since: Math.floor(Date.parse(activeOverride.setAt) / 1000),
      eventId: null,
    });
  }

  const commits = [
    ...facts.map((f) => ({ id: f.eventId, at: f.appliedAt })),
    ...input.overrides.map((o) => ({ id: o.id, at: o.setAt })),
  ].sort((a, b) => (a.at !== b.at ? (a.at < b.at ? 1 : -1) : a.id < b.id ? 1 : -1));
  const lastStripeFact = [...facts].sort((a, b) =>
    a.appliedAt !== b.appliedAt
      ? a.appliedAt < b.appliedAt
        ? 1
        : -1
      : a.eventId < b.eventId
        ? 1
        : -1,
  )[0];

  return {
    customerId: input.customerId,
    canAllocate: activeOverride?.mode === 'allow' ? true : blockers.length === 0,
    blockers: sortConditions(blockers),
    warnings: sortConditions([
      ...invoices.warnings,
      ...methodWarnings(methods, input.customerId, window),
    ]),
    paymentMethods: methods.map((m) => m.view),
    override: activeOverride
      ? {
          mode: activeOverride.mode!,
          reason: activeOverride.reason ?? '',
          setAt: activeOverride.setAt,
        }
      : null,
    livemode: lastStripeFact?.livemode ?? false,
    lastEventId: commits[0]?.id ?? null,
    updatedAt: commits[0]!.at,
  };
}
