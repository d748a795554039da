// The billing status (docs/behaviour.md#the-billing-status): composed from a customer's status
// record, the deployment's settings (the access policy, the card warning window) and the
// reading time. The rules own what each entry means (./rules); this file puts their
// conditions together with the customer-level ones and the override, and lets the policy
// decide what blocks, what warns and what is ignored (docs/behaviour.md#access-policy). Pure.

import type {
  Entry,
  EntryConditions,
  EntryKind,
  MethodsState,
  RawCondition,
  ViewContext,
} from './entries';
import type {
  AppliedFact,
  BillingStatus,
  BlockerReason,
  Condition,
  OverrideRecord,
  OverrideView,
  StatusSummary,
  SummarisedConditions,
  WarningReason,
} from './facts';
import type { InvoiceLink } from './entries';
import { condition, millis, sortConditions } from './ordering';
import { DEFAULT_POLICY, type Policy } from './policy';
import { ENTRY_VIEWS } from './rules';
import { namesStop } from './rules/payment-method-details';
import {
  deriveRecord,
  entryObjectId,
  type OverrideState,
  type StatusRecord,
} from './status-record';
import { hasSummary, summaryView, type SummaryView } from './summary';

export { DISPUTE_CLOSED_STATUSES } from './rules/dispute';
export { expiryInstant } from './rules/payment-method-details';

const DAY = 86_400;

/** What every reader of a deployment evaluates a status with: one definition per deployment. */
export interface StatusSettings {
  readonly policy: Policy;
  /** How many days before its expiry a card counts as `expiring`. */
  readonly expiryWarningDays: number;
}

export const DEFAULT_STATUS_SETTINGS: StatusSettings = {
  policy: DEFAULT_POLICY,
  expiryWarningDays: 30,
};

/** The conditions of a record before the policy, and the moments they change by time. */
function rawConditions(customerId: string, record: StatusRecord, ctx: ViewContext) {
  const byKind = new Map<EntryKind, [string, Entry][]>();
  for (const [key, entry] of record.entries) {
    const objectId = entryObjectId(key);
    const list = byKind.get(entry.kind);
    if (list) list.push([objectId, entry]);
    else byKind.set(entry.kind, [[objectId, entry]]);
  }
  const all: EntryConditions = { conditions: [], paymentMethods: [], changesAt: [] };
  let methods: MethodsState = { known: false, usable: false, lastStop: null };
  for (const kind of Object.keys(ENTRY_VIEWS) as EntryKind[]) {
    const view = ENTRY_VIEWS[kind] as {
      conditions(e: ReadonlyArray<readonly [string, Entry]>, c: ViewContext): EntryConditions;
    };
    const got = view.conditions(byKind.get(kind) ?? [], ctx);
    // Loops, not spreads: a spread of a long array overflows the call stack.
    for (const c of got.conditions) all.conditions.push(c);
    for (const m of got.paymentMethods) all.paymentMethods.push(m);
    for (const t of got.changesAt) all.changesAt.push(t);
    if (got.methods) methods = got.methods;
  }
  const summary = hasSummary(record.summary ?? undefined)
    ? summaryView(record.summary!, ctx)
    : null;
  const noValid = noValidMethod(customerId, methods, summary, record);
  if (noValid) all.conditions.push(noValid);
  if (record.deleted)
    all.conditions.push(condition('customer_deleted', customerId, record.deleted));
  if (summary) for (const t of summary.changesAt) all.changesAt.push(t);
  return { ...all, summary };
}

/**
 * `no_valid_payment_method`: at least one method is known (listed or summarised) and none is
 * `active` or `expiring`; since the latest moment one stopped being valid.
 */
function noValidMethod(
  customerId: string,
  listed: MethodsState,
  summary: SummaryView | null,
  record: StatusRecord,
): RawCondition | null {
  const summarised = summary
    ? (record.summary!.objects.get('method') ?? 0) + record.summary!.deletedMethods > 0
    : false;
  if ((!listed.known && !summarised) || listed.usable || summary?.usable) return null;
  const stops = [listed.lastStop, summary?.lastStop ?? null].filter((s) => s !== null);
  let last = stops[0]!;
  for (const s of stops) if (namesStop(s, last)) last = s;
  return {
    reason: 'no_valid_payment_method',
    objectId: customerId,
    since: last.time,
    eventId: last.eventId,
  };
}

