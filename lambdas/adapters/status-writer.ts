// Writing a customer's billing-status item without lost updates and without writers of
// different objects retrying against each other (docs/behaviour.md#hostile-and-busy-customers).
// Each write is one UpdateItem made of independent parts, each guarded by its own condition:
//   - an object's entry: written only over a slot folded from fewer of its facts (the facts of
//     an object only grow, so the larger count is the newer snapshot), a closed entry kept as
//     a slot of its count for a minute so a slower writer cannot bring it back;
//   - customer-level values (the last commit, the last Stripe event, the latest success, the
//     deletion, the Accounts v2 alias, the override): written only over a smaller one.
// A part whose condition fails has been overtaken by a newer write and is dropped; the rest
// is written again, so a write takes at most a few requests, never a retry loop against
// other objects. The derived attributes (canAllocate, the indexes' keys) follow from the whole
// item, so the writer reads the item the write produced and, when they changed, writes them
// under the item's version: the last writer always sees the final state.

import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
  TransactionCanceledException,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { statusFromRecord, type StatusSettings } from '../core/billing-status';
import type { Entry, EntryKind } from '../core/entries';
import type { ContributionName } from '../core/summary';
import type { BillingStatus } from '../core/facts';
import type { Opener } from '../core/ordering';
import {
  RULES_VERSION,
  entryKey,
  type AccountAlias,
  type LastStripeCommit,
  type OverrideState,
  type StatusRecord,
} from '../core/status-record';
import {
  STATUS_ITEM_FORMAT,
  accountKey,
  commitKey,
  decodeStatusItem,
  encodeAccount,
  encodeCommit,
  encodeDeleted,
  encodeEntry,
  encodeLastStripe,
  encodeOverride,
  entryAttribute,
  listedAttribute,
  openerKey,
  slotValue,
  SUMMARY_ATTR,
  type Derived,
  type EntrySlot,
  type Item,
  type StoredStatus,
} from './status-item';
import { OverflowStore } from './overflow';
import {
  DUE_PARTITION,
  GRACE_PARTITION,
  NO_DEADLINE,
  STATUS_ATTR,
  statusKey,
} from './table-layout';

/** How many entry attributes of each kind the status item lists at most (closed ones included). */
export const LISTED_BOUND: Readonly<Record<EntryKind, number>> = {
  payment: 60,
  invoice: 60,
  dispute: 40,
  subscription: 40,
  method: 100,
};

/** A closed entry is kept this long, so that a slower writer of an older snapshot finds it. */
export const CLOSED_SLOT_KEEP_MS = 60_000;

/** One object's entry, folded from `count` of its facts and links. */
export interface EntryChange {
  readonly kind: EntryKind;
  readonly objectId: string;
  readonly count: number;
  readonly entry: Entry | null;
}

/** What one write changes. Every part is optional; absent parts are left as they are. */
export interface StatusChange {
  /** Objects' entries, each folded from `count` facts and links of that object. */
  readonly entries?: readonly EntryChange[];
  /** The commit: an applied event or an operator action. */
  readonly commit?: { readonly id: string; readonly at: string };
  /** The commit is a Stripe event: the record's `livemode`. */
  readonly stripe?: LastStripeCommit;
  /** `created` of a successful payment. */
  readonly success?: number;
  /** The customer.deleted event. */
  readonly deleted?: Opener;
  readonly account?: AccountAlias;
  readonly override?: OverrideState;
}

/** The later of two optional values by `key` (the first on a tie). */
function laterBy<T>(a: T | undefined, b: T | undefined, key: (v: T) => string): T | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return key(b) > key(a) ? b : a;
}

/**
 * One change holding both: per object the entry folded from more facts (facts only grow, so
 * the larger count is the later snapshot and holds every fact of the other), and of each
 * customer-level value the one its conditional write would keep (the later commit, Stripe
 * event, success and alias; the earlier deletion). Writing the result is writing both, in
 * either order: what a processor writes once for the events of one customer in a batch.
 */
