// The billing status (docs/behaviour.md#the-billing-status): composed from a customer's status record and the
// reading time. The rules own what each entry means (./rules); this file only puts their
// conditions together with the customer-level ones and the override. Pure.

import type { Entry, EntryConditions, EntryKind } from './entries';
import type { AppliedFact, BillingStatus, OverrideRecord } from './facts';
import { condition, millis, sortConditions } from './ordering';
import { ENTRY_VIEWS } from './rules';
import { deriveRecord, entryObjectId, type StatusRecord } from './status-record';

export { DISPUTE_CLOSED_STATUSES } from './rules/dispute';
export { expiryInstant } from './rules/payment-method-details';

const DAY = 86_400;

/** The status a record gives at reading time `now` (unix seconds). */
export function statusFromRecord(
  customerId: string,
  record: StatusRecord,
  now: number,
  expiryWarningDays: number,
): BillingStatus {
  const byKind = new Map<EntryKind, [string, Entry][]>();
  for (const [key, entry] of record.entries) {
    const objectId = entryObjectId(key);
    const list = byKind.get(entry.kind);
    if (list) list.push([objectId, entry]);
    else byKind.set(entry.kind, [[objectId, entry]]);
  }
  const ctx = {
    customerId,
    latestSuccess: record.latestSuccess,
    now,
    warningWindow: expiryWarningDays * DAY,
  };
  const all: EntryConditions = { blockers: [], warnings: [], paymentMethods: [] };
  for (const kind of Object.keys(ENTRY_VIEWS) as EntryKind[]) {
    const view = ENTRY_VIEWS[kind] as {
      conditions(e: ReadonlyArray<readonly [string, Entry]>, c: typeof ctx): EntryConditions;
    };
    const got = view.conditions(byKind.get(kind) ?? [], ctx);
    // Loops, not spreads: a spread of a long array overflows the call stack.
    for (const b of got.blockers) all.blockers.push(b);
    for (const w of got.warnings) all.warnings.push(w);
    for (const m of got.paymentMethods) all.paymentMethods.push(m);
  }
  if (record.deleted) all.blockers.push(condition('customer_deleted', customerId, record.deleted));

  const override = record.override?.mode
    ? { ...record.override, mode: record.override.mode }
    : null;
  if (override?.mode === 'deny') {
    all.blockers.push({
      reason: 'operator_deny',
      objectId: customerId,
      since: Math.floor(millis(override.setAt) / 1000),
      eventId: null,
    });
  }
  return {
    customerId,
    canAllocate: override?.mode === 'allow' ? true : all.blockers.length === 0,
    blockers: sortConditions(all.blockers),
    warnings: sortConditions(all.warnings),
    paymentMethods: all.paymentMethods,
    override: override
      ? { mode: override.mode, reason: override.reason ?? '', setAt: override.setAt }
      : null,
    livemode: record.lastStripe?.livemode ?? false,
    lastEventId: record.lastCommit?.id ?? null,
    updatedAt: record.lastCommit?.at ?? '',
  };
}

/**
 * Whether the record lets the customer allocate. Blockers never depend on the reading time
 * (only warnings do), so this is a property of the record alone.
 */
export function canAllocateOf(customerId: string, record: StatusRecord): boolean {
  return statusFromRecord(customerId, record, 0, 0).canAllocate;
}

export interface DeriveInput {
  customerId: string;
  facts: readonly AppliedFact[];
  overrides: readonly OverrideRecord[];
  /** Reading time, unix seconds: payment-method expiry is judged against it. */
  now: number;
  expiryWarningDays: number;
}

/**
 * The full derivation: the status from every fact and override of the customer. Null when
 * no event has named the customer and no override was set (a 404).
 */
export function deriveBillingStatus(input: DeriveInput): BillingStatus | null {
  const record = deriveRecord(input.facts, input.overrides);
  return record && statusFromRecord(input.customerId, record, input.now, input.expiryWarningDays);
}
