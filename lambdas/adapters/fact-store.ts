// All DynamoDB access, over the one-table layout of table-layout.ts. The write that
// applies an event is a single conditional PutItem: deduplication, history and state in one
// atomic item, so a crash can neither lose the event nor apply it twice.

import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type QueryCommandInput,
} from '@aws-sdk/client-dynamodb';
import type { AppliedFact, Fact, FactData, OverrideMode, OverrideRecord } from '../core/facts';
import {
  ANNOUNCEMENT_SK,
  BY_REF_INDEX,
  PARKED_INDEX,
  PARKED_LIST,
  customerPk,
  eventSk,
  overrideSk,
  parkPk,
} from './table-layout';

type Item = Record<string, AttributeValue>;

export interface CustomerRecord {
  facts: AppliedFact[];
  overrides: OverrideRecord[];
  /** The canAllocate the notifier last announced, or null before the first announcement. */
  announced: boolean | null;
}

export interface ParkedEvent {
  eventId: string;
  type: string;
  /** The raw event JSON, exactly as queued. */
  body: string;
  /** The object ids whose owner the event waits for. */
  keys: string[];
  /** Unix milliseconds. */
  parkedAt: number;
}

const s = (v: string): AttributeValue => ({ S: v });
const n = (v: number): AttributeValue => ({ N: String(v) });
const readS = (item: Item, k: string): string | null => item[k]?.S ?? null;
const readN = (item: Item, k: string): number | null =>
  item[k]?.N === undefined ? null : Number(item[k]!.N);

export function factItem(customerId: string, fact: Fact, appliedAt: string): Item {
  const item: Item = {
    pk: s(customerPk(customerId)),
    sk: s(eventSk(fact.eventId)),
    customerId: s(customerId),
    eventId: s(fact.eventId),
    type: s(fact.type),
    created: n(fact.created),
    livemode: { BOOL: fact.livemode },
    objectId: s(fact.objectId),
    data: s(JSON.stringify(fact.data)),
    appliedAt: s(appliedAt),
  };
  // Only facts that reveal an owner enter the sparse byRef index (one more write unit).
  if (fact.ref) item.ref = s(fact.ref);
  return item;
}

export function factFromItem(item: Item): AppliedFact {
  return {
    customerId: readS(item, 'customerId')!,
    eventId: readS(item, 'eventId')!,
    type: readS(item, 'type')!,
    created: readN(item, 'created')!,
    livemode: item.livemode?.BOOL === true,
    objectId: readS(item, 'objectId')!,
    ref: readS(item, 'ref'),
    data: JSON.parse(readS(item, 'data') ?? '{}') as FactData,
    appliedAt: readS(item, 'appliedAt')!,
  };
}

export function overrideFromItem(item: Item): OverrideRecord {
  const mode = readS(item, 'mode');
  return {
    id: readS(item, 'overrideId')!,
    customerId: readS(item, 'customerId')!,
    mode: mode === 'allow' || mode === 'deny' ? (mode as OverrideMode) : null,
    reason: readS(item, 'reason'),
    setAt: readS(item, 'setAt')!,
    actor: readS(item, 'actor'),
  };
}

export function isConditionFailure(err: unknown): boolean {
  return (
    err instanceof ConditionalCheckFailedException ||
    (err as Error | undefined)?.name === 'ConditionalCheckFailedException'
  );
}

