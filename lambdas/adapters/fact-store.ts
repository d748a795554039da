// All DynamoDB access but the status item's writes (status-writer.ts), over the layout of
// table-layout.ts. Applying an event is one conditional PutItem of its fact (the
// deduplication, the history entry and the rule input at once), a short Query of its object's
// facts and links, and the write of the customer's billing-status item.

import {
  BatchGetItemCommand,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type QueryCommandInput,
} from '@aws-sdk/client-dynamodb';
import type { InvoiceLink } from '../core/entries';
import type {
  AppliedFact,
  Fact,
  FactData,
  HistoryEntry,
  OverrideMode,
  OverrideRecord,
} from '../core/facts';
import { historyOf } from '../core/history';
import { RULES_VERSION, type OverrideState } from '../core/status-record';
import { decodeSettingsItem, encodeSettingsItem, type StoredSettings } from './settings-item';
import { decodeStatusItem, type Item, type StoredStatus } from './status-item';
import {
  StatusWriter,
  isConditionFailure,
  type FlipCause,
  type StatusChange,
  type StatusWriterOptions,
} from './status-writer';
import {
  DUE_INDEX,
  DUE_PARTITION,
  FACT_SK_PREFIX,
  GRACE_INDEX,
  GRACE_PARTITION,
  PARKED_INDEX,
  PARKED_LIST,
  RULES_VERSION_INDEX,
  SETTINGS_KEY,
  STATUS_ATTR,
  TROUBLE_INDEX,
  customerOfFactsPk,
  customerOfStatusPk,
  factKey,
  factsPk,
  idOfKeyPart,
  linkKey,
  objectFactsPrefix,
  overridesPk,
  ownerKey,
  parkKey,
  statusKey,
} from './table-layout';

export type { StoredStatus } from './status-item';
export { isConditionFailure } from './status-writer';
export type { StoredSettings } from './settings-item';

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
  /** The Accounts v2 id the Stripe API can be asked about, or null. */
  accountId?: string | null;
  /** The invoice links the event carries (an invoice payment), applied with it. */
  links?: InvoiceLink[];
  /** Unix milliseconds. */
  parkedAt: number;
}

/** An object's facts and the invoice links known for it. */
export interface ObjectFacts {
  facts: AppliedFact[];
  links: InvoiceLink[];
}

/** One page of a listing of customers by state (GET /customers). */
export interface CustomerPage {
  customerIds: string[];
  /** Where the next page starts, or null. */
  next: Item | null;
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

/** Whether a fact-partition item is an invoice link rather than a fact. */
const isLinkItem = (item: Item) => item.link?.BOOL === true;

export function factFromItem(item: Item): AppliedFact {
  return {
    customerId: customerOfFactsPk(readS(item, 'pk')!),
    eventId: readS(item, 'eventId')!,
    type: readS(item, 'type')!,
    created: readN(item, 'created')!,
    livemode: item.livemode?.BOOL === true,
    objectId: readS(item, 'objectId')!,
    data: JSON.parse(readS(item, 'data') ?? '{}') as FactData,
    appliedAt: readS(item, 'appliedAt')!,
  };
}

function linkFromItem(item: Item): InvoiceLink {
  return { payment: readS(item, 'payment')!, invoice: readS(item, 'invoice') };
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
  if (record.expiresAt !== null) item.expiresAt = n(record.expiresAt);
  return item;
}

export function overrideFromItem(item: Item): OverrideRecord {
  const mode = readS(item, 'mode');
  return {
    id: readS(item, 'sk')!,
    customerId: idOfKeyPart(readS(item, 'pk')!.slice('OVR#'.length)),
    mode: mode === 'allow' || mode === 'deny' ? (mode as OverrideMode) : null,
    reason: readS(item, 'reason'),
    setAt: readS(item, 'setAt')!,
    expiresAt: readN(item, 'expiresAt'),
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
    accountId: readS(item, 'accountId'),
    links: JSON.parse(readS(item, 'links') ?? '[]') as InvoiceLink[],
    parkedAt: readN(item, 'parkedAt')!,
  };
}

export class FactStore {
  readonly status: StatusWriter;

