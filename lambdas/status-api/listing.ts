// What the status API and the operator commands read alike (docs/behaviour.md#access-policy):
// the customer an id names (a `cus_` id, or an Accounts v2 `acct_` id's customer), a stored
// status item's billing status at the moment of the read, and the listing of the customers
// in a state (`GET /customers?state=...`, `npm run status -- --blocked|--grace|--warned`).

import type { FactStore, StoredStatus } from '../adapters/fact-store';
import type { Item } from '../adapters/status-item';
import { deriveBillingStatus, statusFromRecord, type StatusSettings } from '../core/billing-status';
import type { BillingStatus } from '../core/facts';
import { CUSTOMER_ID } from '../core/stripe-event';

/** The states `GET /customers` lists (docs/behaviour.md#access-policy). */
export type TroubleState = 'blocked' | 'grace' | 'warned';
export const TROUBLE_STATES: readonly TroubleState[] = ['blocked', 'grace', 'warned'];

/** The most customers one page of the listing reads. */
export const LIST_MAX_LIMIT = 1000;

/** Whether a status is in `state` now. */
export function isInState(status: BillingStatus, state: TroubleState): boolean {
  if (state === 'blocked') return !status.canAllocate;
  if (!status.canAllocate) return false;
  if (state === 'warned')
    return status.warnings.length > 0 || (status.summary?.warnings.length ?? 0) > 0;
  return status.warnings.some((w) => w.blocksAt !== undefined);
}

/** One entry of the listing: the customer and its conditions with their deadlines. */
export interface ListingEntry {
  customerId: string;
  canAllocate: boolean;
  conditions: {
    reason: string;
    objectId: string;
    since: number;
    /** When it blocks or blocked; null when the policy gives it no deadline. */
    blocksAt: number | null;
  }[];
}

export function listingEntry(status: BillingStatus): ListingEntry {
  return {
    customerId: status.customerId,
    canAllocate: status.canAllocate,
    conditions: [...status.blockers, ...status.warnings].map((c) => ({
      reason: c.reason,
      objectId: c.objectId,
      since: c.since,
      blocksAt: c.blocksAt ?? null,
    })),
  };
}

/** The customer id an id names: a `cus_` id itself, an `acct_` id's customer (null: unknown). */
export async function customerOfId(
  store: Pick<FactStore, 'ownerOf'>,
  id: string,
): Promise<string | null> {
  return CUSTOMER_ID.test(id) ? id : store.ownerOf([id]);
}

/**
 * The billing status of a stored item at `now` (unix seconds); an item whose last write
 * failed for its size answers from the facts.
 */
export async function statusOfStored(
  store: Pick<FactStore, 'allFacts' | 'overrides'>,
  customerId: string,
  stored: StoredStatus,
  now: number,
  settings: StatusSettings,
): Promise<BillingStatus> {
  if (!stored.oversize) return statusFromRecord(customerId, stored.record, now, settings);
  const [{ facts, links }, overrides] = await Promise.all([
    store.allFacts(customerId),
    store.overrides(customerId),
  ]);
  return deriveBillingStatus({ customerId, facts, links, overrides, now, settings })!;
}

export interface ListingPage {
  /** In the index's order: by customer, or for `grace` nearest deadline first. */
  entries: ListingEntry[];
  /** Where the next page starts, or null after the last. */
  next: Item | null;
}

/**
 * One page of the customers in `state`: up to `limit` (at most LIST_MAX_LIMIT) customers the
 * index lists from `start`, less those that time has moved out of the state since their
 * status was written.
 */
export async function listingPage(
  store: Pick<FactStore, 'customersIn' | 'readStatuses' | 'allFacts' | 'overrides'>,
  state: TroubleState,
  options: { limit: number; start: Item | null; now: number; settings: StatusSettings },
): Promise<ListingPage> {
  const page = await store.customersIn(state, options.limit, options.start);
  const stored = await store.readStatuses(page.customerIds);
  const entries: ListingEntry[] = [];
  for (const customerId of page.customerIds) {
    const item = stored.get(customerId);
    if (!item) continue;
    const status = await statusOfStored(store, customerId, item, options.now, options.settings);
    // The index is written with each status; time may have moved a customer on since.
    if (isInState(status, state)) entries.push(listingEntry(status));
  }
  return { entries, next: page.next };
}
