// What a status counts instead of listing, once a customer has more open objects of a kind
// than its status item lists (docs/behaviour.md#hostile-and-busy-customers): per condition,
// how many and the earliest; per payment method status, how many. The entries past the bound
// live in items of their own; the status item keeps only these counts and earliest moments,
// so its size is bounded whatever the history, and canAllocate, every blocker reason and the
// override stay exact. Pure.

import type { Entry, EntryKind, RawCondition } from './entries';
import type { PaymentMethodStatus } from './facts';
import { earlier, type Opener } from './ordering';
import { expiryInstant, namesStop } from './rules/payment-method-details';

/**
 * The names under which entries past the bound are counted and ordered: each condition
 * reason of invoices, disputes and subscriptions; `pf`, every failure of a PaymentIntent or
 * charge (superseded ones drop out by time); `gu`, the moment Stripe gave up retrying an
 * invoice; `mstop`, the moment a deleted payment method stopped being valid.
 */
export type ContributionName = RawCondition['reason'] | 'pf' | 'gu' | 'mstop';

/** One ordered moment an entry past the bound contributes. */
export interface Contribution {
  readonly name: ContributionName;
  readonly time: number;
  /** The event that opened it (a failure's, a condition's), or null (a date). */
  readonly eventId: string | null;
}

/** The earliest contribution of a name, with its object. */
export interface Earliest {
  readonly time: number;
  readonly eventId: string | null;
  readonly objectId: string;
}

/** Where a summarised payment method stands for the histogram: its expiry and marks. */
export interface MethodBucket {
  /** Its expiry instant (unix seconds), or 0 for a method without an expiry. */
  readonly instant: number;
  /** A `customer.source.expiring` announced exactly this expiry. */
  readonly announced: boolean;
}

/** The summary of a customer's entries past the bound, as the status item keeps it. */
export interface SummaryState {
  /** Live entries past the bound, per entry kind. */
  readonly objects: ReadonlyMap<EntryKind, number>;
  /** Live contributions per name (for `pf`, the failures; for the others, the objects). */
  readonly counts: ReadonlyMap<ContributionName, number>;
  /** The earliest live contribution per name (`mstop`: the latest). */
  readonly earliest: ReadonlyMap<ContributionName, Earliest>;
  /** Non-deleted methods past the bound by expiry instant (0: no expiry), and announced ones. */
  readonly methodsByInstant: ReadonlyMap<number, number>;
  readonly announcedByInstant: ReadonlyMap<number, number>;
  /** Deleted methods past the bound. */
  readonly deletedMethods: number;
}

export const EMPTY_SUMMARY: SummaryState = {
  objects: new Map(),
  counts: new Map(),
  earliest: new Map(),
  methodsByInstant: new Map(),
  announcedByInstant: new Map(),
  deletedMethods: 0,
};

const at = (name: ContributionName, o: Opener | null): Contribution[] =>
  o ? [{ name, time: o.created, eventId: o.eventId }] : [];

/** The moment a deleted method stopped being valid: the earlier of its deletion and expiry. */
function stopOf(entry: Extract<Entry, { kind: 'method' }>): Contribution[] {
  if (!entry.deleted) return [];
  const instant = expiryInstant(entry.expMonth, entry.expYear);
  return instant !== null && instant < entry.deleted.created
    ? [{ name: 'mstop', time: instant, eventId: null }]
    : at('mstop', entry.deleted);
}

/**
 * The contributions of one entry past the bound. Conditions that depend on the customer or
 * the time (a failure's supersession, a card's expiry) are kept as moments and decided when
 * the status is read.
 */
export function contributionsOf(entry: Entry | null): Contribution[] {
  if (!entry) return [];
  switch (entry.kind) {
    case 'payment':
      return entry.failures.flatMap((f) => at('pf', f));
    case 'invoice': {
      if (entry.uncollectible) {
        return [
          ...at('invoice_uncollectible', earlier(entry.failed, entry.uncollectible)),
          ...at('payment_action_required', entry.actionRequired),
        ];
      }
      const gaveUp =
        entry.failed && entry.newestFailure && !entry.newestFailure.retrying
          ? at('gu', entry.newestFailure.at)
          : [];
      return [
        ...(entry.paused ? [] : [...at('payment_failed', entry.failed), ...gaveUp]),
        ...(entry.paused ? [] : at('invoice_overdue', entry.overdue)),
        ...at('payment_action_required', entry.actionRequired),
      ];
    }
    case 'dispute':
      return at('dispute_open', entry.opened);
    case 'subscription':
      return at(entry.reason, entry.since);
    case 'method':
      return stopOf(entry);
  }
}

/** A method's place in the histogram, or null when deleted (then only `od` counts it). */
export function methodBucket(entry: Entry | null): MethodBucket | null {
  if (!entry || entry.kind !== 'method' || entry.deleted) return null;
  return {
    instant: expiryInstant(entry.expMonth, entry.expYear) ?? 0,
    announced: entry.announced !== null,
  };
}

/** Whether an entry counts as a live object past the bound. */
export const isLive = (entry: Entry | null) => entry !== null;

/** A summarised condition: a raw condition standing for `count` of its reason. */
export interface SummarisedCondition extends RawCondition {
  readonly count: number;
}

/** What a summary yields at reading time, beside the listed entries. */
export interface SummaryView {
  readonly conditions: SummarisedCondition[];
  /** Summarised methods by status now. */
  readonly methods: Record<PaymentMethodStatus, number>;
  /** Whether a summarised method is usable (active or expiring) now. */
  readonly usable: boolean;
  /** The latest moment a summarised method stopped being valid, if one did. */
  readonly lastStop: { readonly time: number; readonly eventId: string | null } | null;
  readonly changesAt: number[];
}

