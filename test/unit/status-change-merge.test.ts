// A processor writes each customer's status item once per batch, with the changes of all its
// events merged: the merge must keep, part by part, what the conditional writes one after the
// other would have kept, in whatever order the events came.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../lambdas/core/entries';
import {
  mergeStatusChanges,
  type EntryChange,
  type StatusChange,
} from '../../lambdas/adapters/status-writer';

const failed = (eventId: string, created: number): Entry => ({
  kind: 'payment',
  failures: [{ created, eventId }],
});
const entry = (objectId: string, count: number, e: Entry | null = null): EntryChange => ({
  kind: 'payment',
  objectId,
  count,
  entry: e,
});

describe('mergeStatusChanges', () => {
  it('keeps per object the entry folded from more facts, whichever comes first', () => {
    const older: StatusChange = { entries: [entry('pi_1', 1, failed('evt_1', 10))] };
    const newer: StatusChange = { entries: [entry('pi_1', 2, null)] };
    for (const merged of [mergeStatusChanges(older, newer), mergeStatusChanges(newer, older)]) {
      expect(merged.entries).toEqual([entry('pi_1', 2, null)]);
    }
  });

  it('keeps the entries of different objects side by side', () => {
    const merged = mergeStatusChanges(
      { entries: [entry('pi_1', 1, failed('evt_1', 10))] },
      { entries: [entry('pi_2', 3), { ...entry('pi_2', 1), kind: 'invoice' }] },
    );
    expect(merged.entries).toHaveLength(3);
    expect(merged.entries).toContainEqual(entry('pi_2', 3));
  });

  it('keeps the later commit, Stripe event, success and alias, and the earlier deletion', () => {
    const a: StatusChange = {
      commit: { id: 'evt_a', at: '2026-12-01T10:00:00.000Z' },
      stripe: { id: 'evt_a', at: '2026-12-01T10:00:00.000Z', livemode: true },
      success: 200,
      deleted: { created: 50, eventId: 'evt_a' },
      account: { account: 'acct_1', created: 10, eventId: 'evt_a' },
    };
    const b: StatusChange = {
      commit: { id: 'evt_b', at: '2026-12-01T10:00:01.000Z' },
      stripe: { id: 'evt_b', at: '2026-12-01T10:00:01.000Z', livemode: false },
      success: 100,
      deleted: { created: 40, eventId: 'evt_b' },
      account: { account: 'acct_2', created: 20, eventId: 'evt_b' },
    };
    for (const merged of [mergeStatusChanges(a, b), mergeStatusChanges(b, a)]) {
      expect(merged).toEqual({
        commit: b.commit,
        stripe: b.stripe,
        success: 200,
        deleted: b.deleted,
        account: b.account,
      });
    }
  });

  it('breaks a tie in time by the event id, as the conditional writes do', () => {
    const at = '2026-12-01T10:00:00.000Z';
    const merged = mergeStatusChanges(
      { commit: { id: 'evt_b', at }, deleted: { created: 5, eventId: 'evt_b' } },
      { commit: { id: 'evt_a', at }, deleted: { created: 5, eventId: 'evt_a' } },
    );
    expect(merged.commit?.id).toBe('evt_b');
    expect(merged.deleted?.eventId).toBe('evt_a');
  });

  it('keeps the later override', () => {
    const override = (id: string, setAt: string) => ({
      id,
      mode: 'allow' as const,
      reason: null,
      setAt,
      expiresAt: null,
    });
    const merged = mergeStatusChanges(
      { override: override('ovr_2', '2026-12-01T10:00:01.000Z') },
      { override: override('ovr_1', '2026-12-01T10:00:00.000Z') },
    );
    expect(merged.override?.id).toBe('ovr_2');
  });

  it('leaves out what neither change has', () => {
    expect(mergeStatusChanges({}, {})).toEqual({});
    expect(mergeStatusChanges({ success: 0 }, {})).toEqual({ success: 0 });
  });

  it('gives the same change in any order of any number of events', () => {
    const change = fc.record(
      {
        entries: fc.array(
          fc.record({
            kind: fc.constant('payment' as const),
            objectId: fc.constantFrom('pi_1', 'pi_2', 'pi_3'),
            count: fc.integer({ min: 1, max: 4 }),
            entry: fc.constant(null),
          }),
          { maxLength: 3 },
        ),
        commit: fc.record({
          id: fc.constantFrom('evt_1', 'evt_2', 'evt_3'),
          at: fc.constantFrom('2026-12-01T10:00:00.000Z', '2026-12-01T10:00:01.000Z'),
        }),
        success: fc.integer({ min: 0, max: 5 }),
        deleted: fc.record({
          created: fc.integer({ min: 0, max: 3 }),
          eventId: fc.constantFrom('evt_1', 'evt_2'),
        }),
      },
      { requiredKeys: [] },
    );
    // Entries of one object with one count are one snapshot (facts only grow).
    const consistent = (changes: StatusChange[]): StatusChange[] => {
      const seen = new Map<string, EntryChange>();
      return changes.map((c) => ({
        ...c,
        entries: (c.entries ?? []).map((e) => {
          const key = `${e.objectId}:${e.count}`;
          if (!seen.has(key)) seen.set(key, e);
          return seen.get(key)!;
        }),
      }));
    };
    const canonical = (c: StatusChange) => ({
      ...c,
      entries: [...(c.entries ?? [])].sort((x, y) => x.objectId.localeCompare(y.objectId)),
    });
    fc.assert(
      fc.property(fc.array(change, { minLength: 1, maxLength: 6 }), fc.nat(), (raw, seed) => {
        const changes = consistent(raw);
        const shuffled: StatusChange[] = [...changes];
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = (seed + i * 7) % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        expect(canonical(shuffled.reduce(mergeStatusChanges))).toEqual(
          canonical(changes.reduce(mergeStatusChanges)),
        );
      }),
    );
  });
});
