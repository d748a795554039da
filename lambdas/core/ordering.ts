// The orders the rules rely on, in one place: Stripe ids compare by code unit, commits by
// time then id, and the event that opened a condition is the earliest one (then the smallest
// id). Pure.

import type { AppliedFact, Condition } from './facts';

/** Plain code-unit order, as Stripe ids compare (never locale-dependent). */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Milliseconds of an ISO 8601 time. Times written by this system are uniform, but parsing
 * keeps the order right if a writer ever omits the milliseconds or uses an offset.
 */
export function millis(iso: string): number {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? -Infinity : t;
}

/** The event a condition is dated by: its `created` and its id. */
export interface Opener {
  readonly created: number;
  readonly eventId: string;
}

export const openerOf = (f: AppliedFact): Opener => ({ created: f.created, eventId: f.eventId });

/** The earlier of two openers: the smaller `created`, then the smaller id. */
export function earlier(a: Opener | null, b: Opener | null): Opener | null {
  if (a === null) return b;
  if (b === null) return a;
  const byCreated = a.created - b.created;
  if (byCreated !== 0) return byCreated < 0 ? a : b;
  return compareIds(a.eventId, b.eventId) <= 0 ? a : b;
}

/** The event that opened a condition among `facts`: the earliest, then the smallest id. */
export function firstOpener(facts: Iterable<AppliedFact>): Opener | null {
  let first: Opener | null = null;
  for (const f of facts) first = earlier(first, openerOf(f));
  return first;
}

export function condition<R extends string>(
  reason: R,
  objectId: string,
  from: Opener,
): Condition<R> {
  return { reason, objectId, since: from.created, eventId: from.eventId };
}

/** Blockers and warnings are listed by `since`, then `objectId`, then `reason`. */
export function sortConditions<R extends string>(list: Condition<R>[]): Condition<R>[] {
  return list.sort(
    (a, b) =>
      a.since - b.since || compareIds(a.objectId, b.objectId) || compareIds(a.reason, b.reason),
  );
}

/** A commit of the record: an applied event or an operator action. */
export interface Commit {
  readonly id: string;
  /** ISO 8601 time of the commit. */
  readonly at: string;
}

/** The later of two commits: the greater time, then the greater id (total on distinct ids). */
export function later<C extends Commit>(a: C | null, b: C | null): C | null {
  if (a === null) return b;
  if (b === null) return a;
  const byTime = millis(a.at) - millis(b.at);
  if (byTime !== 0) return byTime > 0 ? a : b;
  return compareIds(a.id, b.id) >= 0 ? a : b;
}

/** The greatest of a list of numbers without spreading it (safe for any length). */
export function maxOf(values: Iterable<number>): number {
  let max = -Infinity;
  for (const v of values) if (v > max) max = v;
  return max;
}