export function mergeStatusChanges(a: StatusChange, b: StatusChange): StatusChange {
  const entries = new Map<string, EntryChange>();
  for (const c of [...(a.entries ?? []), ...(b.entries ?? [])]) {
    const key = entryKey(c.kind, c.objectId);
    const seen = entries.get(key);
    if (!seen || c.count > seen.count) entries.set(key, c);
  }
  const commit = laterBy(a.commit, b.commit, commitKey);
  const stripe = laterBy(a.stripe, b.stripe, commitKey);
  const success =
    a.success === undefined || b.success === undefined
      ? (a.success ?? b.success)
      : Math.max(a.success, b.success);
  // The earliest deletion: inverted order.
  const deleted =
    a.deleted && b.deleted
      ? openerKey(b.deleted) < openerKey(a.deleted)
        ? b.deleted
        : a.deleted
      : (a.deleted ?? b.deleted);
  const account = laterBy(a.account, b.account, accountKey);
  const override = laterBy(a.override, b.override, (o) => commitKey({ id: o.id, at: o.setAt }));
  return {
    ...(entries.size > 0 ? { entries: [...entries.values()] } : {}),
    ...(commit ? { commit } : {}),
    ...(stripe ? { stripe } : {}),
    ...(success !== undefined ? { success } : {}),
    ...(deleted ? { deleted } : {}),
    ...(account ? { account } : {}),
    ...(override ? { override } : {}),
  };
}

/** Why `ca` changed, for the announcement: an event or override id, or a cause of time. */
export type FlipCause =
  string | 'grace_ended' | 'override_expired' | 'card_expired' | 'policy_changed' | 'rebuild';

/** A write of the status item failed because the item would pass DynamoDB's 400 KB. */
export class StatusItemTooLargeError extends Error {
  readonly code = 'status_item_too_large';
  constructor(readonly customerId: string) {
    super(`the status item of ${customerId} would exceed DynamoDB's item size limit`);
    this.name = 'StatusItemTooLargeError';
  }
}

const s = (v: string): AttributeValue => ({ S: v });
const n = (v: number): AttributeValue => ({ N: String(v) });

export function isConditionFailure(err: unknown): boolean {
  return (
    err instanceof ConditionalCheckFailedException ||
    (err as Error | undefined)?.name === 'ConditionalCheckFailedException'
  );
}

/** DynamoDB refuses an item over 400 KB with a ValidationException saying so. */
export function isItemTooLarge(err: unknown): boolean {
  const e = err as Error | undefined;
  return e?.name === 'ValidationException' && /item size|maximum allowed size/i.test(e.message);
}

/** One independently guarded part of a write, in UpdateItem expression pieces. */
interface Part {
  set: string[];
  /** Numbers added to attributes (by name): summed per attribute over a write's parts. */
  add: [string, number][];
  remove: string[];
  condition: string;
  /** Whether the part still needs writing over `image` (false: overtaken, drop it). */
  wanted(image: StoredStatus | null): boolean;
}

/** Builds expression attribute names and values with short, unique placeholders. */
class Expression {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, AttributeValue> = {};
  private nameCount = 0;
  private valueCount = 0;
  private readonly byName = new Map<string, string>();

  name(attribute: string): string {
    let placeholder = this.byName.get(attribute);
    if (!placeholder) {
      placeholder = `#a${this.nameCount++}`;
      this.byName.set(attribute, placeholder);
      this.names[placeholder] = attribute;
    }
    return placeholder;
  }

  value(v: AttributeValue): string {
    const placeholder = `:v${this.valueCount++}`;
    this.values[placeholder] = v;
    return placeholder;
  }