export class FactStore {
  constructor(
    private readonly ddb: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  /** Applies one event: 'applied' on the first delivery, 'duplicate' on any later one. */
  async putFact(
    customerId: string,
    fact: Fact,
    appliedAt: string,
  ): Promise<'applied' | 'duplicate'> {
    try {
      await this.ddb.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: factItem(customerId, fact, appliedAt),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return 'applied';
    } catch (err) {
      if (isConditionFailure(err)) return 'duplicate';
      throw err;
    }
  }

  /** Whether an event was applied for this customer (reconcile's "already seen"). */
  async hasFact(customerId: string, eventId: string): Promise<boolean> {
    const items = await this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND sk = :sk',
      ExpressionAttributeValues: { ':pk': s(customerPk(customerId)), ':sk': s(eventSk(eventId)) },
      ProjectionExpression: 'pk',
      ConsistentRead: true,
    });
    return items.length > 0;
  }

  /** Everything the status is derived from; strongly consistent, all pages. */
  async loadCustomer(customerId: string): Promise<CustomerRecord> {
    const items = await this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': s(customerPk(customerId)) },
      ConsistentRead: true,
    });
    const record: CustomerRecord = { facts: [], overrides: [], announced: null };
    for (const item of items) {
      const sk = readS(item, 'sk') ?? '';
      if (sk.startsWith('EVT#')) record.facts.push(factFromItem(item));
      else if (sk.startsWith('OVR#')) record.overrides.push(overrideFromItem(item));
      else if (sk === ANNOUNCEMENT_SK) record.announced = item.canAllocate?.BOOL ?? null;
    }
    return record;
  }

  /** The customer an earlier event revealed as owner of one of `keys`, or null. */
  async findOwner(keys: readonly string[]): Promise<string | null> {
    for (const key of keys) {
      const got = await this.ddb.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: BY_REF_INDEX,
          KeyConditionExpression: '#ref = :ref',
          ExpressionAttributeNames: { '#ref': 'ref' },
          ExpressionAttributeValues: { ':ref': s(key) },
          Limit: 1,
        }),
      );
      const pk = got.Items?.[0]?.pk?.S;
      if (pk?.startsWith('CUS#')) return pk.slice(4);
    }
    return null;
  }

  /** Parks an event under each object id it waits for. Idempotent. */
  async park(event: Omit<ParkedEvent, 'parkedAt'>, parkedAt: number): Promise<void> {
    for (const key of event.keys) {
      await this.ddb
        .send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: {
              pk: s(parkPk(key)),
              sk: s(eventSk(event.eventId)),
              eventId: s(event.eventId),
              type: s(event.type),
              body: s(event.body),
              keys: s(JSON.stringify(event.keys)),
              parkedList: s(PARKED_LIST),
              parkedAt: n(parkedAt),
            },
            // A re-park keeps the original parking time (age alarms stay truthful).
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        )
        .catch((err: unknown) => {
          if (!isConditionFailure(err)) throw err;
        });
    }
  }

  /** Events parked under one object id; strongly consistent. */
  async parkedFor(key: string): Promise<ParkedEvent[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': s(parkPk(key)) },
      ConsistentRead: true,
    });
    return items.map(parkedFromItem);
  }

  /** Every parked event, once each, oldest first. */
  async listParked(): Promise<ParkedEvent[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      IndexName: PARKED_INDEX,
      KeyConditionExpression: 'parkedList = :p',
      ExpressionAttributeValues: { ':p': s(PARKED_LIST) },
    });
    const byId = new Map<string, ParkedEvent>();
    for (const item of items) {
      const parked = parkedFromItem(item);
      if (!byId.has(parked.eventId)) byId.set(parked.eventId, parked);
    }
    return [...byId.values()].sort((a, b) => a.parkedAt - b.parkedAt);
  }

  async unpark(eventId: string, keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      await this.ddb.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { pk: s(parkPk(key)), sk: s(eventSk(eventId)) },
        }),
      );
    }
  }

  /** Records an operator override set (mode) or clear (mode null). */
  async putOverride(record: OverrideRecord): Promise<void> {
    const item: Item = {
      pk: s(customerPk(record.customerId)),
      sk: s(overrideSk(record.id)),
      customerId: s(record.customerId),
      overrideId: s(record.id),
      setAt: s(record.setAt),
    };
    if (record.mode) item.mode = s(record.mode);
    if (record.reason !== null) item.reason = s(record.reason);
    if (record.actor !== null) item.actor = s(record.actor);
    await this.ddb.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: item,
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  /**
   * Moves the announcement cursor from `previous` to `next`; false when another notifier
   * moved it first (then that one announced).
   */
  async moveAnnouncement(
    customerId: string,
    previous: boolean | null,
    next: boolean,
    at: string,
  ): Promise<boolean> {
    try {
      await this.ddb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: s(customerPk(customerId)), sk: s(ANNOUNCEMENT_SK) },
          UpdateExpression: 'SET canAllocate = :next, announcedAt = :at',
          ConditionExpression:
            previous === null ? 'attribute_not_exists(pk)' : 'canAllocate = :previous',
          ExpressionAttributeValues: {
            ':next': { BOOL: next },
            ':at': s(at),
            ...(previous === null ? {} : { ':previous': { BOOL: previous } }),
          },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  private async queryAll(input: QueryCommandInput): Promise<Item[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const page = await this.ddb.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }
}

function parkedFromItem(item: Item): ParkedEvent {
  return {
    eventId: readS(item, 'eventId')!,
    type: readS(item, 'type')!,
    body: readS(item, 'body')!,
    keys: JSON.parse(readS(item, 'keys') ?? '[]') as string[],
    parkedAt: readN(item, 'parkedAt')!,
  };
}
