// GET /customers/{id}/events pages (docs/behaviour.md#history-pages): `limit`,
// `order` and an opaque `cursor` read from the query string, and the page a query selects
// from a history sorted oldest first. Pure: the status API only adds the store and the
// Link header.
import { describe, expect, it } from 'vitest';
import type { HistoryEntry } from '../../lambdas/core/facts';
import {
  HISTORY_MAX_LIMIT,
  HistoryQueryError,
  pageOf,
  parseHistoryQuery,
  type HistoryQuery,
} from '../../lambdas/core/history';

const entry = (created: number, id: string): HistoryEntry => ({
  id,
  type: 'invoice.payment_failed',
  created,
  appliedAt: new Date(created * 1000).toISOString(),
});

// Sorted by created, then id, as historyOf gives it. Ids do not follow `created` (evt_z is
// the oldest), and three entries share one second.
const HISTORY: readonly HistoryEntry[] = [
  entry(100, 'evt_z'),
  entry(200, 'evt_b'),
  entry(200, 'evt_c'),
  entry(200, 'evt_d'),
  entry(300, 'evt_a'),
];
const ids = (entries: readonly HistoryEntry[]) => entries.map((e) => e.id);
const encoded = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Every page of the history for `limit` and `order`, following each page's cursor. */
function walk(history: readonly HistoryEntry[], limit: number, order: 'asc' | 'desc'): string[][] {
  const pages: string[][] = [];
  let cursor: string | undefined;
  for (let guard = 0; guard <= history.length + 1; guard++) {
    const query = parseHistoryQuery({
      limit: String(limit),
      order,
      ...(cursor === undefined ? {} : { cursor }),
    });
    const page = pageOf(history, query);
    pages.push(ids(page.entries));
    if (page.next === null) return pages;
    cursor = page.next;
  }
  throw new Error('the pages never ended');
}

describe('history query parameters', () => {
  it('defaults to every entry, oldest first, from the start', () => {
    expect(parseHistoryQuery({})).toEqual({ limit: HISTORY_MAX_LIMIT, order: 'asc', after: null });
    expect(HISTORY_MAX_LIMIT).toBe(1000);
  });

  it('reads order=asc and order=desc', () => {
    expect(parseHistoryQuery({ order: 'asc' }).order).toBe('asc');
    expect(parseHistoryQuery({ order: 'desc' }).order).toBe('desc');
  });

  it.each(['', 'DESC', 'newest', 'asc,desc'])('refuses order=%j', (order) => {
    expect(() => parseHistoryQuery({ order })).toThrow(HistoryQueryError);
    expect(() => parseHistoryQuery({ order })).toThrow('"order" must be "asc" or "desc"');
  });

  it.each([
    ['1', 1],
    ['2', 2],
    ['12', 12],
    ['999', 999],
    ['1000', 1000],
  ])('reads limit=%s', (limit, expected) => {
    expect(parseHistoryQuery({ limit }).limit).toBe(expected);
  });

  it.each(['0', '1001', '9999', '10000', '', '-1', '+5', '1.5', '1e3', '12a', 'a12', ' 5', 'x'])(
    'refuses limit=%j',
    (limit) => {
      expect(() => parseHistoryQuery({ limit })).toThrow(HistoryQueryError);
      expect(() => parseHistoryQuery({ limit })).toThrow(
        '"limit" must be a whole number from 1 to 1000',
      );
    },
  );

  it('reads back the place a cursor names, for the order it was given for', () => {
    const asc = pageOf(HISTORY, { limit: 2, order: 'asc', after: null });
    expect(parseHistoryQuery({ cursor: asc.next! }).after).toEqual({ created: 200, id: 'evt_b' });
    const desc = pageOf(HISTORY, { limit: 2, order: 'desc', after: null });
    expect(parseHistoryQuery({ cursor: desc.next!, order: 'desc' })).toEqual({
      limit: HISTORY_MAX_LIMIT,
      order: 'desc',
      after: { created: 200, id: 'evt_d' },
    });
  });

  it.each([
    ['a cursor of the other order', encoded([200, 'evt_b', 'desc'])],
    ['text that is not base64url JSON', 'not-a-cursor'],
    ['JSON that is not a list', encoded({ created: 200, id: 'evt_b', order: 'asc' })],
    ['a list-like object', encoded({ 0: 200, 1: 'evt_b', 2: 'asc', length: 3 })],
    ['a list too short', encoded([200, 'evt_b'])],
    ['a list too long', encoded([200, 'evt_b', 'asc', 'x'])],
    ['a time that is not a number', encoded(['200', 'evt_b', 'asc'])],
    ['an id that is not a string', encoded([200, 7, 'asc'])],
    ['JSON null', encoded(null)],
    ['an empty cursor', ''],
  ])('refuses %s', (_case, cursor) => {
    expect(() => parseHistoryQuery({ cursor })).toThrow(HistoryQueryError);
    expect(() => parseHistoryQuery({ cursor })).toThrow(
      '"cursor" is not a cursor this list gave for this order',
    );
  });
});