  /**
   * The names and values the given expressions use (parts planned and then dropped leave
   * placeholders behind, which DynamoDB refuses).
   */
  used(...expressions: (string | undefined)[]) {
    const text = expressions.join(' ');
    const tokens = new Set(text.match(/[#:][av]\d+/g) ?? []);
    const pick = <T>(record: Record<string, T>) =>
      Object.fromEntries(Object.entries(record).filter(([k]) => tokens.has(k)));
    return { names: pick(this.names), values: pick(this.values) };
  }
}

/** The derived attributes of a status (docs/behaviour.md#access-policy). */
export function deriveAttributes(status: BillingStatus, settingsHash: string): Derived {
  const inGrace = status.canAllocate ? status.warnings.filter((w) => w.blocksAt !== undefined) : [];
  let graceDeadline: number | null = null;
  for (const w of inGrace) {
    const at = w.blocksAt ?? NO_DEADLINE;
    if (graceDeadline === null || at < graceDeadline) graceDeadline = at;
  }
  return {
    canAllocate: status.canAllocate,
    nextChangeAt: status.nextChangeAt,
    trouble: !status.canAllocate ? 'blocked' : status.warnings.length > 0 ? 'warned' : null,
    graceDeadline,
    settingsHash,
  };
}

const sameDerived = (a: Derived, b: Derived) =>
  a.canAllocate === b.canAllocate &&
  a.nextChangeAt === b.nextChangeAt &&
  a.trouble === b.trouble &&
  a.graceDeadline === b.graceDeadline &&
  a.settingsHash === b.settingsHash;

export interface StatusWriterOptions {
  /** The deployment's policy and warning window, with the hash that identifies them. */
  settings: StatusSettings;
  settingsHash: string;
  /** Now, in milliseconds. */
  clock: () => number;
  /**
   * Whether this writer removes closed entry slots it finds (processors and the sweeper do;
   * the status API, which may write only override and derived attributes, does not).
   * @default true
   */
  clearsClosedSlots?: boolean;
}

/**
 * The record's customer-level attributes as a status item holds them (each value with the key
 * its conditional maximum compares), leaving out those the record does not have.
 */
function recordAttributes(record: StatusRecord): [string, AttributeValue][] {
  const out: [string, AttributeValue][] = [];
  const put = (name: string, value: string | null) => {
    if (value !== null) out.push([name, s(value)]);
  };
  put(STATUS_ATTR.lastCommit, record.lastCommit && encodeCommit(record.lastCommit));
  put(STATUS_ATTR.lastCommitAt, record.lastCommit && commitKey(record.lastCommit));
  put(STATUS_ATTR.lastStripe, record.lastStripe && encodeLastStripe(record.lastStripe));
  put(STATUS_ATTR.lastStripeAt, record.lastStripe && commitKey(record.lastStripe));
  put(STATUS_ATTR.deleted, record.deleted && encodeDeleted(record.deleted));
  put(STATUS_ATTR.deletedKey, record.deleted && openerKey(record.deleted));
  put(STATUS_ATTR.account, record.customerAccount && encodeAccount(record.customerAccount));
  put(STATUS_ATTR.accountKey, record.customerAccount && accountKey(record.customerAccount));
  put(STATUS_ATTR.override, record.override && encodeOverride(record.override));
  put(
    STATUS_ATTR.overrideKey,
    record.override && commitKey({ id: record.override.id, at: record.override.setAt }),
  );
  if (record.latestSuccess !== null) out.push([STATUS_ATTR.latestSuccess, n(record.latestSuccess)]);
  return out;
}

export class StatusWriter {
  readonly overflow: OverflowStore;

  constructor(
    private readonly ddb: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: StatusWriterOptions,
  ) {
    this.overflow = new OverflowStore(ddb, tableName, options.clock);
  }

  /** The customer's status item, or null when no event or override has named it. */
  async read(customerId: string, consistent = true): Promise<StoredStatus | null> {
    const got = await this.ddb.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: keyOf(customerId),
        ConsistentRead: consistent,
      }),
    );
    return got.Item ? decodeStatusItem(got.Item) : null;
  }

