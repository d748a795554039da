// A customer's status record: what the billing-status item holds, and how facts and
// overrides fold into it. Its size depends on what is open (entries of open objects, every
// payment method, a few customer-level values), never on how long the history is.
//
// Applying an event folds *all facts of the event's object* into that object's entry and
// merges the event into the customer-level values (maxima and minima). Each step is
// idempotent and does not depend on order, so folding the facts one object at a time in any
// order, with any duplicates, gives the same record as folding them all at once
// (deriveRecord), which is how a record is rebuilt.
// Pure: no I/O.

import type { Entry, EntryKind, InvoiceLink } from './entries';
import type { AppliedFact, OverrideMode, OverrideRecord } from './facts';
import { compareIds, earlier, later, millis, openerOf, type Commit, type Opener } from './ordering';
import { ENTRY_VIEWS, entryKindOf, meaningOf, ruleForType } from './rules';
import { dataStr } from './rules/common';
import type { SummaryState } from './summary';

/**
 * The version of the rules a record was computed with. Raise it when a rule changes what a
 * stored record means; records of older versions are counted and rebuilt
 * (`npm run rebuild`).
 */
export const RULES_VERSION = 2;

/** The operator action in force: the latest set or clear. */
export interface OverrideState {
  readonly id: string;
  /** `null`: cleared. */
  readonly mode: OverrideMode | null;
  readonly reason: string | null;
  readonly setAt: string;
  /** Unix seconds at which the override ends as if cleared; null: it does not expire. */
  readonly expiresAt: number | null;
}

/** The customer's Accounts v2 id, from the newest event that named both ids. */
export interface AccountAlias {
  readonly account: string;
  readonly created: number;
  readonly eventId: string;
}

/** The last Stripe event applied (by commit time): the record's `livemode`. */
export interface LastStripeCommit extends Commit {
  readonly livemode: boolean;
}

/** Where an object's entry is kept: its entry kind and id (ids never collide within a kind). */
export function entryKey(kind: EntryKind, objectId: string): string {
  return `${kind}:${objectId}`;
}

/** The object id of an entry key. */
export function entryObjectId(key: string): string {
  return key.slice(key.indexOf(':') + 1);
}

export interface StatusRecord {
  /** entryKey -> entry, for objects that currently contribute (every method, for good). */
  readonly entries: ReadonlyMap<string, Entry>;
  /** `created` of the latest successful payment (supersedes earlier failures). */
  readonly latestSuccess: number | null;
  /** The customer.deleted event, earliest first. */
  readonly deleted: Opener | null;
  readonly lastStripe: LastStripeCommit | null;
  readonly override: OverrideState | null;
  /** The last commit, a Stripe event or an operator action (lastEventId, updatedAt). */
  readonly lastCommit: Commit | null;
  /** The customer's Accounts v2 id, when an event named it with the customer id. */
  readonly customerAccount: AccountAlias | null;
  /**
   * Entries past the status item's bound, counted instead of listed (the status item keeps
   * them; the full derivation lists everything). @default none
   */
  readonly summary?: SummaryState | null;
}

export const EMPTY_RECORD: StatusRecord = {
  entries: new Map(),
  latestSuccess: null,
  deleted: null,
  lastStripe: null,
  override: null,
  lastCommit: null,
  customerAccount: null,
};

/** The newer of two aliases: the greater `created`, then the greater event id. */
function newerAlias(a: AccountAlias | null, b: AccountAlias | null): AccountAlias | null {
  if (a === null) return b;
  if (b === null) return a;
  const byTime = b.created - a.created || compareIds(b.eventId, a.eventId);
  return byTime > 0 ? b : a;
}

const maxOrNull = (a: number | null, b: number | null) =>
  a === null ? b : b === null ? a : Math.max(a, b);

/** Entries after the latest success moved: what can never count again is dropped. */
function settle(
  entries: ReadonlyMap<string, Entry>,
  latestSuccess: number | null,
): Map<string, Entry> {
  const settled = new Map<string, Entry>();
  for (const [id, entry] of entries) {
    const view = ENTRY_VIEWS[entry.kind] as {
      settle?: (e: Entry, s: number | null) => Entry | null;
    };
    const kept = view.settle ? view.settle(entry, latestSuccess) : entry;
    if (kept) settled.set(id, kept);
  }
  return settled;
}

/**
 * Folds facts of one object into the record: `facts` are all the object's facts and `links`
 * the invoice links known for it, and the object's entry is recomputed from them;
 * customer-level values merge each fact. With `refold` false (a fact that cannot change its
 * entry, see refoldsEntry), `facts` may be just the fact being applied and the entry is left
 * as it is.
 */
