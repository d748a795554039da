// The entry PaymentIntents and legacy charges share: failures that block until a successful
// payment of the customer at or after them supersedes them. A later failure blocks again. A
// PaymentIntent or charge known to belong to an invoice opens no condition of its own: the
// invoice's conditions and their policy decide (docs/behaviour.md#access-policy).

import type { EntryView, InvoiceLink, PaymentEntry } from '../entries';
import type { AppliedFact } from '../facts';
import { compareIds, openerOf } from '../ordering';
import { dataStr } from './common';

/**
 * Failures kept per object, bounding the entry whatever the object's history (card testing
 * retries one PaymentIntent by the thousand): the earliest ones and the latest. Whether the
 * object blocks stays exact (the latest failure is open exactly when any is); its `since` is
 * exact unless a success supersedes every kept early failure, when it becomes the latest
 * failure's `created` (docs/behaviour.md#hostile-and-busy-customers).
 */
export const MAX_FAILURES_KEPT = 10;

/** The entry of an object with these failures, or null without any. */
export function paymentEntry(failures: readonly AppliedFact[]): PaymentEntry | null {
  if (failures.length === 0) return null;
  const sorted = failures
    .map(openerOf)
    .sort((a, b) => a.created - b.created || compareIds(a.eventId, b.eventId));
  const kept =
    sorted.length > MAX_FAILURES_KEPT
      ? [...sorted.slice(0, MAX_FAILURES_KEPT - 1), sorted[sorted.length - 1]!]
      : sorted;
  return { kind: 'payment', failures: kept };
}

/**
 * Whether the object's facts or links tie it to an invoice: its own `invoice` field (API
 * versions before basil), or a link another event (an invoice, a charge, an invoice payment,
 * or Stripe's invoice payments) recorded for it.
 */
export function belongsToInvoice(
  facts: readonly AppliedFact[],
  links: readonly InvoiceLink[],
): boolean {
  return facts.some((f) => dataStr(f, 'invoice') !== null) || links.some((l) => l.invoice !== null);
}

/** A failure is superseded by a successful payment whose `created` is at or after its own. */
const open = (entry: PaymentEntry, latestSuccess: number | null) =>
  latestSuccess === null ? entry.failures : entry.failures.filter((f) => f.created > latestSuccess);

export const paymentView: EntryView<PaymentEntry> = {
  conditions(entries, ctx) {
    const conditions = [];
    for (const [objectId, entry] of entries) {
      // Sorted: the first open failure is the smallest `created`, then the smallest id.
      const first = open(entry, ctx.latestSuccess)[0];
      if (first) {
        conditions.push({
          reason: 'payment_failed' as const,
          objectId,
          since: first.created,
          eventId: first.eventId,
        });
      }
    }
    return { conditions, paymentMethods: [], changesAt: [] };
  },
  // The latest success only grows, so a superseded failure never blocks again: drop it.
  settle(entry, latestSuccess) {
    const failures = open(entry, latestSuccess);
    if (failures.length === 0) return null;
    return failures.length === entry.failures.length ? entry : { kind: 'payment', failures };
  },
};
