// The billing-status item: how a customer's status record is stored in one DynamoDB item, and
// read back. Shared by the functions and the client package (client/), so both read the same
// format. Each object's entry is an attribute of its own (`e:<kind>:<object>`, with the count
// of facts it was folded from), and each customer-level value has its own attributes, so that
// writers of different objects of one customer never touch the same attribute and never
// retry against each other (docs/behaviour.md#hostile-and-busy-customers). Values are compact
// JSON so that a typical item stays near 1 KB.

import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Entry, EntryKind } from '../core/entries';
import type { OverrideMode } from '../core/facts';
import type { Opener } from '../core/ordering';
import type { ContributionName, Earliest, SummaryState } from '../core/summary';
import {
  EMPTY_RECORD,
  entryKey,
  type AccountAlias,
  type LastStripeCommit,
  type OverrideState,
  type StatusRecord,
} from '../core/status-record';
import { STATUS_ATTR, idOfKeyPart, keyPart } from './table-layout';

export type Item = Record<string, AttributeValue>;

/**
 * The item format this code writes and reads. A reader meeting a greater format refuses it
 * (UnknownStatusFormatError) rather than guess; bump it when the encoding below changes.
 * Format 1 (one JSON state attribute, before revision 4 of the rules) is still read.
 */
export const STATUS_ITEM_FORMAT = 2;

/** A status item in a format this code does not know (written by a newer stack). */
export class UnknownStatusFormatError extends Error {
  readonly code = 'status_format_unknown';
  constructor(readonly format: number) {
    super(`status item format ${format} is newer than the supported ${STATUS_ITEM_FORMAT}`);
    this.name = 'UnknownStatusFormatError';
  }
}

/**
 * A status item whose last write failed for its size (docs/behaviour.md#hostile-and-busy-customers):
 * it may miss an event, so it must not answer; the status API derives the status from the facts.
 */
export class OversizeStatusError extends Error {
  readonly code = 'status_oversize';
  constructor(readonly customerId: string) {
    super(`the status item of ${customerId} could not be written (size); answer from the facts`);
    this.name = 'OversizeStatusError';
  }
}

/** One object's entry as stored: what it was folded from, when, and the entry (null: closed). */
export interface EntrySlot {
  readonly kind: EntryKind;
  readonly objectId: string;
  /** How many facts and links of the object the entry was folded from (only ever grows). */
  readonly count: number;
  /** Milliseconds of the write: closed slots are cleared some minutes later. */
  readonly writtenAt: number;
  readonly entry: Entry | null;
}

/** What the last derivation of the item said (for the indexes and the notifier). */
export interface Derived {
  readonly canAllocate: boolean;
  readonly nextChangeAt: number | null;
  readonly trouble: 'blocked' | 'warned' | null;
  /** In grace: the nearest `blocksAt` (NO_DEADLINE when held by retries only); else null. */
  readonly graceDeadline: number | null;
  readonly settingsHash: string | null;
}

/** A status item as read: the record and what the write protocol needs. */
export interface StoredStatus {
  readonly record: StatusRecord;
  readonly format: number;
  /** +1 per write. */
  readonly version: number;
  readonly rulesVersion: number;
  /** Every entry attribute, closed ones included, by entryKey. */
  readonly slots: ReadonlyMap<string, EntrySlot>;
  /** Entry attributes of each kind, closed ones included (the bound counts them). */
  readonly listed: ReadonlyMap<EntryKind, number>;
  readonly derived: Derived;
  /** The last item write failed for its size: the item may miss an event. */
  readonly oversize: boolean;
}

// ---------------------------------------------------------------------------------------
// Compact JSON of entries and values. Openers are [created, eventId].

type Op = [number, string];
type EncodedEntry =
  | ['p', Op[]]
  | ['i', Op | null, [Op, 0 | 1] | null, Op | null, Op | null, Op | null, 0 | 1]
  | ['d', Op]
  | ['s', 'pd' | 'u' | 'p', Op]
  | ['m', string, string | null, string | null, number | null, number | null, Op | null, Op | null];

