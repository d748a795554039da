// A processor's batch against DynamoDB Local: each event's fact is committed on its own, each
// customer's status item written once with the merged changes of its events of the batch,
// and a failure fails only the events of the customer it struck (docs/behaviour.md#guarantees).
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Message } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { describe, expect, inject, it } from 'vitest';
import { buildEvent } from '../../bin/events/stripe-events';
import { LOCAL_AWS } from '../../bin/local/emulators';
import { toSqsRecord } from '../../bin/local/pipeline';
import type { QueuePair } from '../../bin/local/provision';
import { makeDynamoClient } from '../../lambdas/adapters/dynamo-client';
import { FactStore } from '../../lambdas/adapters/fact-store';
import { MESSAGE_ATTRIBUTES } from '../../lambdas/adapters/queue-layout';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { makeProcessorHandler } from '../../lambdas/processor/make-processor';
import { storeOptions } from '../../lambdas/settings';
import { derivedStatus, factIds, freshTable, itemStatus } from '../support/local-stack';
import { testLogger, testMetrics } from '../support/telemetry';

const TYPE = 'invoice.payment_failed';
const QUEUE: QueuePair = {
  type: TYPE,
  queueUrl: 'http://127.0.0.1:1/000000000000/batch',
  dlqUrl: 'http://127.0.0.1:1/000000000000/batch-dlq',
  queueArn: 'arn:aws:sqs:us-east-1:000000000000:batch',
  dlqArn: 'arn:aws:sqs:us-east-1:000000000000:batch-dlq',
};

/** What the store's client sent to one customer's status item. */
interface Writes {
  /** UpdateItems of the item's parts (those answering with the whole new item). */
  partWrites: Map<string, number>;
  /** Customers whose next part write fails (reset before it reaches DynamoDB). */
  failing: Set<string>;
}

function instrumentedStore(tableName: string, writes: Writes): FactStore {
  const ddb = makeDynamoClient({ ...LOCAL_AWS, endpoint: inject('dynamoEndpoint') });
  ddb.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Key?: Record<string, AttributeValue>; ReturnValues?: string };
      const pk = input.Key?.pk?.S ?? '';
      if (
        context.commandName === 'UpdateItemCommand' &&
        pk.startsWith('STATUS#') &&
        input.ReturnValues === 'ALL_NEW'
      ) {
        const customer = pk.slice('STATUS#'.length);
        writes.partWrites.set(customer, (writes.partWrites.get(customer) ?? 0) + 1);
        if (writes.failing.has(customer)) throw new Error(`injected: ${customer} unreachable`);
      }
      return next(args);
    },
    { step: 'initialize', name: 'countStatusWrites' },
  );
  return new FactStore(ddb, tableName, storeOptions());
}

const record = (event: StripeEvent | string, id: string) => {
  const message: Message = {
    MessageId: id,
    Body: typeof event === 'string' ? event : JSON.stringify(event),
    MessageAttributes: {
      [MESSAGE_ATTRIBUTES.eventId]: {
        DataType: 'String',
        StringValue: typeof event === 'string' ? id : event.id,
      },
    },
  };
  return toSqsRecord(message, QUEUE);
};

const failedInvoice = (customer: string, invoice: string, created: number) =>
  buildEvent(TYPE, {
    customer,
    invoiceId: invoice,
    created,
    attemptCount: 4,
    nextPaymentAttempt: null,
  });

async function setUp() {
  const { tableName } = await freshTable();
  const writes: Writes = { partWrites: new Map(), failing: new Set() };
  const store = instrumentedStore(tableName, writes);
  const processor = makeProcessorHandler({
    eventType: TYPE,
    store,
    stripe: null,
    clock: () => new Date(),
    logger: testLogger,
    metrics: testMetrics,
  });
  return { store, writes, processor };
}

describe('a processor batch', () => {
  it("writes each customer's status item once for all its events of the batch", async () => {
    const { store, writes, processor } = await setUp();
    const now = Math.floor(Date.now() / 1000);
    const events = [
      failedInvoice('cus_BatchOne', 'in_One1', now - 30),
      failedInvoice('cus_BatchOne', 'in_One2', now - 20),
      failedInvoice('cus_BatchOne', 'in_One3', now - 10),
      failedInvoice('cus_BatchTwo', 'in_Two1', now - 5),
    ];
    // The same invoice failing again, and one event delivered twice in the batch.
    events.push(failedInvoice('cus_BatchOne', 'in_One1', now - 1), events[1]!);
    const batch: SQSEvent = { Records: events.map((e, i) => record(e, `m${i}`)) };

    expect(await processor(batch)).toEqual({ batchItemFailures: [] });

    expect(writes.partWrites.get('cus_BatchOne')).toBe(1);
    expect(writes.partWrites.get('cus_BatchTwo')).toBe(1);
    expect(await factIds(store, 'cus_BatchOne')).toEqual(
      events
        .slice(0, 5)
        .filter((e) => e.data.object.customer === 'cus_BatchOne')
        .map((e) => e.id)
        .sort(),
    );
    for (const customer of ['cus_BatchOne', 'cus_BatchTwo']) {
      const at = new Date();
      const status = await itemStatus(store, customer, at);
      expect(status).toEqual(await derivedStatus(store, customer, at));
      expect(status?.canAllocate).toBe(false);
    }
    const one = await itemStatus(store, 'cus_BatchOne');
    expect(one?.blockers.map((b) => b.objectId).sort()).toEqual(['in_One1', 'in_One2', 'in_One3']);
    // The last commit is the batch's latest event of that customer.
    expect(one?.lastEventId).toBe((await derivedStatus(store, 'cus_BatchOne'))?.lastEventId);
  });

  it('fails only the events of the customer whose status write failed, and a redelivery mends it', async () => {
    const { store, writes, processor } = await setUp();
    const now = Math.floor(Date.now() / 1000);
    const ok = failedInvoice('cus_BatchFine', 'in_Fine1', now - 3);
    const struck = [
      failedInvoice('cus_BatchStruck', 'in_Struck1', now - 2),
      failedInvoice('cus_BatchStruck', 'in_Struck2', now - 1),
    ];
    const batch: SQSEvent = {
      Records: [
        record(ok, 'fine'),
        record(struck[0]!, 'struck-0'),
        record(struck[1]!, 'struck-1'),
        record('{not json', 'garbled'),
      ],
    };
    writes.failing.add('cus_BatchStruck');

    const answer = await processor(batch);
    expect(answer.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual([
      'garbled',
      'struck-0',
      'struck-1',
    ]);
    // The other customer's events applied in full; the struck ones kept their facts.
    expect((await itemStatus(store, 'cus_BatchFine'))?.canAllocate).toBe(false);
    expect(await factIds(store, 'cus_BatchStruck')).toEqual(struck.map((e) => e.id).sort());
    expect(await itemStatus(store, 'cus_BatchStruck')).toBeNull();

    // SQS redelivers the two failed events: duplicates now, and the item is brought up to date.
    writes.failing.clear();
    const again = await processor({
      Records: [record(struck[0]!, 'struck-0'), record(struck[1]!, 'struck-1')],
    });
    expect(again).toEqual({ batchItemFailures: [] });
    const at = new Date();
    const status = await itemStatus(store, 'cus_BatchStruck', at);
    expect(status).toEqual(await derivedStatus(store, 'cus_BatchStruck', at));
    expect(status?.blockers.map((b) => b.objectId).sort()).toEqual(['in_Struck1', 'in_Struck2']);
  });
});
