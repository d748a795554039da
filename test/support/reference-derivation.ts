// A second, independent derivation of the billing status, for tests only: the first
// version's monolithic derivation from the set of facts (one function per condition, matched
// on event types), kept unchanged as an oracle. The product derives the status by folding
// each object's facts into an entry (lambdas/core/status-record.ts); property tests check that
// both agree on random event sets, orders and duplicates.

import type {
  AppliedFact,
  BillingStatus,
  BlockerReason,
  Condition,
  OverrideRecord,
  PaymentMethodView,
  WarningReason,
} from '../../lambdas/core/facts';
import { registryEntry, type ObjectKind } from '../../lambdas/core/registry';

type Blocker = Condition<BlockerReason>;
type Warning = Condition<WarningReason>;

const DAY = 86_400;

// ---------------------------------------------------------------------------------------
// Small pure helpers

/** Plain code-unit order, as Stripe ids compare (never locale-dependent). */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Milliseconds of an ISO 8601 time. Times written by this system are uniform, but parsing
 * keeps the order right if a writer ever omits the milliseconds or uses an offset.
 */
function millis(iso: string): number {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? -Infinity : t;
}

function byCreatedThenId(a: AppliedFact, b: AppliedFact): number {
  return a.created - b.created || compareIds(a.eventId, b.eventId);
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

/** Dispute statuses that close it for good (also what backfill treats as not open). */
const DISPUTE_CLOSED_STATUSES: ReadonlySet<string> = new Set([
  'won',
  'lost',
  'warning_closed',
  'prevented',
]);

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

// A Map, not an object literal: a status such as "constructor" must not find a prototype key.
const SUBSCRIPTION_ORDER: ReadonlyMap<string, number> = new Map([
  ['incomplete', 0],
  ['trialing', 1],
  ['active', 2],
  ['paused', 3],
  ['past_due', 4],
  ['unpaid', 5],
  ['canceled', 6],
  ['incomplete_expired', 6],
]);
const SUBSCRIPTION_TERMINAL = new Set(['canceled', 'incomplete_expired']);
/** Statuses unknown to the subscription order rank below all known ones. */
const rank = (status: string | null) =>
  status === null ? -1 : (SUBSCRIPTION_ORDER.get(status) ?? -1);

/**
 * The status an event gives its subscription. A `.deleted` event whose object lacks a
 * status (a trimmed or unusual payload) still means the subscription ended.
 */
function subscriptionStatus(f: AppliedFact): string | null {
  const status = str(f, 'status');
  if (status === null && f.type === 'customer.subscription.deleted') return 'canceled';
  return status;
}

/** Whether `a` comes after `b` among events with the same `created`. */
function comesAfter(a: AppliedFact, b: AppliedFact): boolean {
  const aNamesB = str(a, 'previousStatus') === subscriptionStatus(b);
  const bNamesA = str(b, 'previousStatus') === subscriptionStatus(a);
  if (aNamesB !== bNamesA) return aNamesB;
  const byRank = rank(subscriptionStatus(a)) - rank(subscriptionStatus(b));
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
    (a, b) =>
      rank(subscriptionStatus(b)) - rank(subscriptionStatus(a)) || compareIds(b.eventId, a.eventId),
  )[0]!;
}