const op = (o: Opener): Op => [o.created, o.eventId];
const opOrNull = (o: Opener | null): Op | null => (o ? op(o) : null);
const opener = (o: Op): Opener => ({ created: o[0], eventId: o[1] });
const openerOrNull = (o: Op | null): Opener | null => (o ? opener(o) : null);

const SUBSCRIPTION_CODES = {
  subscription_past_due: 'pd',
  subscription_unpaid: 'u',
  subscription_paused: 'p',
} as const;

export function encodeEntry(e: Entry): string {
  let encoded: EncodedEntry;
  switch (e.kind) {
    case 'payment':
      encoded = ['p', e.failures.map(op)];
      break;
    case 'invoice':
      encoded = [
        'i',
        opOrNull(e.failed),
        e.newestFailure ? [op(e.newestFailure.at), e.newestFailure.retrying ? 1 : 0] : null,
        opOrNull(e.uncollectible),
        opOrNull(e.overdue),
        opOrNull(e.actionRequired),
        e.paused ? 1 : 0,
      ];
      break;
    case 'dispute':
      encoded = ['d', op(e.opened)];
      break;
    case 'subscription':
      encoded = ['s', SUBSCRIPTION_CODES[e.reason], op(e.since)];
      break;
    case 'method':
      encoded = [
        'm',
        e.type,
        e.brand,
        e.last4,
        e.expMonth,
        e.expYear,
        opOrNull(e.deleted),
        opOrNull(e.announced),
      ];
      break;
  }
  return JSON.stringify(encoded);
}

export function decodeEntry(json: string): Entry {
  const encoded = JSON.parse(json) as EncodedEntry;
  switch (encoded[0]) {
    case 'p':
      return { kind: 'payment', failures: encoded[1].map(opener) };
    case 'i': {
      const [, failed, newest, uncollectible, overdue, action, paused] = encoded;
      return {
        kind: 'invoice',
        failed: openerOrNull(failed),
        newestFailure: newest ? { at: opener(newest[0]), retrying: newest[1] === 1 } : null,
        uncollectible: openerOrNull(uncollectible),
        overdue: openerOrNull(overdue),
        actionRequired: openerOrNull(action),
        paused: paused === 1,
      };
    }
    case 'd':
      return { kind: 'dispute', opened: opener(encoded[1]) };
    case 's':
      return {
        kind: 'subscription',
        reason:
          encoded[1] === 'pd'
            ? 'subscription_past_due'
            : encoded[1] === 'u'
              ? 'subscription_unpaid'
              : 'subscription_paused',
        since: opener(encoded[2]),
      };
    case 'm': {
      const [, type, brand, last4, expMonth, expYear, deleted, announced] = encoded;
      return {
        kind: 'method',
        type,
        brand,
        last4,
        expMonth,
        expYear,
        deleted: openerOrNull(deleted),
        announced: openerOrNull(announced),
      };
    }
    default:
      throw new Error(`status item: unknown entry kind ${String((encoded as unknown[])[0])}`);
  }
}

const ENTRY_KINDS: readonly EntryKind[] = [
  'payment',
  'invoice',
  'dispute',
  'subscription',
  'method',
];

/** The attribute of one object's entry. */
export const entryAttribute = (kind: EntryKind, objectId: string) =>
  `${STATUS_ATTR.entryPrefix}${kind}:${keyPart(objectId)}`;

/** The attribute counting one kind's entry attributes (closed ones included). */
export const listedAttribute = (kind: EntryKind) => `${STATUS_ATTR.listedPrefix}${kind}`;

/** An entry attribute's kind and object, or null for another attribute. */
export function parseEntryAttribute(name: string): { kind: EntryKind; objectId: string } | null {
  if (!name.startsWith(STATUS_ATTR.entryPrefix)) return null;
  const rest = name.slice(STATUS_ATTR.entryPrefix.length);
  const colon = rest.indexOf(':');
  const kind = rest.slice(0, colon) as EntryKind;
  if (colon < 0 || !ENTRY_KINDS.includes(kind)) return null;
  return { kind, objectId: idOfKeyPart(rest.slice(colon + 1)) };
}

