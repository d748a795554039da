// A customer's history for GET /customers/{id}/events: every applied event once (events
// that changed nothing too), every override set or clear, and the expiry of an override that
// ran out before another replaced it, sorted by created, then id.

import type { AppliedFact, HistoryEntry, OverrideRecord } from './facts';
import { compareIds, millis } from './ordering';

export function overrideEventType(o: OverrideRecord): string {
  return o.mode === null ? 'override.cleared' : `override.${o.mode}`;
}

/** The history id of an override's expiry: its own id, marked. */
export const expiryIdOf = (overrideId: string) => `${overrideId}_expired`;

/**
 * The overrides that ended by expiring at or before `now`: a set whose `expiresAt` came
 * before the next set or clear (docs/behaviour.md#access-policy).
 */
export function expiredOverrides(
  overrides: readonly OverrideRecord[],
  now: number,
): OverrideRecord[] {
  const actions = overrides
    .slice()
    .sort((a, b) => millis(a.setAt) - millis(b.setAt) || compareIds(a.id, b.id));
  return actions.filter((o, i) => {
    if (o.mode === null || o.expiresAt === null || o.expiresAt > now) return false;
    const next = actions[i + 1];
    return next === undefined || millis(next.setAt) > o.expiresAt * 1000;
  });
}

export function historyOf(
  facts: readonly AppliedFact[],
  overrides: readonly OverrideRecord[],
  now: number = Number.MAX_SAFE_INTEGER,
): HistoryEntry[] {
  const entries = new Map<string, HistoryEntry>();
  for (const f of facts) {
    if (!entries.has(f.eventId)) {
      entries.set(f.eventId, {
        id: f.eventId,
        type: f.type,
        created: f.created,
        appliedAt: f.appliedAt,
      });
    }
  }
  for (const o of overrides) {
    if (entries.has(o.id)) continue;
    entries.set(o.id, {
      id: o.id,
      type: overrideEventType(o),
      created: Math.floor(Date.parse(o.setAt) / 1000),
      appliedAt: o.setAt,
      reason: o.reason,
      actor: o.actor,
    });
  }
  for (const o of expiredOverrides(overrides, now)) {
    const id = expiryIdOf(o.id);
    entries.set(id, {
      id,
      type: 'override.expired',
      created: o.expiresAt!,
      appliedAt: new Date(o.expiresAt! * 1000).toISOString(),
      reason: o.reason,
      actor: null,
    });
  }
  return Array.from(entries.values()).sort(
    (a, b) => a.created - b.created || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

// ---------------------------------------------------------------------------------------
// Pages: `limit` entries after an opaque cursor, oldest first or (`order=desc`) newest first.

export type HistoryOrder = 'asc' | 'desc';

export const HISTORY_MAX_LIMIT = 1000;

export interface HistoryQuery {
  limit: number;
  order: HistoryOrder;
  /** The last entry of the previous page, or null for the first page. */
  after: { created: number; id: string } | null;
}

/** Why a query parameter is refused (a 400). */
export class HistoryQueryError extends Error {}

function encodeCursor(entry: HistoryEntry, order: HistoryOrder): string {
  return Buffer.from(JSON.stringify([entry.created, entry.id, order])).toString('base64url');
}

/** Reads `limit`, `cursor` and `order` from a query string's parameters. */
export function parseHistoryQuery(
  params: Readonly<Record<string, string | undefined>>,
): HistoryQuery {
  const order = params.order ?? 'asc';
  if (order !== 'asc' && order !== 'desc') {
    throw new HistoryQueryError('"order" must be "asc" or "desc"');
  }
  let limit = HISTORY_MAX_LIMIT;
  if (params.limit !== undefined) {
    if (
      !/^\d{1,4}$/.test(params.limit) ||
      Number(params.limit) < 1 ||
      Number(params.limit) > HISTORY_MAX_LIMIT
    ) {
      throw new HistoryQueryError(`"limit" must be a whole number from 1 to ${HISTORY_MAX_LIMIT}`);
    }
    limit = Number(params.limit);
  }
  let after: HistoryQuery['after'] = null;
  if (params.cursor !== undefined) {
    let decoded: unknown[] | null = null;
    try {
      const parsed: unknown = JSON.parse(Buffer.from(params.cursor, 'base64url').toString('utf8'));
      if (Array.isArray(parsed)) decoded = parsed;
    } catch {
      // refused below
    }
    const valid =
      decoded !== null &&
      decoded.length === 3 &&
      typeof decoded[0] === 'number' &&
      typeof decoded[1] === 'string' &&
      decoded[2] === order;
    if (!valid) {
      throw new HistoryQueryError('"cursor" is not a cursor this list gave for this order');
    }
    after = { created: decoded![0] as number, id: decoded![1] as string };
  }
  return { limit, order, after };
}

const compareEntries = (a: { created: number; id: string }, b: { created: number; id: string }) =>
  a.created - b.created || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** One page of a history sorted oldest first, and the cursor of the next page, if any. */
export function pageOf(
  history: readonly HistoryEntry[],
  query: HistoryQuery,
): { entries: HistoryEntry[]; next: string | null } {
  const ordered = query.order === 'asc' ? history : history.slice().reverse();
  const after = query.after;
  const start =
    after === null
      ? 0
      : ordered.findIndex((e) =>
          query.order === 'asc' ? compareEntries(e, after) > 0 : compareEntries(e, after) < 0,
        );
  const from = start === -1 ? ordered.length : start;
  const entries = ordered.slice(from, from + query.limit);
  const more = from + query.limit < ordered.length;
  return {
    entries,
    next: more && entries.length > 0 ? encodeCursor(entries.at(-1)!, query.order) : null,
  };
}
