// invoice.* events: an unpaid invoice blocks until it is paid or voided, whatever else the
// customer pays; marked_uncollectible sharpens the blocker; payment_action_required warns.

import type { InvoiceEntry, KindRule } from '../entries';
import { str, type StripeObject } from '../stripe-event';
import { condition, earlier, firstOpener } from '../ordering';
import type { EntryView } from '../entries';
import { customerOfObject, dataStr, makeFact, withMeaning } from './common';
import { meaningsOf } from '../registry';

const MEANINGS = meaningsOf('invoice');

/** Whatever the event type, an invoice in one of these statuses is settled for good. */
const SETTLED_STATUSES: ReadonlySet<string> = new Set(['paid', 'void']);

/**
 * The invoice's status. Invoices of API versions before `status` existed only say
 * `paid: true`; that is enough to know the invoice is settled.
 */
function invoiceStatus(invoice: StripeObject): string | null {
  return str(invoice, 'status') ?? (invoice.paid === true ? 'paid' : null);
}

/** Fact data: `{ status }`, the invoice's status as the event saw it. */
export const invoiceRule: KindRule = {
  kind: 'invoice',
  meanings: MEANINGS,
  resolveCustomer: customerOfObject,
  toFact(event) {
    return makeFact(event, { data: { status: invoiceStatus(event.data.object) } });
  },
  revealKeys: () => [],
  entryKind: 'invoice',
  fold(facts, meaningOf): InvoiceEntry | null {
    const settled =
      withMeaning(facts, meaningOf, 'settled').length > 0 ||
      facts.some((f) => SETTLED_STATUSES.has(dataStr(f, 'status') ?? ''));
    if (settled) return null;
    const failed = firstOpener(withMeaning(facts, meaningOf, 'failed'));
    const uncollectible = firstOpener(withMeaning(facts, meaningOf, 'uncollectible'));
    const actionRequired = firstOpener(withMeaning(facts, meaningOf, 'action_required'));
    // Uncollectible replaces the failure, dated by the earliest of the two.
    const blocker = uncollectible
      ? { reason: 'invoice_uncollectible' as const, since: earlier(failed, uncollectible)! }
      : failed
        ? { reason: 'payment_failed' as const, since: failed }
        : null;
    if (!blocker && !actionRequired) return null;
    return { kind: 'invoice', blocker, actionRequired };
  },
  customerEffect: () => ({}),
};

export const invoiceView: EntryView<InvoiceEntry> = {
  conditions(entries) {
    const blockers = [];
    const warnings = [];
    for (const [invoiceId, entry] of entries) {
      if (entry.blocker)
        blockers.push(condition(entry.blocker.reason, invoiceId, entry.blocker.since));
      if (entry.actionRequired) {
        warnings.push(
          condition('payment_action_required' as const, invoiceId, entry.actionRequired),
        );
      }
    }
    return { blockers, warnings, paymentMethods: [] };
  },
};
