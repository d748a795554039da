// The orders the rules share (lambdas/core/ordering.ts): which of two events opened a
// condition first, which of two commits is the later, and the greatest of many numbers.
import { describe, expect, it } from 'vitest';
import { compareIds, earlier, later, maxOf } from '../../lambdas/core/ordering';

describe('earlier', () => {
  const a = { created: 100, eventId: 'evt_b' };
  const b = { created: 200, eventId: 'evt_a' };

  it('takes the one there is when the other is missing', () => {
    expect(earlier(a, null)).toBe(a);
    expect(earlier(null, a)).toBe(a);
    expect(earlier(null, null)).toBeNull();
  });

  it('takes the smaller created, whatever the ids, in either position', () => {
    expect(earlier(a, b)).toBe(a);
    expect(earlier(b, a)).toBe(a);
  });

  it('takes the smaller id at the same second', () => {
    const c = { created: 100, eventId: 'evt_a' };
    expect(earlier(a, c)).toBe(c);
    expect(earlier(c, a)).toBe(c);
  });
});

describe('later', () => {
  const a = { id: 'evt_b', at: '2026-11-22T10:00:00.000Z' };
  const b = { id: 'evt_a', at: '2026-11-22T10:00:00.001Z' };

  it('takes the one there is when the other is missing', () => {
    expect(later(a, null)).toBe(a);
    expect(later(null, a)).toBe(a);
    expect(later(null, null)).toBeNull();
  });

  it('takes the greater time, whatever the ids, in either position', () => {
    expect(later(a, b)).toBe(b);
    expect(later(b, a)).toBe(b);
  });

  it('compares times, not their spelling', () => {
    const offset = { id: 'evt_c', at: '2026-11-22T11:00:00+02:00' }; // 09:00Z
    expect(later(a, offset)).toBe(a);
    expect(later(offset, a)).toBe(a);
  });

  it('takes the greater id at the same millisecond', () => {
    const c = { id: 'evt_c', at: a.at };
    expect(later(a, c)).toBe(c);
    expect(later(c, a)).toBe(c);
  });
});

describe('compareIds and maxOf', () => {
  it('orders ids by code unit, not by locale', () => {
    expect(['evt_b', 'evt_B', 'evt_a', 'evt_aa'].sort(compareIds)).toEqual([
      'evt_B',
      'evt_a',
      'evt_aa',
      'evt_b',
    ]);
    expect(compareIds('evt_a', 'evt_a')).toBe(0);
  });

  it('finds the greatest number of any list, -Infinity for none', () => {
    expect(maxOf([3, 9, 9, -2])).toBe(9);
    expect(maxOf([-5])).toBe(-5);
    expect(maxOf([])).toBe(-Infinity);
  });
});
