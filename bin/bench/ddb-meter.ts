// A DynamoDB client that counts what it costs: calls per operation, and the read and write
// units DynamoDB reports (ReturnConsumedCapacity INDEXES on every call, so index writes show
// apart from the table's). DynamoDB Local reports capacity like DynamoDB does, except on a
// failed conditional write, which it reports nothing for while AWS bills it (1 write unit
// for the items of this table, all under 1 KB): those are counted here as 1 unit each. It
// also reports nothing for a Query, Scan or GetItem that finds nothing, which AWS bills at
// the minimum of a read request: those minimums are kept apart (emptyReadMinimum).

import {
  DynamoDBClient,
  type ConsumedCapacity,
  type DynamoDBClientConfig,
} from '@aws-sdk/client-dynamodb';
import { STATUS_ATTR, STATUS_SK } from '../../lambdas/adapters/table-layout';

export interface Meter {
  /** Calls per operation name (`GetItem`, `Query`, ...). */
  calls: Record<string, number>;
  /** Read units, table and indexes. */
  readUnits: number;
  /** Write units of the table, failed conditional writes included. */
  writeUnits: number;
  /** Write units of the indexes (a GSI write is billed like a table write). */
  indexWriteUnits: number;
  /** The same by index name. */
  indexWritesByIndex: Record<string, number>;
  /**
   * Read units DynamoDB Local reported none for, at AWS's minimum of a read request: a
   * Query, Scan or GetItem that found nothing, 0.5 eventually consistent (every index read),
   * 1 strongly consistent. Not in readUnits.
   */
  emptyReadMinimum: number;
  /** Conditional writes that failed (each counted as 1 write unit above). */
  failedConditions: number;
  /** Status-item writes that changed canAllocate (they reach the notifier). */
  flips: number;
  /** Table write units by item family (the partition key's prefix: `CUS#`, `STATUS#`, ...). */
  writesByFamily: Record<string, number>;
  /** Read units by item family. */
  readsByFamily: Record<string, number>;
}

const emptyMeter = (): Meter => ({
  calls: {},
  readUnits: 0,
  writeUnits: 0,
  indexWriteUnits: 0,
  indexWritesByIndex: {},
  emptyReadMinimum: 0,
  failedConditions: 0,
  flips: 0,
  writesByFamily: {},
  readsByFamily: {},
});

/** The item family a call touches: its partition key's prefix (`CUS#`, `STATUS#`, `REF#`, ...). */
function familyOf(input: Record<string, unknown>): string {
  type Attr = { S?: string } | undefined;
  const item = input.Item as Record<string, Attr> | undefined;
  const key = input.Key as Record<string, Attr> | undefined;
  const values = input.ExpressionAttributeValues as Record<string, Attr> | undefined;
  const batch = Object.values(
    (input.RequestItems as Record<string, { Keys?: Record<string, Attr>[] }> | undefined) ?? {},
  )[0]?.Keys?.[0];
  const pk = item?.pk?.S ?? key?.pk?.S ?? values?.[':pk']?.S ?? batch?.pk?.S;
  if (input.IndexName) return `index ${String(input.IndexName)}`;
  return pk ? pk.slice(0, pk.indexOf('#') + 1) || pk : 'other';
}

const add = (into: Record<string, number>, key: string, n: number) => {
  if (n) into[key] = (into[key] ?? 0) + n;
};

/** An UpdateItem of a status item that sets `flip` (every write removes it; a flip sets it). */
function setsFlip(input: Record<string, unknown>): boolean {
  const key = input.Key as Record<string, { S?: string }> | undefined;
  if (key?.sk?.S !== STATUS_SK) return false;
  const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const placeholder = Object.keys(names).find((p) => names[p] === STATUS_ATTR.flip);
  const expression = String(input.UpdateExpression ?? '');
  const set = expression.match(/^SET (.*?)(?= ADD | REMOVE |$)/)?.[1] ?? '';
  return placeholder !== undefined && set.includes(`${placeholder} =`);
}

const WRITES = /^(PutItem|UpdateItem|DeleteItem|BatchWriteItem|TransactWriteItems)$/;
/** Reads of one request that AWS bills at least a minimum for, even when they find nothing. */
const SINGLE_READS = /^(GetItem|Query|Scan)$/;

export interface MeteredClient {
  readonly ddb: DynamoDBClient;
  readonly meter: Meter;
  /** A copy of the counters now. */
  snapshot(): Meter;
}

