// Entries past the status item's bound (docs/behaviour.md#hostile-and-busy-customers). Each
// lives in an item of its own in the customer's overflow partition (`X#<kind>#<object>`, with
// the count of facts it was folded from, so an older snapshot never overwrites a newer one);
// its conditions are ordered items (`C#<name>#<time>#<object>`), so the earliest of each is
// one short Query away; the status item keeps, per name, the count and the earliest, and per
// expiry month the count of summarised payment methods. Counts change atomically with the
// entry (one transaction); the earliest is recomputed after each change and written under a
// sequence number, so the last recomputation, which saw every change before it, wins.

import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  GetItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  TransactionCanceledException,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import type { Entry, EntryKind } from '../core/entries';
import {
  contributionsOf,
  isLive,
  methodBucket,
  type Contribution,
  type ContributionName,
  type Earliest,
} from '../core/summary';
import { SUMMARY_ATTR, decodeEntry, encodeEntry, type Item } from './status-item';
import {
  contributionKey,
  contributionPrefix,
  keyPart,
  overflowKey,
  overflowPk,
  statusKey,
  timePart,
} from './table-layout';

const s = (v: string): AttributeValue => ({ S: v });
const n = (v: number): AttributeValue => ({ N: String(v) });
const keyOf = (k: { pk: string; sk: string }): Item => ({ pk: s(k.pk), sk: s(k.sk) });

/** A contribution's sort key part: its time, then its object (and event, for failures). */
function contributionSk(customerId: string, c: Contribution, objectId: string): string {
  const base = contributionKey(customerId, c.name, c.time, objectId).sk;
  return c.name === 'pf' && c.eventId ? `${base}#${keyPart(c.eventId)}` : base;
}

/** What moves in the status item's counts when an entry changes from `old` to `next`. */
function countChanges(kind: EntryKind, old: Entry | null, next: Entry | null): Map<string, number> {
  const delta = new Map<string, number>();
  const add = (name: string, by: number) => delta.set(name, (delta.get(name) ?? 0) + by);
  if (isLive(old) !== isLive(next)) add(SUMMARY_ATTR.objects(kind), isLive(next) ? 1 : -1);
  for (const c of contributionsOf(old)) add(SUMMARY_ATTR.count(c.name), -1);
  for (const c of contributionsOf(next)) add(SUMMARY_ATTR.count(c.name), 1);
  const bucket = (e: Entry | null, by: number) => {
    const b = methodBucket(e);
    if (b) {
      add(SUMMARY_ATTR.methods(b.instant), by);
      if (b.announced) add(SUMMARY_ATTR.announced(b.instant), by);
    } else if (e?.kind === 'method' && e.deleted) {
      add(SUMMARY_ATTR.deleted, by);
    }
  };
  bucket(old, -1);
  bucket(next, 1);
  for (const [name, by] of delta) if (by === 0) delta.delete(name);
  return delta;
}

export class OverflowStore {
  constructor(
    private readonly ddb: DynamoDBClient,
    private readonly tableName: string,
    private readonly clock: () => number,
  ) {}