/** An entry attribute's value: the count, the write time and the entry (absent: closed). */
export function slotValue(count: number, writtenAt: number, entry: Entry | null): AttributeValue {
  const m: Record<string, AttributeValue> = {
    c: { N: String(count) },
    t: { N: String(writtenAt) },
  };
  if (entry) m.v = { S: encodeEntry(entry) };
  return { M: m };
}

export const encodeCommit = (c: { id: string; at: string }): string => JSON.stringify([c.id, c.at]);
export const encodeLastStripe = (c: LastStripeCommit): string =>
  JSON.stringify([c.id, c.at, c.livemode]);
export const encodeOverride = (o: OverrideState): string =>
  JSON.stringify([o.id, o.mode, o.reason, o.setAt, o.expiresAt]);
export const encodeDeleted = (o: Opener): string => JSON.stringify(op(o));
export const encodeAccount = (a: AccountAlias): string =>
  JSON.stringify([a.account, a.created, a.eventId]);

/** Sort keys of the customer-level maxima: the greater key wins a conditional write. */
export const commitKey = (c: { id: string; at: string }) => `${c.at}|${c.id}`;
/** `created` and id of an opener as a key that sorts like the opener (earliest first). */
export const openerKey = (o: Opener) => `${String(o.created).padStart(12, '0')}|${o.eventId}`;
export const accountKey = (a: AccountAlias) => openerKey(a);

/** Attribute names of the summary in the status item. */
export const SUMMARY_ATTR = {
  /** `o:<kind>`: live entries of the kind past the bound. */
  objects: (kind: EntryKind) => `o:${kind}`,
  /** `oc:<name>`: live contributions of the name. */
  count: (name: ContributionName) => `oc:${name}`,
  /** `oe:<name>`: the earliest (for `mstop` the latest) `[time, eventId, objectId]`. */
  earliest: (name: ContributionName) => `oe:${name}`,
  /** `oq:<name>`: recomputations started; `ow:<name>`: the one that wrote `oe`. */
  sequence: (name: ContributionName) => `oq:${name}`,
  written: (name: ContributionName) => `ow:${name}`,
  /** `oh:<instant>`: non-deleted summarised methods of that expiry (0: none). */
  methods: (instant: number) => `oh:${instant}`,
  /** `oa:<instant>`: of those, the ones an expiring announcement named. */
  announced: (instant: number) => `oa:${instant}`,
  /** Deleted summarised methods. */
  deleted: 'od',
} as const;

/** The summary of a status item's attributes (see SUMMARY_ATTR). */
export function decodeSummary(item: Item): SummaryState | null {
  const objects = new Map<EntryKind, number>();
  const counts = new Map<ContributionName, number>();
  const earliest = new Map<ContributionName, Earliest>();
  const methodsByInstant = new Map<number, number>();
  const announcedByInstant = new Map<number, number>();
  let found = false;
  for (const [name, value] of Object.entries(item)) {
    if (!name.startsWith('o')) continue;
    const colon = name.indexOf(':');
    const family = colon < 0 ? name : name.slice(0, colon);
    const rest = name.slice(colon + 1);
    const number = value.N === undefined ? null : Number(value.N);
    if (family === 'o' && number !== null) objects.set(rest as EntryKind, number);
    else if (family === 'oc' && number !== null) counts.set(rest as ContributionName, number);
    else if (family === 'oe' && value.S) {
      const [time, eventId, objectId] = JSON.parse(value.S) as [number, string | null, string];
      earliest.set(rest as ContributionName, { time, eventId, objectId });
    } else if (family === 'oh' && number !== null) methodsByInstant.set(Number(rest), number);
    else if (family === 'oa' && number !== null) announcedByInstant.set(Number(rest), number);
    else if (name !== SUMMARY_ATTR.deleted) continue;
    found = true;
  }
  const deleted = Number(item[SUMMARY_ATTR.deleted]?.N ?? 0);
  if (!found && deleted === 0) return null;
  return {
    objects,
    counts,
    earliest,
    methodsByInstant,
    announcedByInstant,
    deletedMethods: deleted,
  };
}

