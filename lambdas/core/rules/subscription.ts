// customer.subscription.* events: the subscription's status is the one of its newest event
// (with a fixed order for same-second ties); past_due, unpaid and paused each open their own
// condition.

import type { EntryView, KindRule, MeaningOf, SubscriptionEntry } from '../entries';
import type { AppliedFact } from '../facts';
import { compareIds, condition, firstOpener, maxOf } from '../ordering';
import { str } from '../stripe-event';
import { customerOfObject, dataStr, makeFact, objectIds } from './common';
import { meaningsOf } from '../registry';

const MEANINGS = meaningsOf('subscription');

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
const TERMINAL: ReadonlySet<string> = new Set(['canceled', 'incomplete_expired']);
const BLOCKING: ReadonlyMap<string, SubscriptionEntry['reason']> = new Map([
  ['past_due', 'subscription_past_due'],
  ['unpaid', 'subscription_unpaid'],
  ['paused', 'subscription_paused'],
]);

/** Statuses unknown to the order rank below all known ones. */
const rank = (status: string | null) =>
  status === null ? -1 : (SUBSCRIPTION_ORDER.get(status) ?? -1);

/** The status an event gives its subscription, or null when it says nothing about it. */
function statusOf(f: AppliedFact, meaningOf: MeaningOf): string | null {
  const status = dataStr(f, 'status');
  if (status === null && meaningOf(f) === 'deleted') return 'canceled';
  return status;
}

/**
 * The newest event: greatest `created`; among ties, the one that comes after every other (an
 * event whose previous status is the other's status comes after it, when only one of the two
 * names the other; otherwise the greater status order, then the greater id). The relation need
 * not be transitive, so when no tie beats all others the status order, then the id, decide:
 * either way the choice depends on the set only.
 */
function newest(facts: readonly AppliedFact[], meaningOf: MeaningOf): AppliedFact {
  const status = (f: AppliedFact) => statusOf(f, meaningOf);
  const comesAfter = (a: AppliedFact, b: AppliedFact): boolean => {
    const aNamesB = dataStr(a, 'previousStatus') === status(b);
    const bNamesA = dataStr(b, 'previousStatus') === status(a);
    if (aNamesB !== bNamesA) return aNamesB;
    const byRank = rank(status(a)) - rank(status(b));
    return byRank !== 0 ? byRank > 0 : a.eventId > b.eventId;
  };
  const latest = maxOf(facts.map((f) => f.created));
  const ties = facts.filter((f) => f.created === latest);
  const winner = ties.find((c) => ties.every((d) => d === c || comesAfter(c, d)));
  if (winner) return winner;
  return ties
    .slice()
    .sort((a, b) => rank(status(b)) - rank(status(a)) || compareIds(b.eventId, a.eventId))[0]!;
}

/** Fact data: `{ status, previousStatus }` (`previousStatus` from `previous_attributes`, or null). */
export const subscriptionRule: KindRule = {
  kind: 'subscription',
  meanings: MEANINGS,
  resolveCustomer: customerOfObject,
  toFact(event) {
    return makeFact(event, {
      data: {
        status: str(event.data.object, 'status'),
        previousStatus: str(event.data.previous_attributes, 'status'),
      },
    });
  },
  revealKeys: () => [],
  idsRead: (event) => objectIds(event),
  entryKind: 'subscription',
  fold(facts, meaningOf): SubscriptionEntry | null {
    // An event without a status says nothing about the subscription's state.
    const withStatus = facts.filter((f) => statusOf(f, meaningOf) !== null);
    if (withStatus.length === 0) return null;
    // Terminal statuses win once seen, whatever comes later.
    const terminal = withStatus.filter((f) => TERMINAL.has(statusOf(f, meaningOf)!));
    const current = statusOf(
      newest(terminal.length > 0 ? terminal : withStatus, meaningOf),
      meaningOf,
    )!;
    const reason = BLOCKING.get(current);
    if (!reason) return null;
    // Since: the newest event that entered the current status (a `.created` event, or one
    // whose previous status differs), else the earliest event with that status.
    const inStatus = withStatus.filter((f) => statusOf(f, meaningOf) === current);
    const entered = inStatus.filter((f) => {
      const previous = dataStr(f, 'previousStatus');
      return meaningOf(f) === 'created' || (previous !== null && previous !== current);
    });
    const newestEntry = maxOf(entered.map((f) => f.created));
    const since =
      entered.length > 0
        ? firstOpener(entered.filter((f) => f.created === newestEntry))!
        : firstOpener(inStatus)!;
    return { kind: 'subscription', reason, since };
  },
  customerEffect: () => ({}),
};

export const subscriptionView: EntryView<SubscriptionEntry> = {
  conditions(entries) {
    const conditions = entries.map(([subscriptionId, entry]) =>
      condition(entry.reason, subscriptionId, entry.since),
    );
    return { conditions, paymentMethods: [], changesAt: [] };
  },
};