const CONDITION_NAMES = [
  'invoice_uncollectible',
  'payment_failed',
  'invoice_overdue',
  'payment_action_required',
  'dispute_open',
  'subscription_past_due',
  'subscription_unpaid',
  'subscription_paused',
] as const;

/**
 * The summarised conditions and methods of `summary` at `now`, given the customer's latest
 * successful payment (which supersedes failures up to it) and the warning window.
 */
export function summaryView(
  summary: SummaryState,
  ctx: { latestSuccess: number | null; now: number; warningWindow: number },
): SummaryView {
  const conditions: SummarisedCondition[] = [];
  for (const name of CONDITION_NAMES) {
    const count = summary.counts.get(name) ?? 0;
    const first = summary.earliest.get(name);
    if (count <= 0 || !first) continue;
    const gaveUp = name === 'payment_failed' ? summary.earliest.get('gu') : undefined;
    conditions.push({
      reason: name,
      objectId: first.objectId,
      since: first.time,
      eventId: first.eventId,
      count,
      ...(name === 'payment_failed'
        ? { retry: { retrying: gaveUp === undefined, gaveUpAt: gaveUp?.time ?? null } }
        : {}),
    });
  }
  // Failures of PaymentIntents and charges: open while after the latest success.
  const pf = summary.earliest.get('pf');
  const payments = summary.objects.get('payment') ?? 0;
  if (pf && payments > 0 && (ctx.latestSuccess === null || pf.time > ctx.latestSuccess)) {
    conditions.push({
      reason: 'payment_failed',
      objectId: pf.objectId,
      since: pf.time,
      eventId: pf.eventId,
      count: payments,
    });
  }

  const methods: Record<PaymentMethodStatus, number> = {
    active: 0,
    expiring: 0,
    expired: 0,
    deleted: summary.deletedMethods,
  };
  const changesAt: number[] = [];
  let expiring = null as { since: number; count: number } | null;
  let lastExpiry: number | null = null;
  for (const [instant, count] of summary.methodsByInstant) {
    if (count <= 0) continue;
    const announced = summary.announcedByInstant.get(instant) ?? 0;
    if (instant === 0) {
      methods.active += count;
      continue;
    }
    if (instant <= ctx.now) {
      methods.expired += count;
      if (lastExpiry === null || instant > lastExpiry) lastExpiry = instant;
      continue;
    }
    changesAt.push(instant);
    const windowOpens = instant - ctx.warningWindow;
    const inWindow = windowOpens <= ctx.now ? count : announced;
    if (windowOpens > ctx.now) changesAt.push(windowOpens);
    methods.expiring += inWindow;
    methods.active += count - inWindow;
    if (inWindow > 0) {
      // Summarised methods date their warning from the window's opening.
      const since = Math.min(windowOpens, ctx.now);
      expiring = {
        since: expiring === null ? since : Math.min(expiring.since, since),
        count: (expiring?.count ?? 0) + inWindow,
      };
    }
  }
  if (expiring) {
    conditions.push({
      reason: 'payment_method_expiring',
      objectId: '',
      since: expiring.since,
      eventId: null,
      count: expiring.count,
    });
  }
  const stop = summary.earliest.get('mstop');
  const stops = [
    ...(stop ? [{ time: stop.time, eventId: stop.eventId }] : []),
    ...(lastExpiry !== null ? [{ time: lastExpiry, eventId: null }] : []),
  ];
  let lastStop: SummaryView['lastStop'] = null;
  for (const s of stops) if (!lastStop || namesStop(s, lastStop)) lastStop = s;
  return {
    conditions,
    methods,
    usable: methods.active + methods.expiring > 0,
    lastStop,
    changesAt,
  };
}

/** Whether a summary holds anything (a status shows `summary` only then). */
export function hasSummary(summary: SummaryState | undefined): summary is SummaryState {
  if (!summary) return false;
  for (const n of summary.objects.values()) if (n > 0) return true;
  return summary.deletedMethods > 0;
}

/**
 * The summary of entries past the bound, computed from the entries themselves (a rebuild
 * writes it; tests compare it with the one kept incrementally). `latestSuccess` decides
 * which failures still count for `pf`.
 */
export function summaryOf(
  entries: ReadonlyArray<readonly [EntryKind, string, Entry]>,
  latestSuccess: number | null,
): SummaryState {
  const objects = new Map<EntryKind, number>();
  const counts = new Map<ContributionName, number>();
  const earliest = new Map<ContributionName, Earliest>();
  const methodsByInstant = new Map<number, number>();
  const announcedByInstant = new Map<number, number>();
  let deletedMethods = 0;
  const bump = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1);
  for (const [kind, objectId, entry] of entries) {
    bump(objects, kind);
    for (const c of contributionsOf(entry)) {
      bump(counts, c.name);
      if (c.name === 'pf' && latestSuccess !== null && c.time <= latestSuccess) continue;
      const prior = earliest.get(c.name);
      const better =
        !prior ||
        (c.name === 'mstop'
          ? c.time > prior.time || (c.time === prior.time && `${objectId}` > `${prior.objectId}`)
          : c.time < prior.time || (c.time === prior.time && `${objectId}` < `${prior.objectId}`));
      if (better) earliest.set(c.name, { time: c.time, eventId: c.eventId, objectId });
    }
    const bucket = methodBucket(entry);
    if (bucket) {
      bump(methodsByInstant, bucket.instant);
      if (bucket.announced) bump(announcedByInstant, bucket.instant);
    } else if (entry.kind === 'method' && entry.deleted) {
      deletedMethods += 1;
    }
  }
  return { objects, counts, earliest, methodsByInstant, announcedByInstant, deletedMethods };
}