const json = <T>(item: Item, name: string): T | null => {
  const s = item[name]?.S;
  return s === undefined ? null : (JSON.parse(s) as T);
};

function decodeCustomerValues(item: Item): Omit<StatusRecord, 'entries'> {
  const lc = json<[string, string]>(item, STATUS_ATTR.lastCommit);
  const lst = json<[string, string, boolean]>(item, STATUS_ATTR.lastStripe);
  const dl = json<Op>(item, STATUS_ATTR.deleted);
  const ac = json<[string, number, string]>(item, STATUS_ATTR.account);
  const ov = json<[string, OverrideMode | null, string | null, string, number | null]>(
    item,
    STATUS_ATTR.override,
  );
  const ls = item[STATUS_ATTR.latestSuccess]?.N;
  return {
    latestSuccess: ls === undefined ? null : Number(ls),
    deleted: openerOrNull(dl),
    lastStripe: lst ? { id: lst[0], at: lst[1], livemode: lst[2] } : null,
    lastCommit: lc ? { id: lc[0], at: lc[1] } : null,
    override: ov
      ? { id: ov[0], mode: ov[1], reason: ov[2], setAt: ov[3], expiresAt: ov[4] ?? null }
      : null,
    customerAccount: ac ? { account: ac[0], created: ac[1], eventId: ac[2] } : null,
  };
}

function decodeDerived(item: Item): Derived {
  const nca = item[STATUS_ATTR.nextChangeAt]?.N;
  const tgba = item[STATUS_ATTR.graceDeadline]?.N;
  const trouble = item[STATUS_ATTR.trouble]?.S;
  return {
    canAllocate: item[STATUS_ATTR.canAllocate]?.BOOL ?? true,
    nextChangeAt: nca === undefined ? null : Number(nca),
    trouble: trouble === 'blocked' || trouble === 'warned' ? trouble : null,
    graceDeadline: tgba === undefined ? null : Number(tgba),
    settingsHash: item[STATUS_ATTR.settingsHash]?.S ?? null,
  };
}

/** Reads a status item. Throws UnknownStatusFormatError for a newer format. */
export function decodeStatusItem(item: Item): StoredStatus {
  const format = Number(item[STATUS_ATTR.format]?.N ?? 1);
  if (format > STATUS_ITEM_FORMAT) throw new UnknownStatusFormatError(format);
  if (format < 2) return decodeFormat1(item);
  const slots = new Map<string, EntrySlot>();
  const entries = new Map<string, Entry>();
  const listed = new Map<EntryKind, number>();
  for (const [name, value] of Object.entries(item)) {
    const parsed = parseEntryAttribute(name);
    if (!parsed || !value.M) continue;
    const v = value.M.v?.S;
    const entry = v === undefined ? null : decodeEntry(v);
    const key = entryKey(parsed.kind, parsed.objectId);
    slots.set(key, {
      ...parsed,
      count: Number(value.M.c?.N ?? 0),
      writtenAt: Number(value.M.t?.N ?? 0),
      entry,
    });
    if (entry) entries.set(key, entry);
  }
  for (const kind of ENTRY_KINDS) {
    const n = item[listedAttribute(kind)]?.N;
    if (n !== undefined) listed.set(kind, Number(n));
  }
  return {
    record: { entries, ...decodeCustomerValues(item), summary: decodeSummary(item) },
    format,
    version: Number(item[STATUS_ATTR.version]?.N ?? 0),
    rulesVersion: Number(item[STATUS_ATTR.rulesVersion]?.N ?? 0),
    slots,
    listed,
    derived: decodeDerived(item),
    oversize: item[STATUS_ATTR.oversize]?.BOOL === true,
  };
}

