// The billing-status item: how a customer's status record is stored in one DynamoDB item,
// and read back. Shared by the functions and the client package (client/), so both read the
// same format. The record is kept as compact JSON so that a typical item stays under 1 KB
// (one write unit per update, one read unit per strongly consistent read).

import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Entry } from '../core/entries';
import type { OverrideMode } from '../core/facts';
import type { Opener } from '../core/ordering';
import {
  EMPTY_RECORD,
  entryKey,
  entryObjectId,
  type LastStripeCommit,
  type OverrideState,
  type StatusRecord,
} from '../core/status-record';
import { STATUS_ATTR } from './table-layout';

export type Item = Record<string, AttributeValue>;

/**
 * The item format this code writes and reads. A reader meeting a greater format refuses it
 * (UnknownStatusFormatError) rather than guess; bump it when the encoding below changes.
 */
export const STATUS_ITEM_FORMAT = 1;

/** A status item in a format this code does not know (written by a newer stack). */
export class UnknownStatusFormatError extends Error {
  readonly code = 'status_format_unknown';
  constructor(readonly format: number) {
    super(`status item format ${format} is newer than the supported ${STATUS_ITEM_FORMAT}`);
    this.name = 'UnknownStatusFormatError';
  }
}

/** A status item as read: the record and what the write protocol needs. */
export interface StoredStatus {
  readonly record: StatusRecord;
  /** Optimistic-concurrency version; every write adds one. */
  readonly version: number;
  readonly rulesVersion: number;
  /** canAllocate as of the last write (what was announced). */
  readonly canAllocate: boolean;
}

// ---------------------------------------------------------------------------------------
// Compact JSON of the record. Openers are [created, eventId].

type Op = [number, string];
type EncodedEntry =
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

interface EncodedState {
  e: EncodedEntry[];
  s: number | null;
  d: Op | null;
  l: [string, string, boolean] | null;
}

const op = (o: Opener): Op => [o.created, o.eventId];
const opOrNull = (o: Opener | null): Op | null => (o ? op(o) : null);
const opener = (o: Op): Opener => ({ created: o[0], eventId: o[1] });
const openerOrNull = (o: Op | null): Opener | null => (o ? opener(o) : null);

function encodeEntry(objectId: string, e: Entry): EncodedEntry {
  switch (e.kind) {
    case 'payment':
      return ['p', objectId, e.failures.map(op)];
    case 'invoice':
      return [
        'i',
        objectId,
        e.blocker ? (e.blocker.reason === 'payment_failed' ? 'f' : 'u') : null,
        e.blocker ? op(e.blocker.since) : null,
        opOrNull(e.actionRequired),
      ];
    case 'dispute':
      return ['d', objectId, op(e.opened)];
    case 'subscription':
      return ['s', objectId, e.reason === 'subscription_unpaid' ? 'u' : 'p', op(e.since)];
    case 'method':
      return [
        'm',
        objectId,
        e.type,
        e.brand,
        e.last4,
        e.expMonth,
        e.expYear,
        opOrNull(e.deleted),
        opOrNull(e.announced),
      ];
  }
}

function decodeEntry(encoded: EncodedEntry): [string, Entry] {
  switch (encoded[0]) {
    case 'p':
      return [
        entryKey('payment', encoded[1]),
        { kind: 'payment', failures: encoded[2].map(opener) },
      ];
    case 'i': {
      const [, id, reason, since, action] = encoded;
      const blocker =
        reason && since
          ? {
              reason:
                reason === 'f' ? ('payment_failed' as const) : ('invoice_uncollectible' as const),
              since: opener(since),
            }
          : null;
      return [
        entryKey('invoice', id),
        { kind: 'invoice', blocker, actionRequired: openerOrNull(action) },
      ];
    }
    case 'd':
      return [entryKey('dispute', encoded[1]), { kind: 'dispute', opened: opener(encoded[2]) }];
    case 's':
      return [
        entryKey('subscription', encoded[1]),
        {
          kind: 'subscription',
          reason: encoded[2] === 'u' ? 'subscription_unpaid' : 'subscription_paused',
          since: opener(encoded[3]),
        },
      ];
    case 'm': {
      const [, id, type, brand, last4, expMonth, expYear, deleted, announced] = encoded;
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
    default:
      throw new Error(`status item: unknown entry kind ${String((encoded as unknown[])[0])}`);
  }
}

/** Deterministic JSON of the record's state (entries sorted by key). */
export function encodeState(record: StatusRecord): string {
  const keys = [...record.entries.keys()].sort();
  const state: EncodedState = {
    e: keys.map((k) => encodeEntry(entryObjectId(k), record.entries.get(k)!)),
    s: record.latestSuccess,
    d: opOrNull(record.deleted),
    l: record.lastStripe
      ? [record.lastStripe.id, record.lastStripe.at, record.lastStripe.livemode]
      : null,
  };
  return JSON.stringify(state);
}

function decodeState(json: string | undefined): Omit<StatusRecord, 'override' | 'lastCommit'> {
  if (json === undefined) return EMPTY_RECORD;
  const state = JSON.parse(json) as EncodedState;
  const lastStripe: LastStripeCommit | null = state.l
    ? { id: state.l[0], at: state.l[1], livemode: state.l[2] }
    : null;
  return {
    entries: new Map(state.e.map(decodeEntry)),
    latestSuccess: state.s,
    deleted: openerOrNull(state.d),
    lastStripe,
  };
}

export function encodeOverride(o: OverrideState): string {
  return JSON.stringify([o.id, o.mode, o.reason, o.setAt]);
}

function decodeOverride(json: string | undefined): OverrideState | null {
  if (json === undefined) return null;
  const [id, mode, reason, setAt] = JSON.parse(json) as [
    string,
    OverrideMode | null,
    string | null,
    string,
  ];
  return { id, mode, reason, setAt };
}

export function encodeCommit(c: { id: string; at: string }): string {
  return JSON.stringify([c.id, c.at]);
}

function decodeCommit(json: string | undefined): { id: string; at: string } | null {
  if (json === undefined) return null;
  const [id, at] = JSON.parse(json) as [string, string];
  return { id, at };
}

/** Reads a status item. Throws UnknownStatusFormatError for a newer format. */
export function decodeStatusItem(item: Item): StoredStatus {
  const format = Number(item[STATUS_ATTR.format]?.N ?? STATUS_ITEM_FORMAT);
  if (format > STATUS_ITEM_FORMAT) throw new UnknownStatusFormatError(format);
  const state = decodeState(item[STATUS_ATTR.state]?.S);
  return {
    record: {
      ...state,
      override: decodeOverride(item[STATUS_ATTR.override]?.S),
      lastCommit: decodeCommit(item[STATUS_ATTR.lastCommit]?.S),
    },
    version: Number(item[STATUS_ATTR.version]?.N ?? 0),
    rulesVersion: Number(item[STATUS_ATTR.rulesVersion]?.N ?? 0),
    canAllocate: item[STATUS_ATTR.canAllocate]?.BOOL ?? true,
  };
}