  /**
   * Writes `change` into the customer's status item, then brings its derived attributes up to
   * date. Returns the item as written (null when nothing needed writing). Throws
   * StatusItemTooLargeError when DynamoDB refuses the item for its size.
   */
  async write(
    customerId: string,
    change: StatusChange,
    { cause, image }: { cause: FlipCause; image?: StoredStatus | null } = { cause: '' },
  ): Promise<StoredStatus | null> {
    let current = image === undefined ? await this.read(customerId, false) : image;
    if (current && current.format < STATUS_ITEM_FORMAT) {
      current = await this.convert(customerId, current);
    }
    for (let attempt = 0; attempt < 12; attempt++) {
      const expression = new Expression();
      const { parts: planned, overflow } = this.plan(change, current, expression);
      const parts = planned.filter((p) => p.wanted(current));
      if (parts.length === 0 && overflow.length === 0) {
        // Nothing left to write (a redelivery after a crash between the write and its
        // settling, or overtaken parts): the derived attributes may still lag behind.
        if (current) await this.settle(customerId, current, cause);
        return current;
      }
      try {
        let written = current;
        if (parts.length > 0) {
          const got = await this.ddb.send(
            new UpdateItemCommand({
              TableName: this.tableName,
              Key: keyOf(customerId),
              ...this.update(parts, expression),
              ReturnValues: 'ALL_NEW',
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
          );
          written = decodeStatusItem(got.Attributes!);
        }
        const latestSuccess = written?.record.latestSuccess ?? null;
        // Entries past the bound side by side (each its own items), then one recomputation
        // of the earliest of every name they touched.
        const names = new Set<ContributionName>(
          (
            await Promise.all(overflow.map((entry) => this.overflow.writeEntry(customerId, entry)))
          ).flat(),
        );
        // A success moves which summarised failures still count.
        const summarisedPayments = written?.record.summary?.objects.get('payment') ?? 0;
        if (change.success !== undefined && summarisedPayments > 0) names.add('pf');
        if (names.size > 0) await this.overflow.refresh(customerId, [...names], latestSuccess);
        if (overflow.length > 0 || names.size > 0) written = await this.read(customerId);
        if (written) await this.settle(customerId, written, cause);
        return written;
      } catch (err) {
        if (isItemTooLarge(err)) throw new StatusItemTooLargeError(customerId);
        if (!isConditionFailure(err)) throw err;
        // Overtaken: look again at the item as it was when the condition failed.
        const old = (err as ConditionalCheckFailedException).Item;
        current = old ? decodeStatusItem(old) : null;
      }
    }
    // Each attempt drops at least one overtaken part, so this is a safety net only.
    throw new Error(`status item of ${customerId}: the write did not settle`);
  }

  /**
   * Brings the derived attributes (canAllocate, its flip marker and cause, the indexes' keys)
   * of `image` up to date for the time now, written under the item's version: when another
   * write came first, that writer saw both changes and settles them itself.
   */
  async settle(customerId: string, image: StoredStatus, cause: FlipCause): Promise<void> {
    if (this.options.clearsClosedSlots !== false) await this.clearClosedSlots(customerId, image);
    const status = this.statusOf(customerId, image);
    const derived = deriveAttributes(status, this.options.settingsHash);
    if (sameDerived(derived, image.derived)) return;
    const e = new Expression();
    const set = [`${e.name(STATUS_ATTR.canAllocate)} = ${e.value({ BOOL: derived.canAllocate })}`];
    const remove: string[] = [];
    set.push(`${e.name(STATUS_ATTR.settingsHash)} = ${e.value(s(derived.settingsHash!))}`);
    if (derived.canAllocate !== image.derived.canAllocate) {
      set.push(`${e.name(STATUS_ATTR.flip)} = ${e.value(n(image.version + 1))}`);
      set.push(`${e.name(STATUS_ATTR.cause)} = ${e.value(s(cause))}`);
    }
    const optional = (pairs: [string, AttributeValue | null][]) => {
      for (const [name, value] of pairs) {
        if (value) set.push(`${e.name(name)} = ${e.value(value)}`);
        else remove.push(e.name(name));
      }
    };
    optional([
      [STATUS_ATTR.duePartition, derived.nextChangeAt === null ? null : s(DUE_PARTITION)],
      [STATUS_ATTR.nextChangeAt, derived.nextChangeAt === null ? null : n(derived.nextChangeAt)],
      [STATUS_ATTR.trouble, derived.trouble === null ? null : s(derived.trouble)],
      [STATUS_ATTR.gracePartition, derived.graceDeadline === null ? null : s(GRACE_PARTITION)],
      [STATUS_ATTR.graceDeadline, derived.graceDeadline === null ? null : n(derived.graceDeadline)],
    ]);
    try {
      await this.ddb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyOf(customerId),
          UpdateExpression:
            `SET ${set.join(', ')} ADD ${e.name(STATUS_ATTR.version)} ${e.value(n(1))}` +
            (remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''),
          ConditionExpression: `${e.name(STATUS_ATTR.version)} = ${e.value(n(image.version))}`,
          ExpressionAttributeNames: e.names,
          ExpressionAttributeValues: e.values,
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }

  /** The status of an item now, under the deployment's settings. */
  statusOf(customerId: string, image: StoredStatus): BillingStatus {
    return statusFromRecord(
      customerId,
      image.record,
      Math.floor(this.options.clock() / 1000),
      this.options.settings,
    );
  }

  /**
   * Records an operator override with its history item in one transaction (the history and
   * the status never disagree). Null (nothing written) when the customer has no status item
   * and `createRecord` is false: a clear alone does not create a record.
   */
  async writeOverride(
    customerId: string,
    historyItem: Item,
    override: OverrideState,
    { createRecord }: { createRecord: boolean },
  ): Promise<StoredStatus | null> {
    const change: StatusChange = {
      override,
      commit: { id: override.id, at: override.setAt },
    };
    let current = await this.read(customerId);
    if (!current && !createRecord) return null;
    if (current && current.format < STATUS_ITEM_FORMAT) {
      current = await this.convert(customerId, current);
    }
    for (let attempt = 0; attempt < 6; attempt++) {
      const expression = new Expression();
      const parts = this.parts(change, current, expression).filter((p) => p.wanted(current));
      const update = this.update(parts, expression);
      const exists = createRecord ? null : 'attribute_exists(pk)';
      const condition = [update.ConditionExpression, exists].filter(Boolean).join(' AND ');
      try {
        await this.ddb.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              {
                Put: {
                  TableName: this.tableName,
                  Item: historyItem,
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              },
              {
                Update: {
                  TableName: this.tableName,
                  Key: keyOf(customerId),
                  UpdateExpression: update.UpdateExpression,
                  ExpressionAttributeNames: update.ExpressionAttributeNames,
                  ...(Object.keys(update.ExpressionAttributeValues).length > 0
                    ? { ExpressionAttributeValues: update.ExpressionAttributeValues }
                    : {}),
                  ...(condition ? { ConditionExpression: condition } : {}),
                },
              },
            ],
          }),
        );
        break;
      } catch (err) {
        const reasons =
          err instanceof TransactionCanceledException ? err.CancellationReasons : null;
        // The history item exists: this very override was recorded before (a retry after a
        // lost answer); only its settling may be missing.
        if (reasons?.[0]?.Code === 'ConditionalCheckFailed') break;
        if (reasons?.[1]?.Code !== 'ConditionalCheckFailed') throw err;
        current = await this.read(customerId);
        if (!current && !createRecord) return null;
      }
    }
    const written = await this.read(customerId);
    if (written) await this.settle(customerId, written, override.id);
    return written;
  }

