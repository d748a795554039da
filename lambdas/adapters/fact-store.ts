// All DynamoDB access, over the layout of table-layout.ts. Applying an event is one
// conditional PutItem of its fact (the deduplication, the history entry and the rule input at
// once) followed by the update of the customer's billing-status item, written under an
// optimistic version so that concurrent writers never lose each other's updates.

import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteItemsCommand,
  TransactionCanceledException,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type QueryCommandInput,
} from '@aws-sdk/client-dynamodb';
import { canAllocateOf } from '../core/billing-status';
import type {
  AppliedFact,
  Fact,
  FactData,
  HistoryEntry,
  OverrideMode,
  OverrideRecord,
} from '../core/facts';
import { historyOf } from '../core/history';
import {
  EMPTY_RECORD,
  RULES_VERSION,
  applyOverride,
  type StatusRecord,
} from '../core/status-record';
import {
  STATUS_ITEM_FORMAT,
  decodeStatusItem,
  encodeCommit,
  encodeOverride,
  encodeState,
  type Item,
  type StoredStatus,
} from './status-item';
import {
  FACT_SK_PREFIX,
  PARKED_INDEX,
  PARKED_LIST,
  PK_PREFIX,
  RULES_VERSION_INDEX,
  STATUS_ATTR,
  customerOfStatusPk,
  factKey,
  factsPk,
  objectFactsPrefix,
  overridesPk,
  ownerKey,
  parkKey,
  statusKey,
} from './table-layout';

export type { StoredStatus } from './status-item';

/** A parked event: only what applying it needs, never the raw Stripe body. */
export interface ParkedEvent {
  eventId: string;
  type: string;
  /** The fact the rule extracted from the event. */
  fact: Fact;
  /** The object ids whose owner the event waits for. */
  keys: string[];
  /** The charge the Stripe API can be asked about (disputes), or null. */
  chargeId: string | null;
  /** Unix milliseconds. */
  parkedAt: number;
}

/** A status write lost to concurrent writers too many times in a row; the message retries. */
export class StatusContentionError extends Error {
  readonly code = 'status_contention';
  constructor(customerId: string, attempts: number) {
    super(`status item of ${customerId} kept changing under ${attempts} attempts`);
    this.name = 'StatusContentionError';
  }
}

const s = (v: string): AttributeValue => ({ S: v });
const n = (v: number): AttributeValue => ({ N: String(v) });
const readS = (item: Item, k: string): string | null => item[k]?.S ?? null;
const readN = (item: Item, k: string): number | null =>
  item[k]?.N === undefined ? null : Number(item[k]!.N);
const keyOf = (k: { pk: string; sk: string }): Item => ({ pk: s(k.pk), sk: s(k.sk) });

export function factItem(customerId: string, fact: Fact, appliedAt: string): Item {
  return {
    ...keyOf(factKey(customerId, fact.objectId, fact.eventId)),
    eventId: s(fact.eventId),
    type: s(fact.type),
    created: n(fact.created),
    livemode: { BOOL: fact.livemode },
    objectId: s(fact.objectId),
    data: s(JSON.stringify(fact.data)),
    appliedAt: s(appliedAt),
  };
}

export function factFromItem(item: Item): AppliedFact {
  return {
    customerId: readS(item, 'pk')!.slice(PK_PREFIX.facts.length),
    eventId: readS(item, 'eventId')!,
    type: readS(item, 'type')!,
    created: readN(item, 'created')!,
    livemode: item.livemode?.BOOL === true,
    objectId: readS(item, 'objectId')!,
    data: JSON.parse(readS(item, 'data') ?? '{}') as FactData,
    appliedAt: readS(item, 'appliedAt')!,
  };
}

function overrideItem(record: OverrideRecord): Item {
  const item: Item = {
    pk: s(overridesPk(record.customerId)),
    sk: s(record.id),
    setAt: s(record.setAt),
  };
  if (record.mode) item.mode = s(record.mode);
  if (record.reason !== null) item.reason = s(record.reason);
  if (record.actor !== null) item.actor = s(record.actor);
  return item;
}

export function overrideFromItem(item: Item): OverrideRecord {
  const mode = readS(item, 'mode');
  return {
    id: readS(item, 'sk')!,
    customerId: readS(item, 'pk')!.slice(PK_PREFIX.overrides.length),
    mode: mode === 'allow' || mode === 'deny' ? (mode as OverrideMode) : null,
    reason: readS(item, 'reason'),
    setAt: readS(item, 'setAt')!,
    actor: readS(item, 'actor'),
  };
}