  constructor(
    private readonly ddb: DynamoDBClient,
    private readonly tableName: string,
    options: StatusWriterOptions,
  ) {
    this.status = new StatusWriter(ddb, tableName, options);
  }

  // -------------------------------------------------------------------------------------
  // Facts and links

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
      const old = (err as { Item?: Item }).Item;
      const stored = old ?? (await this.getItem(factKey(customerId, fact.objectId, fact.eventId)));
      return { outcome: 'duplicate', fact: factFromItem(stored ?? item) };
    }
  }

  /** Records that a payment belongs to an invoice (or, invoice null, to none). Idempotent. */
  async putLink(customerId: string, link: InvoiceLink): Promise<void> {
    const key = linkKey(customerId, link.payment, link.invoice);
    await this.ddb
      .send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...keyOf(key),
            link: { BOOL: true },
            payment: s(link.payment),
            ...(link.invoice === null ? {} : { invoice: s(link.invoice) }),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
      .catch((err: unknown) => {
        if (!isConditionFailure(err)) throw err;
      });
  }

  /** Every fact and link of one object of the customer: one short, strongly consistent Query. */
  async objectFacts(customerId: string, objectId: string): Promise<ObjectFacts> {
    const items = await this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: {
        ':pk': s(factsPk(customerId)),
        ':prefix': s(objectFactsPrefix(objectId)),
      },
      ConsistentRead: true,
    });
    return split(items);
  }

  /** Whether an event was applied for this customer (reconcile's "already seen"). */
  async hasFact(customerId: string, objectId: string, eventId: string): Promise<boolean> {
    return (await this.getItem(factKey(customerId, objectId, eventId), 'pk')) !== null;
  }

  /** Every fact and link of the customer (rebuild and history only: never per event). */
  async allFacts(customerId: string): Promise<ObjectFacts> {
    const items = await this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': s(factsPk(customerId)), ':prefix': s(FACT_SK_PREFIX) },
      ConsistentRead: true,
    });
    return split(items);
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
   * read first, so every fact it reflects is in the facts read here. `now` decides which
   * overrides have expired.
   */
  async history(customerId: string, stored: StoredStatus, now: number): Promise<HistoryEntry[]> {
    const [{ facts }, overrides] = await Promise.all([
      this.allFacts(customerId),
      this.overrides(customerId),
    ]);
    const reflectedUntil = stored.record.lastCommit?.at ?? '';
    return historyOf(
      facts.filter((f) => f.appliedAt <= reflectedUntil),
      overrides,
      now,
    );
  }

  // -------------------------------------------------------------------------------------
  // The billing-status item

  /** The customer's status item, or null when no event or override has named it. */
  readStatus(customerId: string, consistent = true): Promise<StoredStatus | null> {
    return this.status.read(customerId, consistent);
  }

  /** Writes a change into the customer's status item (see StatusWriter). */
  applyToStatus(
    customerId: string,
    change: StatusChange,
    cause: FlipCause,
  ): Promise<StoredStatus | null> {
    return this.status.write(customerId, change, { cause });
  }

  /**
   * Records an operator override and folds it into the status item in one transaction. Null
   * when the customer has no status item and `createRecord` is false (a clear alone does not
   * create a record).
   */
  recordOverride(
    override: OverrideRecord,
    { createRecord }: { createRecord: boolean },
  ): Promise<StoredStatus | null> {
    const state: OverrideState = {
      id: override.id,
      mode: override.mode,
      reason: override.reason,
      setAt: override.setAt,
      expiresAt: override.expiresAt,
    };
    return this.status.writeOverride(override.customerId, overrideItem(override), state, {
      createRecord,
    });
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

  /** Every customer with a status item (rebuild, a policy change), from the rulesVersion index. */
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

  /**
   * The customers whose answer changes with no event by `now` (the due index): a Query of
   * the items due, in due order, never a Scan.
   */
  async dueCustomers(now: number, limit = 200): Promise<string[]> {
    const page = await this.ddb.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: DUE_INDEX,
        KeyConditionExpression: '#p = :p AND #t <= :now',
        ExpressionAttributeNames: {
          '#p': STATUS_ATTR.duePartition,
          '#t': STATUS_ATTR.nextChangeAt,
        },
        ExpressionAttributeValues: { ':p': s(DUE_PARTITION), ':now': n(now) },
        Limit: limit,
      }),
    );
    return (page.Items ?? []).flatMap((i) => customerOfStatusPk(readS(i, 'pk') ?? '') ?? []);
  }

  /**
   * One page of the customers an index lists in a state: `blocked` and `warned` from the
   * trouble index by customer, `grace` from the grace index, nearest deadline first.
   */
  async customersIn(
    state: 'blocked' | 'warned' | 'grace',
    limit: number,
    start: Item | null,
  ): Promise<CustomerPage> {
    const grace = state === 'grace';
    const page = await this.ddb.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: grace ? GRACE_INDEX : TROUBLE_INDEX,
        KeyConditionExpression: '#p = :p',
        ExpressionAttributeNames: {
          '#p': grace ? STATUS_ATTR.gracePartition : STATUS_ATTR.trouble,
        },
        ExpressionAttributeValues: { ':p': s(grace ? GRACE_PARTITION : state) },
        Limit: limit,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    return {
      customerIds: (page.Items ?? []).flatMap(
        (i) => customerOfStatusPk(readS(i, 'pk') ?? '') ?? [],
      ),
      next: page.LastEvaluatedKey ?? null,
    };
  }

  /** Several customers' status items (a listing's page), in the order asked; absent ones left out. */
  async readStatuses(customerIds: readonly string[]): Promise<Map<string, StoredStatus>> {
    const found = new Map<string, StoredStatus>();
    for (let i = 0; i < customerIds.length; i += 100) {
      let request: Item[] = customerIds.slice(i, i + 100).map((id) => keyOf(statusKey(id)));
      while (request.length > 0) {
        const got = await this.ddb.send(
          new BatchGetItemCommand({
            RequestItems: { [this.tableName]: { Keys: request, ConsistentRead: true } },
          }),
        );
        for (const item of got.Responses?.[this.tableName] ?? []) {
          const customerId = customerOfStatusPk(readS(item, 'pk') ?? '');
          if (!customerId) continue;
          found.set(customerId, decodeStatusItem(item));
        }
        request = (got.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Item[];
      }
    }
    return found;
  }

  // -------------------------------------------------------------------------------------
  // The settings item: the policy and warning window every reader of the table evaluates by.

  async readSettings(): Promise<StoredSettings | null> {
    const item = await this.getItem(SETTINGS_KEY);
    return item ? decodeSettingsItem(item) : null;
  }

  /** Writes the settings item (the deployment's own settings, at start-up or after a change). */
  async writeSettings(settings: StoredSettings): Promise<void> {
    await this.ddb.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: { ...keyOf(SETTINGS_KEY), ...encodeSettingsItem(settings) },
      }),
    );
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
    if (event.accountId) item.accountId = s(event.accountId);
    if (event.links && event.links.length > 0) item.links = s(JSON.stringify(event.links));
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

/** A fact partition's items as facts and links. */
function split(items: readonly Item[]): ObjectFacts {
  const facts: AppliedFact[] = [];
  const links: InvoiceLink[] = [];
  for (const item of items) {
    if (isLinkItem(item)) links.push(linkFromItem(item));
    else facts.push(factFromItem(item));
  }
  return { facts, links };
}
