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

import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { FactStore, factItem } from '../../lambdas/adapters/fact-store';
import { applyEvent } from '../../lambdas/processor/apply-event';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { LOCAL_AWS } from '../local/local-aws';
import type { Dataset } from './dataset';
import { meterDiff, meterWeighted, meteredClient, type Meter } from './ddb-meter';
import { FAILED_HOUR_EVERY, appliedAtOf, billedHour, factOf } from './history';
import { storeOptions } from '../../lambdas/settings';

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
  const rows: ApplyRow[] = [];
  try {
    for (const { size, customerId, lastCreated } of data.customers) {
      const hourAfter = (n: number) => lastCreated + n * 3600;

      // New design, through the processors' use case.
      const apply = async (events: readonly StripeEvent[], byType?: Map<string, Meter>) => {
        const before = metered.snapshot();
        for (const e of events) {
          const one = metered.snapshot();
          const result = await applyEvent(JSON.stringify(e), e.type, deps);
          if (result.outcome !== 'applied' && result.outcome !== 'duplicate') {
            throw new Error(`${e.type} was ${result.outcome}`);
          }
          byType?.set(e.type, meterDiff(one, metered.snapshot()));
        }
        return meterDiff(before, metered.snapshot());
      };
      const plain = billedHour(customerId, hourAfter(1), false);
      const failing = billedHour(customerId, hourAfter(2), true);
      const newByType = new Map<string, Meter>();
      const newFirst = weights(await apply(plain, newByType), await apply(failing, newByType));
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

      rows.push({ size, oldFirst, oldDuplicate, newFirst, newDuplicate, newByType });
    }
  } finally {
    metered.ddb.destroy();
  }
  return rows;
}