export function applyObjectFacts(
  record: StatusRecord,
  objectId: string,
  facts: readonly AppliedFact[],
  { refold = true, links = [] }: { refold?: boolean; links?: readonly InvoiceLink[] } = {},
): StatusRecord {
  let { latestSuccess, deleted, lastStripe, lastCommit, customerAccount } = record;
  for (const f of facts) {
    const change = customerChange(f);
    if (change.success !== undefined) latestSuccess = maxOrNull(latestSuccess, change.success);
    if (change.deleted) deleted = earlier(deleted, change.deleted);
    if (change.account) customerAccount = newerAlias(customerAccount, change.account);
    lastStripe = later(lastStripe, { id: f.eventId, at: f.appliedAt, livemode: f.livemode });
    lastCommit = later(lastCommit, { id: f.eventId, at: f.appliedAt });
  }

  const entries = new Map(record.entries);
  // Stripe ids never collide across kinds, but nothing here relies on it: each entry kind
  // present among the facts is folded on its own (kinds sharing an entry kind, payment
  // methods and sources, share its fold).
  for (const [kind, entry] of refold ? objectEntries(facts, links) : []) {
    if (entry) entries.set(entryKey(kind, objectId), entry);
    else entries.delete(entryKey(kind, objectId));
  }
  return {
    ...record,
    entries: settle(entries, latestSuccess),
    latestSuccess,
    deleted,
    lastStripe,
    lastCommit,
    customerAccount,
  };
}

/**
 * The entries one object's facts and links fold into, per entry kind among its facts (null: the
 * object contributes nothing of that kind). What a processor writes into the status item.
 */
export function objectEntries(
  facts: readonly AppliedFact[],
  links: readonly InvoiceLink[],
): Map<EntryKind, Entry | null> {
  const byKind = new Map<EntryKind, AppliedFact[]>();
  for (const f of facts) {
    const kind = entryKindOf(f);
    if (kind === null) continue;
    const list = byKind.get(kind);
    if (list) list.push(f);
    else byKind.set(kind, [f]);
  }
  const entries = new Map<EntryKind, Entry | null>();
  for (const [kind, ofKind] of byKind) {
    entries.set(kind, ruleForType(ofKind[0]!.type)!.fold(ofKind, meaningOf, links));
  }
  return entries;
}

/** What one fact changes at the customer level, beyond its object's entry. */
export function customerChange(f: AppliedFact): {
  success?: number;
  deleted?: Opener;
  account?: AccountAlias;
} {
  const effect = ruleForType(f.type)?.customerEffect(f) ?? {};
  const account = dataStr(f, 'customerAccount');
  return {
    ...(effect.success ? { success: f.created } : {}),
    ...(effect.deleted ? { deleted: openerOf(f) } : {}),
    ...(account ? { account: { account, created: f.created, eventId: f.eventId } } : {}),
  };
}

/** Folds one operator action into the record: the latest set or clear wins. */
export function applyOverride(record: StatusRecord, o: OverrideRecord): StatusRecord {
  const action = { id: o.id, at: o.setAt };
  const current = record.override ? { id: record.override.id, at: record.override.setAt } : null;
  const winner = later(current, action);
  return {
    ...record,
    override:
      winner === action
        ? { id: o.id, mode: o.mode, reason: o.reason, setAt: o.setAt, expiresAt: o.expiresAt }
        : record.override,
    lastCommit: later(record.lastCommit, action),
  };
}

/** One entry per id; a duplicate keeps its earliest commit, so input order never matters. */
function uniqueBy<T>(items: readonly T[], id: (t: T) => string, at: (t: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const item of items) {
    const prior = seen.get(id(item));
    if (!prior || millis(at(item)) < millis(at(prior))) seen.set(id(item), item);
  }
  return Array.from(seen.values());
}

/**
 * The record of a customer from all its facts and overrides at once: the full derivation
 * (the rebuild path, and the oracle the item is checked against). Null when there is
 * neither: no event has named the customer yet.
 */
export function deriveRecord(
  facts: readonly AppliedFact[],
  overrides: readonly OverrideRecord[],
  links: readonly InvoiceLink[] = [],
): StatusRecord | null {
  const unique = uniqueBy(
    facts,
    (f) => f.eventId,
    (f) => f.appliedAt,
  );
  const actions = uniqueBy(
    overrides,
    (o) => o.id,
    (o) => o.setAt,
  );
  if (unique.length === 0 && actions.length === 0) return null;
  const byObject = new Map<string, AppliedFact[]>();
  for (const f of unique) {
    const list = byObject.get(f.objectId);
    if (list) list.push(f);
    else byObject.set(f.objectId, [f]);
  }
  let record = EMPTY_RECORD;
  for (const [objectId, objectFacts] of byObject) {
    record = applyObjectFacts(record, objectId, objectFacts, {
      links: links.filter((l) => l.payment === objectId),
    });
  }
  for (const o of actions) record = applyOverride(record, o);
  return record;
}
