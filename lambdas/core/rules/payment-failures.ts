// The entry PaymentIntents and legacy charges share: failures that block until a successful
// payment of the customer at or after them supersedes them. A later failure blocks again.

import type { EntryView, PaymentEntry } from '../entries';
import type { AppliedFact } from '../facts';
import { compareIds, condition, openerOf } from '../ordering';

/** The entry of an object with these failures, or null without any. */
export function paymentEntry(failures: readonly AppliedFact[]): PaymentEntry | null {
  if (failures.length === 0) return null;
  const sorted = failures
    .map(openerOf)
    .sort((a, b) => a.created - b.created || compareIds(a.eventId, b.eventId));
  return { kind: 'payment', failures: sorted };
}

/** A failure is superseded by a successful payment whose `created` is at or after its own. */
const open = (entry: PaymentEntry, latestSuccess: number | null) =>
  latestSuccess === null ? entry.failures : entry.failures.filter((f) => f.created > latestSuccess);

export const paymentView: EntryView<PaymentEntry> = {
  conditions(entries, ctx) {
    const blockers = [];
    for (const [objectId, entry] of entries) {
      // Sorted: the first open failure is the smallest `created`, then the smallest id.
      const first = open(entry, ctx.latestSuccess)[0];
      if (first) blockers.push(condition('payment_failed' as const, objectId, first));
    }
    return { blockers, warnings: [], paymentMethods: [] };
  },
  // The latest success only grows, so a superseded failure never blocks again: drop it.
  settle(entry, latestSuccess) {
    const failures = open(entry, latestSuccess);
    if (failures.length === 0) return null;
    return failures.length === entry.failures.length ? entry : { kind: 'payment', failures };
  },
};
