// A customer's history for GET /customers/{id}/events: every applied event once (events
// that changed nothing too) and every override set or clear, sorted by created, then id.

import type { AppliedFact, HistoryEntry, OverrideRecord } from './facts';

export function overrideEventType(o: OverrideRecord): string {
  return o.mode === null ? 'override.cleared' : `override.${o.mode}`;
}

export function historyOf(
  facts: readonly AppliedFact[],
  overrides: readonly OverrideRecord[],
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
  return [...entries.values()].sort(
    (a, b) => a.created - b.created || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}