  /**
   * Writes one entry past the bound (or closes it) and updates the summary's counts. Returns
   * the names whose earliest the caller must then recompute (`refresh`, once for every entry
   * it wrote: a recomputation sees every change made before it).
   */
  async writeEntry(
    customerId: string,
    change: { kind: EntryKind; objectId: string; count: number; entry: Entry | null },
  ): Promise<ContributionName[]> {
    const key = overflowKey(customerId, change.kind, change.objectId);
    for (let attempt = 0; attempt < 8; attempt++) {
      // An object folded from one fact is most likely new: try creating its item first (the
      // transaction's condition refuses if it exists, and the next attempt reads it).
      const got: { Item?: Item } =
        attempt === 0 && change.count <= 1
          ? {}
          : await this.ddb.send(
              new GetItemCommand({
                TableName: this.tableName,
                Key: keyOf(key),
                ConsistentRead: true,
              }),
            );
      const storedCount = got.Item ? Number(got.Item.c?.N ?? 0) : -1;
      const old = got.Item?.v?.S ? decodeEntry(got.Item.v.S) : null;
      if (storedCount > change.count) return []; // overtaken by a newer snapshot
      if (storedCount === change.count) {
        // A redelivery after a crash: make sure the ordered items and the earliest follow.
        await this.syncContributions(customerId, change.objectId, change.count, null, old);
        return contributionsOf(old).map((c) => c.name);
      }
      const delta = countChanges(change.kind, old, change.entry);
      try {
        await this.ddb.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              {
                Update: {
                  TableName: this.tableName,
                  Key: keyOf(key),
                  UpdateExpression:
                    'SET #c = :c, #t = :t' + (change.entry ? ', #v = :v' : ' REMOVE #v'),
                  ConditionExpression: got.Item ? '#c = :old' : 'attribute_not_exists(#c)',
                  ExpressionAttributeNames: { '#c': 'c', '#t': 't', '#v': 'v' },
                  ExpressionAttributeValues: {
                    ':c': n(change.count),
                    ':t': n(this.clock()),
                    ...(change.entry ? { ':v': s(encodeEntry(change.entry)) } : {}),
                    ...(got.Item ? { ':old': n(storedCount) } : {}),
                  },
                },
              },
              ...(delta.size > 0 ? [{ Update: this.countUpdate(customerId, delta) }] : []),
            ],
          }),
        );
      } catch (err) {
        const reasons =
          err instanceof TransactionCanceledException ? err.CancellationReasons : null;
        if (reasons?.[0]?.Code === 'ConditionalCheckFailed') continue; // the same object, again
        throw err;
      }
      await this.syncContributions(customerId, change.objectId, change.count, old, change.entry);
      return [
        ...new Set([
          ...contributionsOf(old).map((c) => c.name),
          ...contributionsOf(change.entry).map((c) => c.name),
        ]),
      ];
    }
    throw new Error(`entry ${change.objectId} of ${customerId} kept changing`);
  }

  /**
   * Replaces every entry past the bound of the customer by `entries` (a rebuild): the old
   * entry and ordered items go, the new ones and their counts are written, then every
   * earliest is recomputed.
   */
  async replaceAll(
    customerId: string,
    entries: readonly { kind: EntryKind; objectId: string; count: number; entry: Entry | null }[],
    latestSuccess: number | null,
  ): Promise<void> {
    // Every item of the customer's overflow partition: entries and their ordered conditions.
    const pk = overflowPk(customerId);
    const old: WriteRequest[] = [];
    {
      let start: Item | undefined;
      do {
        const got = await this.ddb.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': s(pk) },
            ProjectionExpression: 'pk, sk',
            ConsistentRead: true,
            ExclusiveStartKey: start,
          }),
        );
        for (const item of got.Items ?? []) old.push({ DeleteRequest: { Key: item } });
        start = got.LastEvaluatedKey;
      } while (start);
    }
    const now = this.clock();
    const puts: WriteRequest[] = entries.map((e) => ({
      PutRequest: {
        Item: {
          ...keyOf(overflowKey(customerId, e.kind, e.objectId)),
          c: n(e.count),
          t: n(now),
          ...(e.entry ? { v: s(encodeEntry(e.entry)) } : {}),
        },
      },
    }));
    await this.batchWrite([...old, ...puts]);
    const delta = new Map<string, number>();
    for (const e of entries) {
      for (const [name, by] of countChanges(e.kind, null, e.entry)) {
        delta.set(name, (delta.get(name) ?? 0) + by);
      }
    }
    // Counts are set, not added: the replaced item starts without any.
    if (delta.size > 0) {
      await this.ddb.send(new UpdateItemCommand(this.countUpdate(customerId, delta, 'SET')));
    }
    for (const e of entries)
      await this.syncContributions(customerId, e.objectId, e.count, null, e.entry);
    const names = new Set(entries.flatMap((e) => contributionsOf(e.entry).map((c) => c.name)));
    await this.refresh(customerId, [...names], latestSuccess);
  }

  private async batchWrite(requests: readonly WriteRequest[]): Promise<void> {
    for (let i = 0; i < requests.length; i += 25) {
      let batch: WriteRequest[] = requests.slice(i, i + 25);
      while (batch.length > 0) {
        const got = await this.ddb.send(
          new BatchWriteItemCommand({ RequestItems: { [this.tableName]: batch } }),
        );
        batch = got.UnprocessedItems?.[this.tableName] ?? [];
      }
    }
  }

  /**
   * Recomputes the earliest of each name (after a change, or when the latest success moved),
   * the names side by side: each has a sequence of its own.
   */
  async refresh(
    customerId: string,
    names: readonly ContributionName[],
    latestSuccess: number | null,
  ): Promise<void> {
    await Promise.all(
      [...new Set(names)].map((name) => this.refreshOne(customerId, name, latestSuccess)),
    );
  }

  private async refreshOne(
    customerId: string,
    name: ContributionName,
    latestSuccess: number | null,
  ): Promise<void> {
    const started = await this.ddb.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: keyOf(statusKey(customerId)),
        UpdateExpression: 'ADD #q :one',
        ExpressionAttributeNames: { '#q': SUMMARY_ATTR.sequence(name) },
        ExpressionAttributeValues: { ':one': n(1) },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const sequence = Number(started.Attributes?.[SUMMARY_ATTR.sequence(name)]?.N ?? 0);
    // Read after the sequence is taken: every change numbered before it is visible.
    const found = await this.earliest(customerId, name, latestSuccess);
    const names = { '#e': SUMMARY_ATTR.earliest(name), '#w': SUMMARY_ATTR.written(name) };
    try {
      await this.ddb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyOf(statusKey(customerId)),
          UpdateExpression: found ? 'SET #e = :e, #w = :w' : 'SET #w = :w REMOVE #e',
          ConditionExpression: 'attribute_not_exists(#w) OR #w < :w',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: {
            ':w': n(sequence),
            ...(found
              ? { ':e': s(JSON.stringify([found.time, found.eventId, found.objectId])) }
              : {}),
          },
        }),
      );
    } catch (err) {
      if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
    }
  }

  /**
   * The earliest live contribution of a name (for `pf` after the latest success; for
   * `mstop` the latest), checked against its entry: one left by a crash is removed on the way.
   */
  private async earliest(
    customerId: string,
    name: ContributionName,
    latestSuccess: number | null,
  ): Promise<Earliest | null> {
    const pk = overflowPk(customerId);
    const prefix = contributionPrefix(name);
    const latest = name === 'mstop';
    let start: Item | undefined;
    for (let page = 0; page < 50; page++) {
      const got = await this.ddb.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression:
            name === 'pf' && latestSuccess !== null
              ? 'pk = :pk AND sk BETWEEN :low AND :high'
              : 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: {
            ':pk': s(pk),
            ...(name === 'pf' && latestSuccess !== null
              ? { ':low': s(`${prefix}${timePart(latestSuccess + 1)}`), ':high': s(`${prefix}~`) }
              : { ':prefix': s(prefix) }),
          },
          ConsistentRead: true,
          ScanIndexForward: !latest,
          Limit: 10,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      const items = got.Items ?? [];
      const valid = await this.validContributions(customerId, items);
      for (const item of items) {
        if (valid.has(item.sk!.S!)) {
          return {
            time: Number(item.time!.N),
            eventId: item.e?.S ?? null,
            objectId: item.objectId!.S!,
          };
        }
      }
      if (!got.LastEvaluatedKey) return null;
      start = got.LastEvaluatedKey;
    }
    return null;
  }

  /** The contributions among `items` that their entry still makes; stale ones are deleted. */
  private async validContributions(
    customerId: string,
    items: readonly Item[],
  ): Promise<Set<string>> {
    const valid = new Set<string>();
    if (items.length === 0) return valid;
    const entryKeys = new Map<string, Item>();
    for (const item of items) {
      const k = keyOf(overflowKey(customerId, item.kind!.S!, item.objectId!.S!));
      entryKeys.set(k.sk!.S!, k);
    }
    const got = await this.ddb.send(
      new BatchGetItemCommand({
        RequestItems: { [this.tableName]: { Keys: [...entryKeys.values()], ConsistentRead: true } },
      }),
    );
    const entries = new Map((got.Responses?.[this.tableName] ?? []).map((i) => [i.sk!.S!, i]));
    const stale: WriteRequest[] = [];
    for (const item of items) {
      const entryItem = entries.get(overflowKey(customerId, item.kind!.S!, item.objectId!.S!).sk);
      const entry = entryItem?.v?.S ? decodeEntry(entryItem.v.S) : null;
      const makes = contributionsOf(entry).some(
        (c) => contributionSk(customerId, c, item.objectId!.S!) === item.sk!.S,
      );
      if (makes) valid.add(item.sk!.S!);
      else if (entryItem && Number(entryItem.c?.N) >= Number(item.c?.N ?? 0)) {
        stale.push({ DeleteRequest: { Key: { pk: item.pk!, sk: item.sk! } } });
      }
    }
    if (stale.length > 0) {
      await this.ddb.send(new BatchWriteItemCommand({ RequestItems: { [this.tableName]: stale } }));
    }
    return valid;
  }

  /** Puts the ordered items `next` makes and deletes those only `old` made. Idempotent. */
  private async syncContributions(
    customerId: string,
    objectId: string,
    count: number,
    old: Entry | null,
    next: Entry | null,
  ): Promise<void> {
    const kind = (next ?? old)?.kind;
    if (!kind) return;
    const wanted = new Map(
      contributionsOf(next).map((c) => [contributionSk(customerId, c, objectId), c] as const),
    );
    const requests: WriteRequest[] = [];
    for (const c of contributionsOf(old)) {
      const sk = contributionSk(customerId, c, objectId);
      if (!wanted.has(sk)) {
        requests.push({ DeleteRequest: { Key: { pk: s(overflowPk(customerId)), sk: s(sk) } } });
      }
    }
    for (const [sk, c] of wanted) {
      requests.push({
        PutRequest: {
          Item: {
            pk: s(overflowPk(customerId)),
            sk: s(sk),
            kind: s(kind),
            objectId: s(objectId),
            time: n(c.time),
            c: n(count),
            ...(c.eventId ? { e: s(c.eventId) } : {}),
          },
        },
      });
    }
    await this.batchWrite(requests);
  }

  /** An update of the summary's counts: added to (`ADD`), or set to (`SET`, a rebuild). */
  private countUpdate(
    customerId: string,
    delta: ReadonlyMap<string, number>,
    mode: 'ADD' | 'SET' = 'ADD',
  ) {
    const names: Record<string, string> = {};
    const values: Record<string, AttributeValue> = {};
    const clauses: string[] = [];
    let i = 0;
    for (const [name, by] of delta) {
      names[`#n${i}`] = name;
      values[`:n${i}`] = n(by);
      clauses.push(mode === 'ADD' ? `#n${i} :n${i}` : `#n${i} = :n${i}`);
      i++;
    }
    return {
      TableName: this.tableName,
      Key: keyOf(statusKey(customerId)),
      UpdateExpression: `${mode} ${clauses.join(', ')}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
  }
}