function subscriptionBlockers(facts: AppliedFact[]): Blocker[] {
  const blockers: Blocker[] = [];
  // An event without a status says nothing about the subscription's state.
  const withStatus = facts.filter((f) => subscriptionStatus(f) !== null);
  for (const [subscriptionId, events] of groupBy(withStatus, (f) => f.objectId)) {
    // Terminal statuses win once seen, whatever comes later (terminal).
    const terminal = events.filter((f) => SUBSCRIPTION_TERMINAL.has(subscriptionStatus(f)!));
    const current = subscriptionStatus(
      newestSubscriptionEvent(terminal.length > 0 ? terminal : events),
    )!;
    const reason: BlockerReason | null =
      current === 'past_due' || current === 'unpaid'
        ? 'subscription_unpaid'
        : current === 'paused'
          ? 'subscription_paused'
          : null;
    if (reason === null) continue;
    const inStatus = events.filter((f) => subscriptionStatus(f) === current);
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
function expiryInstant(expMonth: number | null, expYear: number | null): number | null {
  if (expMonth === null || expYear === null || expMonth < 1 || expMonth > 12) return null;
  return Date.UTC(expYear, expMonth, 1) / 1000; // month index expMonth = the next month
}

/** At equal created, an event without an expiry loses to any event that has one. */
function expiryKey(f: AppliedFact): number {
  return expiryInstant(int(f, 'expMonth'), int(f, 'expYear')) ?? Number.MIN_SAFE_INTEGER;
}

/** Newest details: greatest created, then the later expiry, then the greatest event id. */
function newestDetails(facts: AppliedFact[]): AppliedFact {
  return [...facts].sort(
    (a, b) =>
      b.created - a.created || expiryKey(b) - expiryKey(a) || compareIds(b.eventId, a.eventId),
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
  return states.sort((a, b) => compareIds(a.view.id, b.view.id));
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
    // At the very same second the deletion is named, since it is an event with an id.
    const stops = states.map((s) => {
      const deletedAt = s.deletion?.created ?? Infinity;
      const expiredAt = s.instant ?? Infinity;
      return deletedAt <= expiredAt
        ? { since: deletedAt, eventId: s.deletion?.eventId ?? null, id: s.view.id }
        : { since: expiredAt, eventId: null, id: s.view.id };
    });
    // The latest stop; among equal moments the smallest method id, for determinism.
    const last = stops.sort((a, b) => b.since - a.since || compareIds(a.id, b.id))[0]!;
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

/** Latest first: the greater time, then the greater id (a total order on distinct ids). */
function latestFirst(a: { id: string; at: string }, b: { id: string; at: string }): number {
  return millis(b.at) - millis(a.at) || compareIds(b.id, a.id);
}

/** The operator action in force: the latest set or clear, by setAt then id. */
function latestOverride(overrides: readonly OverrideRecord[]): OverrideRecord | null {
  return (
    [...overrides].sort((a, b) =>
      latestFirst({ id: a.id, at: a.setAt }, { id: b.id, at: b.setAt }),
    )[0] ?? null
  );
}

function sortConditions<R extends string>(list: Condition<R>[]): Condition<R>[] {
  return list.sort(
    (a, b) =>
      a.since - b.since || compareIds(a.objectId, b.objectId) || compareIds(a.reason, b.reason),
  );
}

/** One entry per id; a duplicate keeps its earliest commit, so input order never matters. */
function uniqueBy<T>(items: readonly T[], id: (t: T) => string, at: (t: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const item of items) {
    const prior = seen.get(id(item));
    if (!prior || millis(at(item)) < millis(at(prior))) seen.set(id(item), item);
  }
  return [...seen.values()];
}

export function referenceBillingStatus(input: {
  customerId: string;
  facts: readonly AppliedFact[];
  overrides: readonly OverrideRecord[];
  now: number;
  expiryWarningDays: number;
}): BillingStatus | null {
  const facts = uniqueBy(
    input.facts,
    (f) => f.eventId,
    (f) => f.appliedAt,
  );
  const overrides = uniqueBy(
    input.overrides,
    (o) => o.id,
    (o) => o.setAt,
  );
  // No fact and no override: no event has named this customer yet (404).
  if (facts.length === 0 && overrides.length === 0) return null;
  const window = input.expiryWarningDays * DAY;

  const byKind = (...kinds: ObjectKind[]) =>
    facts.filter((f) => {
      const kind = registryEntry(f.type)?.kind;
      return kind !== undefined && kinds.includes(kind);
    });

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

  const latest = latestOverride(overrides);
  const override = latest?.mode ? { ...latest, mode: latest.mode } : null;
  if (override?.mode === 'deny') {
    blockers.push({
      reason: 'operator_deny',
      objectId: input.customerId,
      since: Math.floor(millis(override.setAt) / 1000),
      eventId: null,
    });
  }

  // The record itself: the last commit, whether a Stripe event or an operator action.
  const commits = [
    ...facts.map((f) => ({ id: f.eventId, at: f.appliedAt })),
    ...overrides.map((o) => ({ id: o.id, at: o.setAt })),
  ].sort(latestFirst);
  const lastStripeFact = [...facts].sort((a, b) =>
    latestFirst({ id: a.eventId, at: a.appliedAt }, { id: b.eventId, at: b.appliedAt }),
  )[0];
  const lastCommit = commits[0]!;

  return {
    customerId: input.customerId,
    canAllocate: override?.mode === 'allow' ? true : blockers.length === 0,
    blockers: sortConditions(blockers),
    warnings: sortConditions([
      ...invoices.warnings,
      ...methodWarnings(methods, input.customerId, window),
    ]),
    paymentMethods: methods.map((m) => m.view),
    override: override
      ? { mode: override.mode, reason: override.reason ?? '', setAt: override.setAt }
      : null,
    livemode: lastStripeFact?.livemode ?? false,
    lastEventId: lastCommit.id,
    updatedAt: lastCommit.at,
  };
}