// ---------------------------------------------------------------------------------------
// Format 1: the whole state as one JSON attribute (rules version 1). Read so that a stack
// upgraded in place answers until `npm run rebuild` has rewritten its items; a writer
// converts such an item before its first write.

type V1Entry =
  | ['p', string, Op[]]
  | ['i', string, 'f' | 'u' | null, Op | null, Op | null]
  | ['d', string, Op]
  | ['s', string, 'u' | 'p', Op]
  | [
      'm',
      string,
      string,
      string | null,
      string | null,
      number | null,
      number | null,
      Op | null,
      Op | null,
    ];

function decodeV1Entry(e: V1Entry): [string, Entry] {
  switch (e[0]) {
    case 'p':
      return [entryKey('payment', e[1]), { kind: 'payment', failures: e[2].map(opener) }];
    case 'i': {
      const [, id, reason, since, action] = e;
      const at = openerOrNull(since);
      return [
        entryKey('invoice', id),
        {
          kind: 'invoice',
          failed: reason === 'f' ? at : null,
          // Format 1 kept no retry schedule: a failure counts as given up.
          newestFailure: reason === 'f' && at ? { at, retrying: false } : null,
          uncollectible: reason === 'u' ? at : null,
          overdue: null,
          actionRequired: openerOrNull(action),
          paused: false,
        },
      ];
    }
    case 'd':
      return [entryKey('dispute', e[1]), { kind: 'dispute', opened: opener(e[2]) }];
    case 's':
      return [
        entryKey('subscription', e[1]),
        {
          kind: 'subscription',
          // Format 1 did not tell past_due from unpaid.
          reason: e[2] === 'u' ? 'subscription_unpaid' : 'subscription_paused',
          since: opener(e[3]),
        },
      ];
    case 'm': {
      const [, id, type, brand, last4, expMonth, expYear, deleted, announced] = e;
      return [
        entryKey('method', id),
        {
          kind: 'method',
          type,
          brand,
          last4,
          expMonth,
          expYear,
          deleted: openerOrNull(deleted),
          announced: openerOrNull(announced),
        },
      ];
    }
  }
}

function decodeFormat1(item: Item): StoredStatus {
  const state = json<{
    e: V1Entry[];
    s: number | null;
    d: Op | null;
    l: [string, string, boolean] | null;
  }>(item, 'st');
  const ov = json<[string, OverrideMode | null, string | null, string]>(item, STATUS_ATTR.override);
  const lc = json<[string, string]>(item, STATUS_ATTR.lastCommit);
  const record: StatusRecord = {
    ...EMPTY_RECORD,
    entries: new Map((state?.e ?? []).map(decodeV1Entry)),
    latestSuccess: state?.s ?? null,
    deleted: openerOrNull(state?.d ?? null),
    lastStripe: state?.l ? { id: state.l[0], at: state.l[1], livemode: state.l[2] } : null,
    override: ov ? { id: ov[0], mode: ov[1], reason: ov[2], setAt: ov[3], expiresAt: null } : null,
    lastCommit: lc ? { id: lc[0], at: lc[1] } : null,
  };
  return {
    record,
    format: 1,
    version: Number(item[STATUS_ATTR.version]?.N ?? 0),
    rulesVersion: Number(item[STATUS_ATTR.rulesVersion]?.N ?? 1),
    slots: new Map(),
    listed: new Map(),
    derived: decodeDerived(item),
    oversize: false,
  };
}

/**
 * A deterministic text of everything a record holds (entries by key, customer-level values,
 * the override, the last commit): two records with the same text give the same status.
 */
export function encodeRecord(record: StatusRecord): string {
  const keys = [...record.entries.keys()].sort();
  return JSON.stringify([
    keys.map((k) => [k, encodeEntry(record.entries.get(k)!)]),
    record.latestSuccess,
    record.deleted && encodeDeleted(record.deleted),
    record.lastStripe && encodeLastStripe(record.lastStripe),
    record.override && encodeOverride(record.override),
    record.lastCommit && encodeCommit(record.lastCommit),
    record.customerAccount && encodeAccount(record.customerAccount),
  ]);
}