  /**
   * Replaces the customer's item by `record` (the full derivation of its facts, links and
   * overrides; `counts` the facts and links per object), under the version of `expected`
   * (null: the item must not exist): the rebuild. Entries past the bound are written to
   * overflow items afresh. False when another writer changed the item first.
   */
  async replace(
    customerId: string,
    record: StatusRecord,
    counts: ReadonlyMap<string, number>,
    expected: StoredStatus | null,
  ): Promise<boolean> {
    const now = this.options.clock();
    const key = keyOf(customerId);
    const item: Item = {
      ...key,
      [STATUS_ATTR.format]: n(STATUS_ITEM_FORMAT),
      [STATUS_ATTR.rulesVersion]: n(RULES_VERSION),
      [STATUS_ATTR.version]: n((expected?.version ?? 0) + 1),
    };
    const perKind = new Map<EntryKind, number>();
    const past: EntryChange[] = [];
    const keys = [...record.entries.keys()].sort();
    for (const k of keys) {
      const entry = record.entries.get(k)!;
      const objectId = k.slice(k.indexOf(':') + 1);
      const change = { kind: entry.kind, objectId, count: counts.get(objectId) ?? 0, entry };
      const listed = perKind.get(entry.kind) ?? 0;
      if (listed >= LISTED_BOUND[entry.kind]) {
        past.push(change);
        continue;
      }
      perKind.set(entry.kind, listed + 1);
      item[entryAttribute(entry.kind, objectId)] = slotValue(change.count, now, entry);
    }
    for (const [kind, listed] of perKind) item[listedAttribute(kind)] = n(listed);
    for (const [name, value] of recordAttributes(record)) item[name] = value;
    // The derived attributes of the old item, so that settle() announces a change of canAllocate.
    if (expected) item[STATUS_ATTR.canAllocate] = { BOOL: expected.derived.canAllocate };
    try {
      await this.ddb.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: expected ? '#v = :v' : 'attribute_not_exists(pk)',
          ...(expected
            ? {
                ExpressionAttributeNames: { '#v': STATUS_ATTR.version },
                ExpressionAttributeValues: { ':v': n(expected.version) },
              }
            : {}),
        }),
      );
    } catch (err) {
      if (isConditionFailure(err)) return false;
      if (isItemTooLarge(err)) throw new StatusItemTooLargeError(customerId);
      throw err;
    }
    await this.overflow.replaceAll(customerId, past, record.latestSuccess);
    const written = await this.read(customerId);
    const changedSettings = expected?.derived.settingsHash !== this.options.settingsHash;
    if (written)
      await this.settle(customerId, written, changedSettings ? 'policy_changed' : 'rebuild');
    return true;
  }

  /** Marks the item: its last write failed for its size, so readers answer from the facts. */
  async markOversize(customerId: string): Promise<void> {
    await this.ddb.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: keyOf(customerId),
        UpdateExpression: 'SET #o = :t ADD #v :one',
        ExpressionAttributeNames: { '#o': STATUS_ATTR.oversize, '#v': STATUS_ATTR.version },
        ExpressionAttributeValues: { ':t': { BOOL: true }, ':one': n(1) },
      }),
    );
  }

  // -------------------------------------------------------------------------------------

  /**
   * The guarded parts of a change, and the entries that go past the bound instead: a new
   * object of a kind whose listed slots are full, or whose kind already has entries past the
   * bound (they stay there until they close, so an object is never in both places).
   */
  private plan(
    change: StatusChange,
    image: StoredStatus | null,
    e: Expression,
  ): { parts: Part[]; overflow: EntryChange[] } {
    const overflow: EntryChange[] = [];
    const entries: EntryChange[] = [];
    // Room left under each kind's bound, taken by this write's new slots in turn.
    const room = new Map<EntryKind, number>();
    for (const c of change.entries ?? []) {
      const listed = image?.slots.has(entryKey(c.kind, c.objectId)) ?? false;
      const left = room.get(c.kind) ?? LISTED_BOUND[c.kind] - (image?.listed.get(c.kind) ?? 0);
      const past = (image?.record.summary?.objects.get(c.kind) ?? 0) > 0;
      if (listed) entries.push(c);
      else if (left <= 0 || past) overflow.push(c);
      else {
        room.set(c.kind, left - 1);
        entries.push(c);
      }
    }
    return { parts: this.parts({ ...change, entries }, image, e), overflow };
  }

  /** The guarded parts of a change. */
  private parts(change: StatusChange, image: StoredStatus | null, e: Expression): Part[] {
    const parts: Part[] = [];
    const newOfKind = new Map<EntryKind, number>();
    for (const c of change.entries ?? []) {
      if (!image?.slots.has(entryKey(c.kind, c.objectId))) {
        newOfKind.set(c.kind, (newOfKind.get(c.kind) ?? 0) + 1);
      }
    }
    for (const c of change.entries ?? []) {
      parts.push(this.entryPart(c, image, e, newOfKind.get(c.kind) ?? 0));
    }
    if (change.commit) {
      parts.push(
        maxPart(e, {
          value: [STATUS_ATTR.lastCommit, encodeCommit(change.commit)],
          key: [STATUS_ATTR.lastCommitAt, commitKey(change.commit)],
          // A key of the commit's own: at and id together (ISO times sort as text).
          wanted: (i) =>
            !i?.record.lastCommit || commitKey(i.record.lastCommit) < commitKey(change.commit!),
        }),
      );
    }
    if (change.stripe) {
      parts.push(
        maxPart(e, {
          value: [STATUS_ATTR.lastStripe, encodeLastStripe(change.stripe)],
          key: [STATUS_ATTR.lastStripeAt, commitKey(change.stripe)],
          wanted: (i) =>
            !i?.record.lastStripe || commitKey(i.record.lastStripe) < commitKey(change.stripe!),
        }),
      );
    }
    if (change.success !== undefined) {
      const created = change.success;
      const name = e.name(STATUS_ATTR.latestSuccess);
      const value = e.value(n(created));
      parts.push({
        set: [`${name} = ${value}`],
        add: [],
        remove: [],
        condition: `(attribute_not_exists(${name}) OR ${name} < ${value})`,
        wanted: (i) => i?.record.latestSuccess == null || i.record.latestSuccess < created,
      });
    }
    if (change.deleted) {
      const deleted = change.deleted;
      // The earliest deletion wins: a min, so the key sorts inverted.
      parts.push(
        minPart(e, {
          value: [STATUS_ATTR.deleted, encodeDeleted(deleted)],
          key: [STATUS_ATTR.deletedKey, openerKey(deleted)],
          wanted: (i) => !i?.record.deleted || openerKey(i.record.deleted) > openerKey(deleted),
        }),
      );
    }
    if (change.account) {
      const account = change.account;
      parts.push(
        maxPart(e, {
          value: [STATUS_ATTR.account, encodeAccount(account)],
          key: [STATUS_ATTR.accountKey, accountKey(account)],
          wanted: (i) =>
            !i?.record.customerAccount ||
            accountKey(i.record.customerAccount) < accountKey(account),
        }),
      );
    }
    if (change.override) {
      const override = change.override;
      const key = commitKey({ id: override.id, at: override.setAt });
      parts.push(
        maxPart(e, {
          value: [STATUS_ATTR.override, encodeOverride(override)],
          key: [STATUS_ATTR.overrideKey, key],
          wanted: (i) =>
            !i?.record.override ||
            commitKey({ id: i.record.override.id, at: i.record.override.setAt }) < key,
        }),
      );
    }
    return parts;
  }

  /**
   * The part writing one object's entry over a slot of fewer facts; `newOfKind` is how many
   * new slots of its kind the write adds (each needs room under the kind's bound).
   */
  private entryPart(
    c: NonNullable<StatusChange['entries']>[number],
    image: StoredStatus | null,
    e: Expression,
    newOfKind: number,
  ): Part {
    const attribute = e.name(entryAttribute(c.kind, c.objectId));
    const slotCount = e.name('c');
    const key = entryKey(c.kind, c.objectId);
    const value = e.value(slotValue(c.count, this.options.clock(), c.entry));
    const count = e.value(n(c.count));
    const listed = e.name(listedAttribute(c.kind));
    const slot = image?.slots.get(key);
    // A closed entry is written too (as a closed slot), so an older snapshot cannot return.
    const wanted = (i: StoredStatus | null) => {
      const seen = i?.slots.get(key);
      return seen === undefined || seen.count < c.count;
    };
    if (slot) {
      return {
        set: [`${attribute} = ${value}`],
        add: [],
        remove: [],
        condition: `${attribute}.${slotCount} < ${count}`,
        wanted,
      };
    }
    // A new slot counts towards the kind's bound (see LISTED_BOUND), and is listed only while
    // no entry of its kind is past the bound: the write's new slots of the kind must all fit.
    const bound = e.value(n(LISTED_BOUND[c.kind] - newOfKind + 1));
    const past = e.name(SUMMARY_ATTR.objects(c.kind));
    return {
      set: [`${attribute} = ${value}`],
      add: [[listedAttribute(c.kind), 1]],
      remove: [],
      condition:
        `(attribute_not_exists(${attribute}) AND (attribute_not_exists(${listed}) OR ${listed} < ${bound})` +
        ` AND (attribute_not_exists(${past}) OR ${past} <= ${e.value(n(0))}))`,
      wanted,
    };
  }

  /** The UpdateItem pieces of a set of parts, with the item's format, version and flip marker. */
  private update(parts: readonly Part[], e: Expression) {
    const set = [
      `${e.name(STATUS_ATTR.format)} = ${e.value(n(STATUS_ITEM_FORMAT))}`,
      `${e.name(STATUS_ATTR.rulesVersion)} = if_not_exists(${e.name(STATUS_ATTR.rulesVersion)}, ${e.value(n(RULES_VERSION))})`,
      ...parts.flatMap((p) => p.set),
    ];
    // DynamoDB refuses two clauses on one attribute: new slots of one kind add up.
    const sums = new Map<string, number>([[STATUS_ATTR.version, 1]]);
    for (const [name, by] of parts.flatMap((p) => p.add))
      sums.set(name, (sums.get(name) ?? 0) + by);
    const add = [...sums].map(([name, by]) => `${e.name(name)} ${e.value(n(by))}`);
    // Only the write that changes canAllocate carries `flip` (the notifier's stream filter).
    const remove = [e.name(STATUS_ATTR.flip), ...parts.flatMap((p) => p.remove)];
    const conditions = parts.map((p) => p.condition);
    const UpdateExpression = `SET ${set.join(', ')} ADD ${add.join(', ')} REMOVE ${remove.join(', ')}`;
    const ConditionExpression = conditions.length > 0 ? conditions.join(' AND ') : undefined;
    const { names, values } = e.used(UpdateExpression, ConditionExpression);
    return {
      UpdateExpression,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ...(ConditionExpression ? { ConditionExpression } : {}),
    };
  }

  /**
   * Removes slots of closed entries older than CLOSED_SLOT_KEEP_MS (each only if unchanged),
   * freeing their place in the kind's bound. A few per write: the item never accumulates them.
   * Each writer picks its few at random, so concurrent writers of a busy customer clear
   * different slots instead of all failing on the same ones.
   */
  private async clearClosedSlots(customerId: string, image: StoredStatus): Promise<void> {
    const now = this.options.clock();
    const candidates = [...image.slots.values()].filter(
      (slot) => slot.entry === null && now - slot.writtenAt > CLOSED_SLOT_KEEP_MS,
    );
    const stale: EntrySlot[] = [];
    while (stale.length < 4 && candidates.length > 0) {
      const [picked] = candidates.splice(Math.floor(Math.random() * candidates.length), 1);
      stale.push(picked!);
    }
    for (const slot of stale) {
      const e = new Expression();
      const attribute = e.name(entryAttribute(slot.kind, slot.objectId));
      try {
        await this.ddb.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: keyOf(customerId),
            UpdateExpression: `REMOVE ${attribute} ADD ${e.name(listedAttribute(slot.kind))} ${e.value(n(-1))}`,
            ConditionExpression: `${attribute}.${e.name('c')} = ${e.value(n(slot.count))} AND attribute_not_exists(${attribute}.${e.name('v')})`,
            ExpressionAttributeNames: e.names,
            ExpressionAttributeValues: e.values,
          }),
        );
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
      }
    }
  }

  /**
   * Rewrites an item of an older format in the current one, under its version, before a
   * write: the record as read, every entry in its own slot.
   */
  private async convert(customerId: string, old: StoredStatus): Promise<StoredStatus | null> {
    const e = new Expression();
    const now = this.options.clock();
    const record: StatusRecord = old.record;
    const set: string[] = [];
    const counts = new Map<EntryKind, number>();
    for (const [key, entry] of record.entries) {
      const objectId = key.slice(key.indexOf(':') + 1);
      // Count 0: any fold of the object's facts replaces it.
      set.push(
        `${e.name(entryAttribute(entry.kind, objectId))} = ${e.value(slotValue(0, now, entry))}`,
      );
      counts.set(entry.kind, (counts.get(entry.kind) ?? 0) + 1);
    }
    for (const [kind, count] of counts)
      set.push(`${e.name(listedAttribute(kind))} = ${e.value(n(count))}`);
    for (const [name, value] of recordAttributes(record)) {
      set.push(`${e.name(name)} = ${e.value(value)}`);
    }
    set.push(`${e.name(STATUS_ATTR.format)} = ${e.value(n(STATUS_ITEM_FORMAT))}`);
    try {
      await this.ddb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyOf(customerId),
          UpdateExpression: `SET ${set.join(', ')} ADD ${e.name(STATUS_ATTR.version)} ${e.value(n(1))} REMOVE ${e.name('st')}`,
          ConditionExpression: `${e.name(STATUS_ATTR.format)} = ${e.value(n(old.format))} AND ${e.name(STATUS_ATTR.version)} = ${e.value(n(old.version))}`,
          ExpressionAttributeNames: e.names,
          ExpressionAttributeValues: e.values,
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    return this.read(customerId);
  }
}

const keyOf = (customerId: string): Item => {
  const k = statusKey(customerId);
  return { pk: s(k.pk), sk: s(k.sk) };
};

interface BoundedValue {
  value: [string, string];
  key: [string, string];
  wanted: (i: StoredStatus | null) => boolean;
}

/** `value` written with its sort key, only where the stored key is absent or `over` it. */
function boundedPart(e: Expression, o: BoundedValue, over: '<' | '>'): Part {
  const value = e.name(o.value[0]);
  const keyName = e.name(o.key[0]);
  const key = e.value(s(o.key[1]));
  return {
    set: [`${value} = ${e.value(s(o.value[1]))}`, `${keyName} = ${key}`],
    add: [],
    remove: [],
    condition: `(attribute_not_exists(${keyName}) OR ${keyName} ${over} ${key})`,
    wanted: o.wanted,
  };
}

/** A customer-level maximum: `value` written with its sort key, only over a smaller key. */
const maxPart = (e: Expression, o: BoundedValue): Part => boundedPart(e, o, '<');

/** A customer-level minimum: written only over a greater key. */
const minPart = (e: Expression, o: BoundedValue): Part => boundedPart(e, o, '>');

export { encodeEntry };