/** Summarised conditions merged per reason, by the policy's verdict. */
function summarise(
  conditions: readonly (RawCondition & { count: number })[],
  policy: Policy,
  now: number,
): { blockers: SummarisedConditions[]; warnings: SummarisedConditions[]; changesAt: number[] } {
  const blockers = new Map<string, SummarisedConditions>();
  const warnings = new Map<string, SummarisedConditions>();
  const changesAt: number[] = [];
  for (const c of conditions) {
    const verdict = applyPolicy([c], policy, now);
    const into =
      verdict.blockers.length > 0 ? blockers : verdict.warnings.length > 0 ? warnings : null;
    const listed = verdict.blockers[0] ?? verdict.warnings[0];
    if (!into || !listed) continue;
    for (const t of verdict.changesAt) changesAt.push(t);
    const prior = into.get(c.reason);
    const blocksAt =
      listed.blocksAt === undefined
        ? prior?.blocksAt
        : prior?.blocksAt == null
          ? (listed.blocksAt ?? prior?.blocksAt ?? null)
          : listed.blocksAt === null
            ? prior.blocksAt
            : Math.min(prior.blocksAt, listed.blocksAt);
    into.set(c.reason, {
      reason: c.reason,
      count: (prior?.count ?? 0) + c.count,
      since: Math.min(prior?.since ?? c.since, c.since),
      ...(blocksAt !== undefined ? { blocksAt } : {}),
    });
  }
  const sorted = (m: Map<string, SummarisedConditions>) =>
    [...m.values()].sort((a, b) => a.since - b.since || (a.reason < b.reason ? -1 : 1));
  return { blockers: sorted(blockers), warnings: sorted(warnings), changesAt };
}

/**
 * When a condition the policy blocks turns from a warning into a blocker: `undefined` when
 * neither `grace` nor `whileRetrying` governs it (it blocks at once), `null` while only
 * `whileRetrying` holds it, else the unix second (docs/behaviour.md#access-policy).
 */
export function blocksAtOf(c: RawCondition, policy: Policy): number | null | undefined {
  const rule = policy[c.reason];
  const graceEnds = rule.grace === null ? null : c.since + rule.grace;
  // Stripe's retries hold only an invoice's failure; a standalone payment has none.
  if (rule.whileRetrying && c.retry) {
    const gaveUp = c.retry.retrying ? null : c.retry.gaveUpAt;
    if (graceEnds === null) return gaveUp;
    return gaveUp === null ? graceEnds : Math.min(graceEnds, gaveUp);
  }
  return graceEnds ?? undefined;
}

/** The policy's verdict on each condition at `now`, and when a verdict changes by time. */
export function applyPolicy(
  conditions: readonly RawCondition[],
  policy: Policy,
  now: number,
): {
  blockers: Condition<BlockerReason>[];
  warnings: Condition<WarningReason>[];
  changesAt: number[];
} {
  const blockers: Condition<BlockerReason>[] = [];
  const warnings: Condition<WarningReason>[] = [];
  const changesAt: number[] = [];
  for (const c of conditions) {
    const action = policy[c.reason].action;
    if (action === 'ignore') continue;
    const listed = { reason: c.reason, objectId: c.objectId, since: c.since, eventId: c.eventId };
    if (action === 'warn') {
      warnings.push(listed);
      continue;
    }
    const blocksAt = blocksAtOf(c, policy);
    if (blocksAt === undefined) blockers.push(listed);
    else if (blocksAt !== null && blocksAt <= now) blockers.push({ ...listed, blocksAt });
    else {
      warnings.push({ ...listed, blocksAt });
      if (blocksAt !== null) changesAt.push(blocksAt);
    }
  }
  return { blockers, warnings, changesAt };
}

/** The override in force at `now`: a set that has not expired, or null. */
export function overrideAt(override: OverrideState | null, now: number): OverrideView | null {
  if (!override?.mode) return null;
  if (override.expiresAt !== null && override.expiresAt <= now) return null;
  return {
    mode: override.mode,
    reason: override.reason ?? '',
    setAt: override.setAt,
    expiresAt: override.expiresAt,
  };
}

/** The earliest of a list of moments, or null. */
function earliest(moments: readonly number[]): number | null {
  let min: number | null = null;
  for (const t of moments) if (min === null || t < min) min = t;
  return min;
}

