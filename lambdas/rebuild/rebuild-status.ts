// Rebuilding status items from the facts: after an upgrade that changes what a rule means
// (RULES_VERSION), each customer's item is recomputed by the full derivation over all its
// facts, links and overrides, and replaced under its version, so processors may keep applying
// events meanwhile (a write that came first makes the rebuild try again). Entries past the
// item's bound are written afresh.

import type { FactStore, StoredStatus } from '../adapters/fact-store';
import { STATUS_ITEM_FORMAT } from '../adapters/status-item';
import { statusDigest, statusFromRecord, type StatusSettings } from '../core/billing-status';
import { RULES_VERSION, deriveRecord, type StatusRecord } from '../core/status-record';

export type RebuildStore = Pick<
  FactStore,
  'readStatus' | 'allFacts' | 'overrides' | 'statusCustomers' | 'status'
>;

export type RebuildOutcome = 'rebuilt' | 'unchanged' | 'would_change' | 'no_record';

export interface RebuildContext {
  settings: StatusSettings;
  /** Now, in milliseconds. */
  clock: () => number;
}

/** The full derivation of a customer, with how many facts and links each object has. */
async function derive(
  store: RebuildStore,
  customerId: string,
): Promise<{ record: StatusRecord; counts: Map<string, number> } | null> {
  const [{ facts, links }, overrides] = await Promise.all([
    store.allFacts(customerId),
    store.overrides(customerId),
  ]);
  const record = deriveRecord(facts, overrides, links);
  if (!record) return null;
  const counts = new Map<string, number>();
  for (const f of facts) counts.set(f.objectId, (counts.get(f.objectId) ?? 0) + 1);
  for (const l of links) counts.set(l.payment, (counts.get(l.payment) ?? 0) + 1);
  return { record, counts };
}

/** Whether an item already says what the derivation says, under the running rules. */
function upToDate(
  customerId: string,
  current: StoredStatus | null,
  next: StatusRecord,
  ctx: RebuildContext,
): boolean {
  if (!current || current.rulesVersion !== RULES_VERSION || current.format !== STATUS_ITEM_FORMAT) {
    return false;
  }
  if (current.oversize) return false;
  const now = Math.floor(ctx.clock() / 1000);
  return (
    statusDigest(statusFromRecord(customerId, current.record, now, ctx.settings)) ===
    statusDigest(statusFromRecord(customerId, next, now, ctx.settings))
  );
}

/** Recomputes one customer's item (or, with `dryRun`, says whether it would change). */
export async function rebuildCustomer(
  store: RebuildStore,
  customerId: string,
  ctx: RebuildContext,
  { dryRun = false }: { dryRun?: boolean } = {},
): Promise<RebuildOutcome> {
  for (let attempt = 1; ; attempt++) {
    // The item first: every fact it reflects is in the derivation read after it.
    const current = await store.readStatus(customerId);
    const next = await derive(store, customerId);
    if (!next) return 'no_record';
    if (upToDate(customerId, current, next.record, ctx)) return 'unchanged';
    if (dryRun) return 'would_change';
    if (await store.status.replace(customerId, next.record, next.counts, current)) return 'rebuilt';
    if (attempt >= 10) throw new Error(`the status item of ${customerId} kept changing`);
  }
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
  ctx: RebuildContext,
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
      const outcome = await rebuildCustomer(store, customerId, ctx, { dryRun: options.dryRun });
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
