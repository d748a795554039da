// charge.dispute.* events: a dispute blocks from its creation until it is closed, whatever
// its outcome. Disputes carry no customer: they are tied to one through their charge or
// PaymentIntent, as revealed by the charge and PaymentIntent events (see apply-event.ts).

import type { DisputeEntry, EntryView, KindRule } from '../entries';
import { condition, firstOpener } from '../ordering';
import { idOf, str } from '../stripe-event';
import { dataStr, ids, makeFact, objectIds, withMeaning } from './common';
import { meaningsOf } from '../registry';

const MEANINGS = meaningsOf('dispute');

/** Dispute statuses that close it for good (also what backfill treats as not open). */
export const DISPUTE_CLOSED_STATUSES: ReadonlySet<string> = new Set([
  'won',
  'lost',
  'warning_closed',
  'prevented',
]);

/** Fact data: `{ status }`, the dispute's status. */
export const disputeRule: KindRule = {
  kind: 'dispute',
  meanings: MEANINGS,
  resolveCustomer(event) {
    const charge = idOf(event.data.object, 'charge');
    const paymentIntent = idOf(event.data.object, 'payment_intent');
    const keys = ids(charge, paymentIntent);
    return keys.length === 0 ? { kind: 'none' } : { kind: 'lookup', keys, chargeId: charge };
  },
  toFact(event) {
    return makeFact(event, { data: { status: str(event.data.object, 'status') } });
  },
  revealKeys: () => [],
  idsRead: (event) =>
    objectIds(event, idOf(event.data.object, 'charge'), idOf(event.data.object, 'payment_intent')),
  entryKind: 'dispute',
  fold(facts, meaningOf): DisputeEntry | null {
    const closed =
      withMeaning(facts, meaningOf, 'closed').length > 0 ||
      facts.some((f) => DISPUTE_CLOSED_STATUSES.has(dataStr(f, 'status') ?? ''));
    const opened = firstOpener(withMeaning(facts, meaningOf, 'opened'));
    return !closed && opened ? { kind: 'dispute', opened } : null;
  },
  customerEffect: () => ({}),
};

export const disputeView: EntryView<DisputeEntry> = {
  conditions(entries) {
    const conditions = entries.map(([disputeId, entry]) =>
      condition('dispute_open' as const, disputeId, entry.opened),
    );
    return { conditions, paymentMethods: [], changesAt: [] };
  },
};
