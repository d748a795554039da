// Section 4: what applying one event costs in DynamoDB at each history size, old design and
// new side by side, the notifier's share included.
//
// New: the processors' own use case (`applyEvent`) on a client that counts calls and
// units. Old (the first version): one conditional PutItem of the fact, 2 write units for the
// facts its `byRef` index held (PaymentIntent, charge and payment-method events), and per
// stream batch the notifier's strongly consistent Query of the customer's whole partition;
// replayed here on the same data, the index write added by count since today's table has no
// such index. Events are one billed hour (charge + PaymentIntent) and one hour whose first
// attempt fails (4 events), weighted as in the history: one failing hour a day.
//
// Around each new-design event the status item is read (unmetered) before and after, to count
// the events whose write changed nothing but the attributes recording the last event
// (lastEventId / updatedAt): what redefining those as the last change of the status would save.

import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { FactStore, factItem } from '../../lambdas/adapters/fact-store';
import { applyEvent } from '../../lambdas/processor/apply-event';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { LOCAL_AWS } from '../local/local-aws';
import type { Dataset } from './dataset';
import { meterDiff, meterWeighted, meteredClient, type Meter } from './ddb-meter';
import { FAILED_HOUR_EVERY, appliedAtOf, billedHour, factOf } from './history';
import { storeOptions } from '../../lambdas/settings';
import { STATUS_ATTR, statusKey } from '../../lambdas/adapters/table-layout';

/** Event types whose fact the first version's `byRef` index held (one more write unit). */
const OLD_BYREF_KINDS = /^(payment_intent|charge|payment_method)\./;

export interface ApplyRow {
  readonly size: number;
  /** Per event, weighted by the history's mix. */
  readonly oldFirst: Meter;
  readonly oldDuplicate: Meter;
  readonly newFirst: Meter;
  readonly newDuplicate: Meter;
  /** Per event type, new design, first delivery (unweighted, one event each). */
  readonly newByType: ReadonlyMap<string, Meter>;
  /** New design, first delivery: the status writes that changed only the last-event record. */
  readonly lastEventOnly: LastEventOnly;
}

/**
 * Per event of the weighted mix: the share of events whose status-item write changed nothing
 * but the attributes recording the last event, and the write units those writes cost.
 */
export interface LastEventOnly {
  readonly share: number;
  /** Status-item write units (table and indexes) of those events, per event of the mix. */
  readonly writeUnits: number;
  /** Their status-item GetItem read units, per event of the mix. */
  readonly readUnits: number;
}

/**
 * Attributes that only record the last event (lastEventId / updatedAt, and the last Stripe
 * event's id and time); with them, those of the write itself (its version, and the flip marker
 * every write removes) are ignored. The last Stripe event's livemode is compared apart: it is
 * part of the status.
 */
export const LAST_EVENT_ATTR_NAMES: readonly string[] = [
  STATUS_ATTR.lastCommit,
  STATUS_ATTR.lastCommitAt,
  STATUS_ATTR.lastCommitId,
  STATUS_ATTR.lastStripe,
  STATUS_ATTR.lastStripeAt,
  STATUS_ATTR.lastStripeId,
];
const LAST_EVENT_ATTRS: ReadonlySet<string> = new Set([
  ...LAST_EVENT_ATTR_NAMES,
  STATUS_ATTR.version,
  STATUS_ATTR.flip,
]);

/** An attribute value as text with map keys sorted, so equal values compare equal. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

const livemodeOf = (item: Record<string, AttributeValue> | undefined) => {
  const raw = item?.[STATUS_ATTR.lastStripe]?.S;
  return raw ? (JSON.parse(raw) as unknown[])[2] : undefined;
};

/** Whether `after` differs from `before` only in the attributes recording the last event. */
export function changedOnlyLastEvent(
  before: Record<string, AttributeValue> | undefined,
  after: Record<string, AttributeValue> | undefined,
): boolean {
  if (!before || !after) return false;
  if (livemodeOf(before) !== livemodeOf(after)) return false;
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const name of names) {
    if (LAST_EVENT_ATTRS.has(name)) continue;
    const a = before[name];
    const b = after[name];
    if (a === undefined || b === undefined || canonical(a) !== canonical(b)) return false;
  }
  return true;
}

/** Per event over one day: (hours - 1) plain hours of 2 events, one failing hour of 4. */
const DAY_EVENTS = (FAILED_HOUR_EVERY - 1) * 2 + 4;
const weights = (plain: Meter, failing: Meter) =>
  meterWeighted([
    { meter: plain, weight: (FAILED_HOUR_EVERY - 1) / DAY_EVENTS },
    { meter: failing, weight: 1 / DAY_EVENTS },
  ]);