describe('history pages', () => {
  it.each([1, 2, 3, 4, 5, 1000])('oldest first, %i at a time, lists each entry once', (limit) => {
    const pages = walk(HISTORY, limit, 'asc');
    expect(pages.flat()).toEqual(ids(HISTORY));
    for (const page of pages) expect(page.length).toBeLessThanOrEqual(limit);
    expect(pages).toHaveLength(Math.ceil(HISTORY.length / limit));
  });

  it.each([1, 2, 3, 4, 5, 1000])('newest first, %i at a time, lists each entry once', (limit) => {
    const pages = walk(HISTORY, limit, 'desc');
    expect(pages.flat()).toEqual(ids(HISTORY).reverse());
    expect(pages).toHaveLength(Math.ceil(HISTORY.length / limit));
  });

  it('splits entries of the same second across pages by id', () => {
    expect(walk(HISTORY, 2, 'asc')).toEqual([['evt_z', 'evt_b'], ['evt_c', 'evt_d'], ['evt_a']]);
    expect(walk(HISTORY, 2, 'desc')).toEqual([['evt_a', 'evt_d'], ['evt_c', 'evt_b'], ['evt_z']]);
  });

  it('gives no cursor when the page reaches the last entry exactly', () => {
    const first = pageOf(HISTORY, { limit: 5, order: 'asc', after: null });
    expect(ids(first.entries)).toEqual(ids(HISTORY));
    expect(first.next).toBeNull();
    const rest = pageOf(HISTORY, { limit: 3, order: 'asc', after: { created: 200, id: 'evt_b' } });
    expect(ids(rest.entries)).toEqual(['evt_c', 'evt_d', 'evt_a']);
    expect(rest.next).toBeNull();
  });

  it("names the page's last entry in its cursor", () => {
    for (const limit of [1, 3]) {
      const page = pageOf(HISTORY, { limit, order: 'asc', after: null });
      const last = page.entries.at(-1)!;
      expect(parseHistoryQuery({ cursor: page.next! }).after).toEqual({
        created: last.created,
        id: last.id,
      });
    }
  });

  it('continues after the place a cursor names, even when that entry is not in the list', () => {
    const between: HistoryQuery = {
      limit: 10,
      order: 'asc',
      after: { created: 200, id: 'evt_bb' },
    };
    expect(ids(pageOf(HISTORY, between).entries)).toEqual(['evt_c', 'evt_d', 'evt_a']);
    const desc: HistoryQuery = { limit: 10, order: 'desc', after: { created: 200, id: 'evt_cc' } };
    expect(ids(pageOf(HISTORY, desc).entries)).toEqual(['evt_c', 'evt_b', 'evt_z']);
  });

  it('gives an empty last page after the last entry', () => {
    for (const order of ['asc', 'desc'] as const) {
      const last = order === 'asc' ? HISTORY.at(-1)! : HISTORY[0]!;
      const page = pageOf(HISTORY, { limit: HISTORY_MAX_LIMIT, order, after: last });
      expect(page).toEqual({ entries: [], next: null });
    }
  });

  it('leaves the history it is given as it was', () => {
    const history = HISTORY.slice();
    pageOf(history, { limit: 2, order: 'desc', after: null });
    pageOf(history, { limit: 2, order: 'desc', after: { created: 200, id: 'evt_c' } });
    expect(history).toEqual(HISTORY);
  });

  it('pages an empty history as one empty page', () => {
    expect(pageOf([], { limit: 10, order: 'asc', after: null })).toEqual({
      entries: [],
      next: null,
    });
    expect(walk([], 1, 'desc')).toEqual([[]]);
  });
});