function parkedFromItem(item: Item): ParkedEvent {
  return {
    eventId: readS(item, 'eventId')!,
    type: readS(item, 'type')!,
    fact: JSON.parse(readS(item, 'fact')!) as Fact,
    keys: JSON.parse(readS(item, 'keys') ?? '[]') as string[],
    chargeId: readS(item, 'chargeId'),
    parkedAt: readN(item, 'parkedAt')!,
  };
}

export function isConditionFailure(err: unknown): boolean {
  return (
    err instanceof ConditionalCheckFailedException ||
    (err as Error | undefined)?.name === 'ConditionalCheckFailedException'
  );
}

/** Two records store the same thing (the write would change nothing). */
function sameRecord(a: StatusRecord, b: StatusRecord): boolean {
  return (
    encodeState(a) === encodeState(b) &&
    (a.override ? encodeOverride(a.override) : null) ===
      (b.override ? encodeOverride(b.override) : null) &&
    (a.lastCommit ? encodeCommit(a.lastCommit) : null) ===
      (b.lastCommit ? encodeCommit(b.lastCommit) : null)
  );
}

/**
 * A random pause before retrying a lost status write, growing with the attempt ("full
 * jitter"), so that writers racing on one customer spread out instead of colliding again.
 */
const backoff = (attempt: number) =>
  new Promise((r) => setTimeout(r, Math.random() * Math.min(1000, 10 * 2 ** attempt)));

export interface StatusUpdateOptions {
  /** Attempts before giving up (the message is then retried by SQS). @default 30 */
  maxAttempts?: number;
  /** The rules version to record. @default the current item's, or RULES_VERSION for a new one */
  rulesVersion?: number;
}