/** A DynamoDB client whose every call is counted into `meter`. */
export function meteredClient(config: DynamoDBClientConfig): MeteredClient {
  const ddb = new DynamoDBClient(config);
  const meter = emptyMeter();
  const addCapacity = (op: string, family: string, consumed: ConsumedCapacity | undefined) => {
    if (!consumed) return;
    let indexUnits = 0;
    const byIndex: Record<string, number> = {};
    for (const [name, index] of Object.entries(consumed.GlobalSecondaryIndexes ?? {})) {
      const n = index.CapacityUnits ?? index.WriteCapacityUnits ?? 0;
      indexUnits += n;
      byIndex[name] = n;
    }
    const total = consumed.CapacityUnits ?? 0;
    const table = consumed.Table?.CapacityUnits ?? total - indexUnits;
    if (WRITES.test(op)) {
      meter.writeUnits += table;
      meter.indexWriteUnits += indexUnits;
      for (const [name, n] of Object.entries(byIndex)) add(meter.indexWritesByIndex, name, n);
      add(meter.writesByFamily, family, table);
    } else {
      meter.readUnits += table + indexUnits;
      add(meter.readsByFamily, family, table + indexUnits);
    }
  };
  ddb.middlewareStack.add(
    (next, context) => async (args) => {
      const op = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      const input = args.input as Record<string, unknown>;
      input.ReturnConsumedCapacity = 'INDEXES';
      const family = familyOf(input);
      meter.calls[op] = (meter.calls[op] ?? 0) + 1;
      try {
        const result = await next(args);
        const consumed = (result.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
        for (const c of (Array.isArray(consumed) ? consumed : [consumed]) as ConsumedCapacity[]) {
          addCapacity(op, family, c);
        }
        const reported = (consumed as ConsumedCapacity | undefined)?.CapacityUnits ?? 0;
        if (SINGLE_READS.test(op) && !Array.isArray(consumed) && reported === 0) {
          meter.emptyReadMinimum += input.ConsistentRead === true && !input.IndexName ? 1 : 0.5;
        }
        const item = input.Item as Record<string, { S?: string }> | undefined;
        if (op === 'PutItem' && item?.sk?.S === STATUS_SK && item[STATUS_ATTR.flip]) {
          meter.flips += 1;
        }
        if (op === 'UpdateItem' && setsFlip(input)) meter.flips += 1;
        return result;
      } catch (err) {
        if ((err as Error).name === 'ConditionalCheckFailedException') {
          meter.failedConditions += 1;
          meter.writeUnits += 1;
          add(meter.writesByFamily, family, 1);
        }
        throw err;
      }
    },
    { step: 'initialize', name: 'benchMeter' },
  );
  return { ddb, meter, snapshot: () => structuredClone(meter) };
}

/** What happened between two snapshots, divided by `per` (e.g. per event). */
function recordDiff(a: Record<string, number>, b: Record<string, number>, per: number) {
  const out: Record<string, number> = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const d = (b[k] ?? 0) - (a[k] ?? 0);
    if (d) out[k] = d / per;
  }
  return out;
}

export function meterDiff(before: Meter, after: Meter, per = 1): Meter {
  return {
    calls: recordDiff(before.calls, after.calls, per),
    writesByFamily: recordDiff(before.writesByFamily, after.writesByFamily, per),
    readsByFamily: recordDiff(before.readsByFamily, after.readsByFamily, per),
    readUnits: (after.readUnits - before.readUnits) / per,
    writeUnits: (after.writeUnits - before.writeUnits) / per,
    indexWriteUnits: (after.indexWriteUnits - before.indexWriteUnits) / per,
    indexWritesByIndex: recordDiff(before.indexWritesByIndex, after.indexWritesByIndex, per),
    emptyReadMinimum: (after.emptyReadMinimum - before.emptyReadMinimum) / per,
    failedConditions: (after.failedConditions - before.failedConditions) / per,
    flips: (after.flips - before.flips) / per,
  };
}

/** Sum of several measurements, each weighted (weights need not add up to 1). */
export function meterWeighted(parts: readonly { meter: Meter; weight: number }[]): Meter {
  const sum = emptyMeter();
  for (const { meter, weight } of parts) {
    for (const [op, n] of Object.entries(meter.calls)) add(sum.calls, op, n * weight);
    for (const [f, n] of Object.entries(meter.writesByFamily))
      add(sum.writesByFamily, f, n * weight);
    for (const [f, n] of Object.entries(meter.readsByFamily)) add(sum.readsByFamily, f, n * weight);
    sum.readUnits += meter.readUnits * weight;
    sum.writeUnits += meter.writeUnits * weight;
    sum.indexWriteUnits += meter.indexWriteUnits * weight;
    for (const [i, n] of Object.entries(meter.indexWritesByIndex))
      add(sum.indexWritesByIndex, i, n * weight);
    sum.emptyReadMinimum += meter.emptyReadMinimum * weight;
    sum.failedConditions += meter.failedConditions * weight;
    sum.flips += meter.flips * weight;
  }
  return sum;
}

/** Read units as AWS bills them: those reported, and the minimum of reads that found nothing. */
export const billedReadUnits = (m: Meter) => m.readUnits + m.emptyReadMinimum;

export const totalCalls = (m: Meter) => Object.values(m.calls).reduce((a, b) => a + b, 0);

/** `1 PutItem + 0.5 GetItem`, in a fixed order of operations. */
export function formatCalls(m: Meter, digits = 2): string {
  const order = [
    'PutItem',
    'UpdateItem',
    'DeleteItem',
    'GetItem',
    'BatchGetItem',
    'Query',
    'BatchWriteItem',
    'TransactWriteItems',
  ];
  const ops = Object.keys(m.calls).sort(
    (a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99),
  );
  const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(digits));
  return ops.map((op) => `${fmt(m.calls[op]!)} ${op}`).join(' + ') || 'none';
}
