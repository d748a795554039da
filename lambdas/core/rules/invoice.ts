// invoice.* events: an unpaid invoice blocks until it is paid or voided, whatever else the
// customer pays; marked_uncollectible sharpens the blocker (unless collection is paused, when
// the customer keeps access); overdue blocks a sent invoice past its due date;
// payment_action_required warns. The newest failure says whether Stripe still retries.

import type { EntryView, InvoiceEntry, KindRule, RawCondition } from '../entries';
import type { AppliedFact } from '../facts';
import { compareIds, earlier, firstOpener, openerOf } from '../ordering';
import { meaningsOf } from '../registry';
import { idOf, num, obj, str, type StripeObject } from '../stripe-event';
import { customerOfObject, dataInt, dataStr, makeFact, objectIds, withMeaning } from './common';

const MEANINGS = meaningsOf('invoice');

/** Whatever the event type, an invoice in one of these statuses is settled for good. */
const SETTLED_STATUSES: ReadonlySet<string> = new Set(['paid', 'void']);

/** The uncollectible reason of an invoice whose subscription has collection paused. */
export const PAUSED_COLLECTION = 'subscription_paused';

/**
 * The invoice's status. Invoices of API versions before `status` existed only say
 * `paid: true`; that is enough to know the invoice is settled.
 */
function invoiceStatus(invoice: StripeObject): string | null {
  return str(invoice, 'status') ?? (invoice.paid === true ? 'paid' : null);
}

/** Why the invoice is uncollectible (API 2026-09-30.endive and later), or null. */
function uncollectibleReason(invoice: StripeObject): string | null {
  return str(obj(obj(invoice, 'status_details'), 'uncollectible'), 'reason');
}

/** Failure order: attempt count, then `created`, then id (unknown counts rank first). */
const byAttempt = (a: AppliedFact, b: AppliedFact) =>
  (dataInt(a, 'attemptCount') ?? -1) - (dataInt(b, 'attemptCount') ?? -1) ||
  a.created - b.created ||
  compareIds(a.eventId, b.eventId);

/** The newest failure: greatest attempt count, then greatest `created`, then greatest id. */
function newestFailure(failures: readonly AppliedFact[]): AppliedFact | null {
  let newest: AppliedFact | null = null;
  for (const f of failures) if (newest === null || byAttempt(f, newest) > 0) newest = f;
  return newest;
}

/**
 * Fact data: `{ status, paymentIntent, attemptCount, nextPaymentAttempt, uncollectibleReason }`:
 * the invoice's status as the event saw it, its PaymentIntent (API versions before basil), its
 * payment attempts, when Stripe will retry (null: no retry planned) and why it is
 * uncollectible.
 */
export const invoiceRule: KindRule = {
  kind: 'invoice',
  meanings: MEANINGS,
  resolveCustomer: customerOfObject,
  toFact(event) {
    const invoice = event.data.object;
    return makeFact(event, {
      data: {
        status: invoiceStatus(invoice),
        paymentIntent: idOf(invoice, 'payment_intent'),
        attemptCount: num(invoice, 'attempt_count'),
        nextPaymentAttempt: num(invoice, 'next_payment_attempt'),
        uncollectibleReason: uncollectibleReason(invoice),
      },
    });
  },
  revealKeys: () => [],
  links(event) {
    const invoice = idOf(event.data.object, 'id');
    const payment = idOf(event.data.object, 'payment_intent');
    return invoice && payment ? [{ payment, invoice }] : [];
  },
  idsRead: (event) => objectIds(event, idOf(event.data.object, 'payment_intent')),
  entryKind: 'invoice',
  fold(facts, meaningOf): InvoiceEntry | null {
    const settled =
      withMeaning(facts, meaningOf, 'settled').length > 0 ||
      facts.some((f) => SETTLED_STATUSES.has(dataStr(f, 'status') ?? ''));
    if (settled) return null;
    const failures = withMeaning(facts, meaningOf, 'failed');
    const paused = facts.some((f) => dataStr(f, 'uncollectibleReason') === PAUSED_COLLECTION);
    const newest = newestFailure(failures);
    const entry: InvoiceEntry = {
      kind: 'invoice',
      failed: firstOpener(failures),
      newestFailure: newest
        ? { at: openerOf(newest), retrying: dataInt(newest, 'nextPaymentAttempt') !== null }
        : null,
      // Paused collection: the customer keeps access meanwhile (docs/behaviour.md#todays-stripe).
      uncollectible: paused ? null : firstOpener(withMeaning(facts, meaningOf, 'uncollectible')),
      overdue: firstOpener(withMeaning(facts, meaningOf, 'overdue')),
      actionRequired: firstOpener(withMeaning(facts, meaningOf, 'action_required')),
      paused,
    };
    return invoiceConditions('in', entry).length > 0 ? entry : null;
  },
  customerEffect: () => ({}),
};

/** The conditions of one invoice's entry (docs/behaviour.md#rules). */
function invoiceConditions(invoiceId: string, entry: InvoiceEntry): RawCondition[] {
  const at = (reason: RawCondition['reason'], o: { created: number; eventId: string }) => ({
    reason,
    objectId: invoiceId,
    since: o.created,
    eventId: o.eventId,
  });
  const conditions: RawCondition[] = [];
  if (entry.uncollectible) {
    // Uncollectible replaces the failure and the overdue, dated by the earliest failure.
    conditions.push(at('invoice_uncollectible', earlier(entry.failed, entry.uncollectible)!));
  } else if (!entry.paused) {
    if (entry.failed) {
      const newest = entry.newestFailure;
      conditions.push({
        ...at('payment_failed', entry.failed),
        retry: {
          retrying: newest?.retrying ?? false,
          gaveUpAt: newest && !newest.retrying ? newest.at.created : null,
        },
      });
    }
    if (entry.overdue) conditions.push(at('invoice_overdue', entry.overdue));
  }
  if (entry.actionRequired) conditions.push(at('payment_action_required', entry.actionRequired));
  return conditions;
}

export const invoiceView: EntryView<InvoiceEntry> = {
  conditions(entries) {
    const conditions: RawCondition[] = [];
    for (const [invoiceId, entry] of entries) {
      for (const c of invoiceConditions(invoiceId, entry)) conditions.push(c);
    }
    return { conditions, paymentMethods: [], changesAt: [] };
  },
};