export class FactStore {
  constructor(
    private readonly ddb: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  // -------------------------------------------------------------------------------------
  // Facts

  /**
   * Commits one event's fact: 'applied' on the first delivery, 'duplicate' on any later one
   * (then `fact` is the stored one, with its original commit time).
   */
  async putFact(
    customerId: string,
    fact: Fact,
    appliedAt: string,
  ): Promise<{ outcome: 'applied' | 'duplicate'; fact: AppliedFact }> {
    const item = factItem(customerId, fact, appliedAt);
    try {
      await this.ddb.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { outcome: 'applied', fact: factFromItem(item) };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const old = (err as ConditionalCheckFailedException).Item;
      const stored = old ?? (await this.getItem(factKey(customerId, fact.objectId, fact.eventId)));
      return { outcome: 'duplicate', fact: factFromItem(stored ?? item) };
    }
  }

  /** Every fact of one object of the customer: one short, strongly consistent Query. */
  async objectFacts(customerId: string, objectId: string): Promise<AppliedFact[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: {
        ':pk': s(factsPk(customerId)),
        ':prefix': s(objectFactsPrefix(objectId)),
      },
      ConsistentRead: true,
    });
    return items.map(factFromItem);
  }

  /** Whether an event was applied for this customer (reconcile's "already seen"). */
  async hasFact(customerId: string, objectId: string, eventId: string): Promise<boolean> {
    return (await this.getItem(factKey(customerId, objectId, eventId), 'pk')) !== null;
  }

  /** Every fact of the customer (rebuild and history only: never on a per-event path). */
  async allFacts(customerId: string): Promise<AppliedFact[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': s(factsPk(customerId)), ':prefix': s(FACT_SK_PREFIX) },
      ConsistentRead: true,
    });
    return items.map(factFromItem);
  }

  /** Every override set or clear of the customer (history and rebuild). */
  async overrides(customerId: string): Promise<OverrideRecord[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': s(overridesPk(customerId)) },
      ConsistentRead: true,
    });
    return items.map(overrideFromItem);
  }

  /**
   * The customer's history as its status item reflects it (`stored`, read before this call):
   * a fact is written a moment before the item (and after a crash between the two, until its
   * redelivery repairs the item), so one committed after the item's last commit is not in the
   * item yet and is left out until it catches up (docs/behaviour.md#local-mode). The item was
   * read first, so every fact it reflects is in the facts read here.
   */
  async history(customerId: string, stored: StoredStatus): Promise<HistoryEntry[]> {
    const [facts, overrides] = await Promise.all([
      this.allFacts(customerId),
      this.overrides(customerId),
    ]);
    const reflectedUntil = stored.record.lastCommit?.at ?? '';
    return historyOf(
      facts.filter((f) => f.appliedAt <= reflectedUntil),
      overrides,
    );
  }

  // -------------------------------------------------------------------------------------
  // The billing-status item

  /** The customer's status item, or null when no event or override has named it. */
  async readStatus(customerId: string, consistent = true): Promise<StoredStatus | null> {
    const item = await this.getItem(statusKey(customerId), undefined, consistent);
    return item ? decodeStatusItem(item) : null;
  }

  /**
   * Writes `next` over `current` (null: the item must not exist yet). False when another
   * writer changed the item since `current` was read: read again and recompute.
   */
  async writeStatus(
    customerId: string,
    next: StatusRecord,
    current: StoredStatus | null,
    rulesVersion: number,
  ): Promise<boolean> {
    const version = (current?.version ?? 0) + 1;
    const canAllocate = canAllocateOf(customerId, next);
    const item: Item = {
      ...keyOf(statusKey(customerId)),
      [STATUS_ATTR.format]: n(STATUS_ITEM_FORMAT),
      [STATUS_ATTR.rulesVersion]: n(rulesVersion),
      [STATUS_ATTR.version]: n(version),
      [STATUS_ATTR.canAllocate]: { BOOL: canAllocate },
      [STATUS_ATTR.state]: s(encodeState(next)),
    };
    if (next.override) item[STATUS_ATTR.override] = s(encodeOverride(next.override));
    if (next.lastCommit) item[STATUS_ATTR.lastCommit] = s(encodeCommit(next.lastCommit));
    // Only the write that changes canAllocate carries `flip`: the notifier's stream filter.
    if (canAllocate !== (current?.canAllocate ?? true)) item[STATUS_ATTR.flip] = n(version);
    try {
      await this.ddb.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: item,
          ...(current
            ? {
                ConditionExpression: '#ver = :ver',
                ExpressionAttributeNames: { '#ver': STATUS_ATTR.version },
                ExpressionAttributeValues: { ':ver': n(current.version) },
              }
            : { ConditionExpression: 'attribute_not_exists(pk)' }),
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /**
   * Read, recompute, conditionally write, until the write lands: `compute` gets the item as
   * read and returns the record to store (null: nothing to do). Whatever `compute` reads after
   * being called sees every change the read item reflects, so no update is ever lost.
   */
  async updateStatus(
    customerId: string,
    compute: (current: StoredStatus | null) => Promise<StatusRecord | null>,
    options: StatusUpdateOptions = {},
  ): Promise<'written' | 'unchanged'> {
    const maxAttempts = options.maxAttempts ?? 30;
    for (let attempt = 1; ; attempt++) {
      const current = await this.readStatus(customerId);
      const next = await compute(current);
      if (next === null) return 'unchanged';
      const rulesVersion = options.rulesVersion ?? current?.rulesVersion ?? RULES_VERSION;
      if (current && current.rulesVersion === rulesVersion && sameRecord(current.record, next)) {
        return 'unchanged';
      }
      if (await this.writeStatus(customerId, next, current, rulesVersion)) return 'written';
      if (attempt >= maxAttempts) throw new StatusContentionError(customerId, attempt);
      await backoff(attempt);
    }
  }

  /**
   * Records an operator override and folds it into the status item in one transaction, so
   * the history and the status never disagree. Null (nothing written) when the customer has
   * no status item and `createRecord` is false (a clear alone does not create a record).
   */
  async recordOverride(
    override: OverrideRecord,
    { createRecord, maxAttempts = 30 }: { createRecord: boolean; maxAttempts?: number },
  ): Promise<StatusRecord | null> {
    const customerId = override.customerId;
    for (let attempt = 1; ; attempt++) {
      const current = await this.readStatus(customerId);
      if (!current && !createRecord) return null;
      const next = applyOverride(current?.record ?? EMPTY_RECORD, override);
      const version = (current?.version ?? 0) + 1;
      const canAllocate = canAllocateOf(customerId, next);
      const flip = canAllocate !== (current?.canAllocate ?? true);
      const names: Record<string, string> = {
        '#fmt': STATUS_ATTR.format,
        '#rv': STATUS_ATTR.rulesVersion,
        '#ver': STATUS_ATTR.version,
        '#ca': STATUS_ATTR.canAllocate,
        '#ov': STATUS_ATTR.override,
        '#lc': STATUS_ATTR.lastCommit,
        '#flip': STATUS_ATTR.flip,
      };
      const values: Record<string, AttributeValue> = {
        ':fmt': n(STATUS_ITEM_FORMAT),
        ':rv': n(RULES_VERSION),
        ':next': n(version),
        ':ca': { BOOL: canAllocate },
        ':ov': s(encodeOverride(next.override!)),
        ':lc': s(encodeCommit(next.lastCommit!)),
      };
      if (current) values[':ver'] = n(current.version);
      try {
        await this.ddb.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              {
                Put: {
                  TableName: this.tableName,
                  Item: overrideItem(override),
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              },
              {
                Update: {
                  TableName: this.tableName,
                  Key: keyOf(statusKey(customerId)),
                  UpdateExpression:
                    'SET #fmt = :fmt, #ver = :next, #ca = :ca, #ov = :ov, #lc = :lc, ' +
                    '#rv = if_not_exists(#rv, :rv) ' +
                    (flip ? ', #flip = :next' : 'REMOVE #flip'),
                  ConditionExpression: current ? '#ver = :ver' : 'attribute_not_exists(pk)',
                  ExpressionAttributeNames: names,
                  ExpressionAttributeValues: values,
                },
              },
            ],
          }),
        );
        return next;
      } catch (err) {
        const lostRace =
          err instanceof TransactionCanceledException &&
          err.CancellationReasons?.[1]?.Code === 'ConditionalCheckFailed' &&
          err.CancellationReasons?.[0]?.Code !== 'ConditionalCheckFailed';
        if (!lostRace) throw err;
        if (attempt >= maxAttempts) throw new StatusContentionError(customerId, attempt);
        await backoff(attempt);
      }
    }
  }

  /** How many status items were computed with rules older than `current`. */
  async countStatusItemsBehind(current = RULES_VERSION): Promise<number> {
    let count = 0;
    for (let version = 1; version < current; version++) {
      let start: Item | undefined;
      do {
        const page = await this.ddb.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: RULES_VERSION_INDEX,
            KeyConditionExpression: '#rv = :rv',
            ExpressionAttributeNames: { '#rv': STATUS_ATTR.rulesVersion },
            ExpressionAttributeValues: { ':rv': n(version) },
            Select: 'COUNT',
            ExclusiveStartKey: start,
          }),
        );
        count += page.Count ?? 0;
        start = page.LastEvaluatedKey;
      } while (start);
    }
    return count;
  }

  /** Every customer with a status item (rebuild), from the rulesVersion index. */
  async *statusCustomers(): AsyncGenerator<string> {
    let start: Item | undefined;
    do {
      const page = await this.ddb.send(
        new ScanCommand({
          TableName: this.tableName,
          IndexName: RULES_VERSION_INDEX,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        const customerId = customerOfStatusPk(readS(item, 'pk') ?? '');
        if (customerId) yield customerId;
      }
      start = page.LastEvaluatedKey;
    } while (start);
  }

  // -------------------------------------------------------------------------------------
  // Owners of objects, and events parked until their owner is known

  /** The customer an earlier event revealed as owner of one of `keys`, or null. */
  async ownerOf(keys: readonly string[]): Promise<string | null> {
    if (keys.length === 0) return null;
    const got = await this.ddb.send(
      new BatchGetItemCommand({
        RequestItems: {
          [this.tableName]: {
            Keys: keys.map((k) => keyOf(ownerKey(k))),
            ConsistentRead: true,
            ProjectionExpression: 'pk, #owner',
            ExpressionAttributeNames: { '#owner': 'owner' },
          },
        },
      }),
    );
    const found = new Map(
      (got.Responses?.[this.tableName] ?? []).map((i) => [readS(i, 'pk'), readS(i, 'owner')]),
    );
    // Most specific key first, as the rule lists them.
    for (const k of keys) {
      const owner = found.get(ownerKey(k).pk);
      if (owner) return owner;
    }
    return null;
  }

  /**
   * Records `customerId` as the owner of each of `keys` unless another owner came first, and
   * returns, per key, the owner and the events waiting for it. Written once per object: one
   * read finds most keys already known.
   */
  async revealOwners(
    keys: readonly string[],
    customerId: string,
  ): Promise<{ key: string; owner: string; waiting: string[] }[]> {
    if (keys.length === 0) return [];
    const got = await this.ddb.send(
      new BatchGetItemCommand({
        RequestItems: { [this.tableName]: { Keys: keys.map((k) => keyOf(ownerKey(k))) } },
      }),
    );
    const known = new Map((got.Responses?.[this.tableName] ?? []).map((i) => [readS(i, 'pk'), i]));
    const revealed = [];
    for (const key of keys) {
      const item = known.get(ownerKey(key).pk);
      const owner = item ? readS(item, 'owner') : null;
      // An unread key (throttled) or one without an owner goes through the atomic update.
      revealed.push(
        owner
          ? { key, owner, waiting: item?.waiting?.SS ?? [] }
          : { key, ...(await this.recordOwner(key, customerId)) },
      );
    }
    return revealed;
  }

  /**
   * Sets the owner of `key` if it has none, in the same atomic update that reads the events
   * waiting for it: an event parked before is seen here, one parked after sees the owner.
   */
  private async recordOwner(
    key: string,
    customerId: string,
  ): Promise<{ owner: string; waiting: string[] }> {
    try {
      const set = await this.ddb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyOf(ownerKey(key)),
          UpdateExpression: 'SET #owner = :owner',
          ConditionExpression: 'attribute_not_exists(#owner)',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': s(customerId) },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { owner: customerId, waiting: set.Attributes?.waiting?.SS ?? [] };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const now = await this.getItem(ownerKey(key));
      return { owner: readS(now!, 'owner')!, waiting: now?.waiting?.SS ?? [] };
    }
  }

  /**
   * Parks an event under each object id it waits for (idempotent; a re-park keeps the first
   * parking time). Returns the owner when one is already known for a key: every owner
   * reveal reads the waiting events in the same atomic update that records the owner, so an
   * event is either seen by its revealer or sees the owner here.
   */
  async park(event: Omit<ParkedEvent, 'parkedAt'>, parkedAt: number): Promise<string | null> {
    const item: Item = {
      ...keyOf(parkKey(event.eventId)),
      eventId: s(event.eventId),
      type: s(event.type),
      fact: s(JSON.stringify(event.fact)),
      keys: s(JSON.stringify(event.keys)),
      parkedList: s(PARKED_LIST),
      parkedAt: n(parkedAt),
    };
    if (event.chargeId) item.chargeId = s(event.chargeId);
    await this.ddb
      .send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
      .catch((err: unknown) => {
        if (!isConditionFailure(err)) throw err;
      });
    let owner: string | null = null;
    for (const key of event.keys) {
      const got = await this.ddb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyOf(ownerKey(key)),
          UpdateExpression: 'ADD waiting :id',
          ExpressionAttributeValues: { ':id': { SS: [event.eventId] } },
          ReturnValues: 'ALL_NEW',
        }),
      );
      owner ??= got.Attributes ? readS(got.Attributes, 'owner') : null;
    }
    return owner;
  }

  /** A parked event, or null when it was applied (or never parked). */
  async parkedEvent(eventId: string): Promise<ParkedEvent | null> {
    const item = await this.getItem(parkKey(eventId));
    return item ? parkedFromItem(item) : null;
  }

  /** Every parked event, oldest first. */
  async listParked(): Promise<ParkedEvent[]> {
    const keys = await this.queryAll({
      TableName: this.tableName,
      IndexName: PARKED_INDEX,
      KeyConditionExpression: 'parkedList = :p',
      ExpressionAttributeValues: { ':p': s(PARKED_LIST) },
    });
    const parked: ParkedEvent[] = [];
    for (let i = 0; i < keys.length; i += 100) {
      let request: Item[] = keys.slice(i, i + 100).map((k) => ({ pk: k.pk!, sk: k.sk! }));
      while (request.length > 0) {
        const got = await this.ddb.send(
          new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: request } } }),
        );
        for (const item of got.Responses?.[this.tableName] ?? []) parked.push(parkedFromItem(item));
        request = (got.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Item[];
      }
    }
    return parked.sort((a, b) => a.parkedAt - b.parkedAt);
  }

  /** Removes a parked event (after it was applied, or found to have no customer). */
  async unpark(eventId: string, keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      await this.ddb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyOf(ownerKey(key)),
          UpdateExpression: 'DELETE waiting :id',
          ExpressionAttributeValues: { ':id': { SS: [eventId] } },
        }),
      );
    }
    await this.ddb.send(
      new DeleteItemCommand({ TableName: this.tableName, Key: keyOf(parkKey(eventId)) }),
    );
  }

  // -------------------------------------------------------------------------------------

  private async getItem(
    key: { pk: string; sk: string },
    projection?: string,
    consistent = true,
  ): Promise<Item | null> {
    const got = await this.ddb.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: keyOf(key),
        ConsistentRead: consistent,
        ...(projection ? { ProjectionExpression: projection } : {}),
      }),
    );
    return got.Item ?? null;
  }

  private async queryAll(input: QueryCommandInput): Promise<Item[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const page = await this.ddb.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
      for (const item of page.Items ?? []) items.push(item);
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }
}
