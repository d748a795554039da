// Rebuilding status items from the facts: after an upgrade that changes what a rule means
// (RULES_VERSION), each customer's item is recomputed by the full derivation over all its
// facts and overrides, and marked with the running rules version. The write is the ordinary
// versioned status write, so processors may keep applying events meanwhile.

import type { FactStore } from '../adapters/fact-store';
import { encodeCommit, encodeOverride, encodeState } from '../adapters/status-item';
import { RULES_VERSION, deriveRecord, type StatusRecord } from '../core/status-record';

export type RebuildStore = Pick<
  FactStore,
  'readStatus' | 'allFacts' | 'overrides' | 'updateStatus' | 'statusCustomers'
>;

export type RebuildOutcome = 'rebuilt' | 'unchanged' | 'would_change' | 'no_record';

const encoded = (r: StatusRecord) =>
  [
    encodeState(r),
    r.override ? encodeOverride(r.override) : '',
    r.lastCommit ? encodeCommit(r.lastCommit) : '',
  ].join('\n');

async function derive(store: RebuildStore, customerId: string): Promise<StatusRecord | null> {
  const [facts, overrides] = await Promise.all([
    store.allFacts(customerId),
    store.overrides(customerId),
  ]);
  return deriveRecord(facts, overrides);
}

/** Recomputes one customer's item (or, with `dryRun`, says whether it would change). */
export async function rebuildCustomer(
  store: RebuildStore,
  customerId: string,
  { dryRun = false }: { dryRun?: boolean } = {},
): Promise<RebuildOutcome> {
  if (dryRun) {
    const current = await store.readStatus(customerId);
    const next = await derive(store, customerId);
    if (!next) return 'no_record';
    const same =
      current !== null &&
      current.rulesVersion === RULES_VERSION &&
      encoded(current.record) === encoded(next);
    return same ? 'unchanged' : 'would_change';
  }
  let found = true;
  const written = await store.updateStatus(
    customerId,
    async () => {
      // Read after the item: every fact the item reflects is in this derivation.
      const next = await derive(store, customerId);
      found = next !== null;
      return next;
    },
    { rulesVersion: RULES_VERSION },
  );
  if (!found) return 'no_record';
  return written === 'written' ? 'rebuilt' : 'unchanged';
}

export interface RebuildSummary {
  customers: number;
  rebuilt: number;
  unchanged: number;
  wouldChange: number;
  noRecord: number;
  failed: number;
}

/**
 * Rebuilds the items of `customers` (default: every customer with a status item), reporting
 * progress through `progress` every `every` customers. A customer that fails is counted and
 * reported; the others go on.
 */
export async function rebuildAll(
  store: RebuildStore,
  options: {
    customers?: readonly string[];
    dryRun?: boolean;
    progress?: (line: string) => void;
    every?: number;
  } = {},
): Promise<RebuildSummary> {
  const summary: RebuildSummary = {
    customers: 0,
    rebuilt: 0,
    unchanged: 0,
    wouldChange: 0,
    noRecord: 0,
    failed: 0,
  };
  const every = options.every ?? 100;
  const customers = options.customers ?? store.statusCustomers();
  for await (const customerId of customers) {
    summary.customers += 1;
    try {
      const outcome = await rebuildCustomer(store, customerId, { dryRun: options.dryRun });
      if (outcome === 'rebuilt') summary.rebuilt += 1;
      else if (outcome === 'unchanged') summary.unchanged += 1;
      else if (outcome === 'would_change') summary.wouldChange += 1;
      else summary.noRecord += 1;
    } catch (err) {
      summary.failed += 1;
      options.progress?.(`${customerId}: failed: ${(err as Error).message}`);
    }
    if (summary.customers % every === 0) {
      options.progress?.(
        `${summary.customers} customers: ${summary.rebuilt + summary.wouldChange} ` +
          `${options.dryRun ? 'would change' : 'rebuilt'}, ${summary.unchanged} unchanged`,
      );
    }
  }
  return summary;
}