/** The status a record gives at reading time `now` (unix seconds) under `settings`. */
export function statusFromRecord(
  customerId: string,
  record: StatusRecord,
  now: number,
  settings: StatusSettings,
): BillingStatus {
  const ctx: ViewContext = {
    customerId,
    latestSuccess: record.latestSuccess,
    now,
    warningWindow: settings.expiryWarningDays * DAY,
  };
  const raw = rawConditions(customerId, record, ctx);
  const { blockers, warnings, changesAt } = applyPolicy(raw.conditions, settings.policy, now);
  const summarised = raw.summary ? summarise(raw.summary.conditions, settings.policy, now) : null;
  const summary: StatusSummary | null =
    raw.summary && summarised
      ? {
          blockers: summarised.blockers,
          warnings: summarised.warnings,
          paymentMethods: raw.summary.methods,
        }
      : null;
  const override = overrideAt(record.override, now);
  if (override?.mode === 'deny') {
    blockers.push({
      reason: 'operator_deny',
      objectId: customerId,
      since: Math.floor(millis(override.setAt) / 1000),
      eventId: null,
    });
  }
  const moments = [...raw.changesAt, ...changesAt, ...(summarised?.changesAt ?? [])];
  if (override?.expiresAt != null) moments.push(override.expiresAt);
  const blocked = blockers.length > 0 || (summary?.blockers.length ?? 0) > 0;
  return {
    customerId,
    ...(record.customerAccount ? { customerAccount: record.customerAccount.account } : {}),
    canAllocate: override?.mode === 'allow' ? true : !blocked,
    blockers: sortConditions(blockers),
    warnings: sortConditions(warnings),
    paymentMethods: raw.paymentMethods,
    override,
    livemode: record.lastStripe?.livemode ?? false,
    lastEventId: record.lastCommit?.id ?? null,
    updatedAt: record.lastCommit?.at ?? '',
    nextChangeAt: earliest(moments.filter((t) => t > now)),
    ...(summary ? { summary } : {}),
  };
}

/** Whether the record lets the customer allocate at `now` under `settings`. */
export function canAllocateAt(
  customerId: string,
  record: StatusRecord,
  now: number,
  settings: StatusSettings,
): boolean {
  return statusFromRecord(customerId, record, now, settings).canAllocate;
}

export interface DeriveInput {
  customerId: string;
  facts: readonly AppliedFact[];
  overrides: readonly OverrideRecord[];
  /** Invoice links of the customer's payments (see InvoiceLink). @default none */
  links?: readonly InvoiceLink[];
  /** Reading time, unix seconds: time-dependent conditions are judged against it. */
  now: number;
  settings: StatusSettings;
}

/**
 * The full derivation: the status from every fact, link and override of the customer. Null
 * when no event has named the customer and no override was set (a 404).
 */
export function deriveBillingStatus(input: DeriveInput): BillingStatus | null {
  const record = deriveRecord(input.facts, input.overrides, input.links ?? []);
  return record && statusFromRecord(input.customerId, record, input.now, input.settings);
}

/**
 * What a status says, independent of how much of it is listed: canAllocate, per reason and
 * list the count and earliest `since` (listed and summarised together), payment methods by
 * status, the override, the last commit and the next change. Two statuses of the same facts
 * have the same digest whether or not one of them is summarised.
 */
export function statusDigest(status: BillingStatus): string {
  const byReason = (
    listed: readonly Condition<string>[],
    summarised: readonly SummarisedConditions[],
  ) => {
    const m = new Map<string, { count: number; since: number }>();
    const add = (reason: string, count: number, since: number) => {
      const prior = m.get(reason);
      m.set(reason, {
        count: (prior?.count ?? 0) + count,
        since: Math.min(prior?.since ?? since, since),
      });
    };
    for (const c of listed) add(c.reason, 1, c.since);
    for (const c of summarised) add(c.reason, c.count, c.since);
    return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  };
  const methods: Record<string, number> = { ...(status.summary?.paymentMethods ?? {}) };
  for (const m of status.paymentMethods) methods[m.status] = (methods[m.status] ?? 0) + 1;
  return JSON.stringify([
    status.canAllocate,
    byReason(status.blockers, status.summary?.blockers ?? []),
    byReason(status.warnings, status.summary?.warnings ?? []),
    Object.entries(methods)
      .filter(([, count]) => count > 0)
      .sort(),
    status.override,
    status.customerAccount ?? null,
    status.livemode,
    status.lastEventId,
    status.updatedAt,
    status.nextChangeAt,
  ]);
}