export async function measureApplyCost(data: Dataset): Promise<ApplyRow[]> {
  const metered = meteredClient({ ...LOCAL_AWS, endpoint: data.endpoint });
  const store = new FactStore(metered.ddb, data.tableName, storeOptions());
  const deps = { store, stripe: null, clock: () => new Date() };
  // Reads the status item around each event without counting it.
  const unmetered = new DynamoDBClient({ ...LOCAL_AWS, endpoint: data.endpoint });
  const rows: ApplyRow[] = [];
  try {
    for (const { size, customerId, lastCreated } of data.customers) {
      const hourAfter = (n: number) => lastCreated + n * 3600;

      const statusItem = async () => {
        const k = statusKey(customerId);
        const got = await unmetered.send(
          new GetItemCommand({
            TableName: data.tableName,
            Key: { pk: { S: k.pk }, sk: { S: k.sk } },
            ConsistentRead: true,
          }),
        );
        return got.Item;
      };
      // Per pass: events whose status write changed only the last-event record, and its units.
      const unchanged = { events: 0, writeUnits: 0, readUnits: 0 };

      // New design, through the processors' use case.
      const apply = async (events: readonly StripeEvent[], byType?: Map<string, Meter>) => {
        const before = metered.snapshot();
        for (const e of events) {
          const itemBefore = byType ? await statusItem() : undefined;
          const one = metered.snapshot();
          const result = await applyEvent(JSON.stringify(e), e.type, deps);
          if (result.outcome !== 'applied' && result.outcome !== 'duplicate') {
            throw new Error(`${e.type} was ${result.outcome}`);
          }
          const m = meterDiff(one, metered.snapshot());
          byType?.set(e.type, m);
          if (byType && changedOnlyLastEvent(itemBefore, await statusItem())) {
            unchanged.events += 1;
            unchanged.writeUnits += (m.writesByFamily['STATUS#'] ?? 0) + m.indexWriteUnits;
            unchanged.readUnits += m.readsByFamily['STATUS#'] ?? 0;
          }
        }
        return meterDiff(before, metered.snapshot());
      };
      const plain = billedHour(customerId, hourAfter(1), false);
      const failing = billedHour(customerId, hourAfter(2), true);
      const newByType = new Map<string, Meter>();
      const plainFirst = await apply(plain, newByType);
      const plainUnchanged = { ...unchanged };
      Object.assign(unchanged, { events: 0, writeUnits: 0, readUnits: 0 });
      const newFirst = weights(plainFirst, await apply(failing, newByType));
      const mix = (k: keyof typeof unchanged) =>
        ((FAILED_HOUR_EVERY - 1) * plainUnchanged[k] + unchanged[k]) / DAY_EVENTS;
      const lastEventOnly: LastEventOnly = {
        share: mix('events'),
        writeUnits: mix('writeUnits'),
        readUnits: mix('readUnits'),
      };
      const newDuplicate = weights(await apply(plain), await apply(failing));

      // Old design, replayed: the conditional fact write, then the notifier's Query.
      const replay = async (events: readonly StripeEvent[], duplicate: boolean) => {
        const before = metered.snapshot();
        for (const e of events) {
          const fact = factOf(e);
          try {
            await metered.ddb.send(
              new PutItemCommand({
                TableName: data.tableName,
                Item: factItem(customerId, fact, appliedAtOf(fact)),
                ConditionExpression: 'attribute_not_exists(pk)',
              }),
            );
          } catch (err) {
            if ((err as Error).name !== 'ConditionalCheckFailedException' || !duplicate) throw err;
            continue; // no stream record: the notifier does nothing
          }
          if (OLD_BYREF_KINDS.test(e.type)) metered.meter.indexWriteUnits += 1;
          await store.allFacts(customerId);
        }
        return meterDiff(before, metered.snapshot());
      };
      const oldPlain = billedHour(customerId, hourAfter(3), false);
      const oldFailing = billedHour(customerId, hourAfter(4), true);
      const oldFirst = weights(await replay(oldPlain, false), await replay(oldFailing, false));
      const oldDuplicate = weights(await replay(oldPlain, true), await replay(oldFailing, true));

      rows.push({
        size,
        oldFirst,
        oldDuplicate,
        newFirst,
        newDuplicate,
        newByType,
        lastEventOnly,
      });
    }
  } finally {
    metered.ddb.destroy();
    unmetered.destroy();
  }
  return rows;
}
