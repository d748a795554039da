// No customer can wedge its status (docs/behaviour.md#hostile-and-busy-customers), against
// DynamoDB Local: card testing attaches thousands of cards to one customer (10,000 at full
// size); a long run of failures leaves PaymentIntents open by the thousand (5,000 at full size),
// with ids of 255 characters. After each, the status item is
// still under DynamoDB's 400 KB and says the rest in its summary, a new failure blocks, an
// override sets and clears, a rebuild succeeds and reconcile sees every event applied. A write
// DynamoDB refuses for its size fails loudly and the customer is answered from its facts.
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2, SQSEvent } from 'aws-lambda';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { LOCAL_AWS } from '../../bin/local/emulators';
import { buildEvent, stripeId } from '../../bin/events/stripe-events';
import { verdictFor } from '../../bin/reconcile';
import { FactStore } from '../../lambdas/adapters/fact-store';
import { statusKey } from '../../lambdas/adapters/table-layout';
import type { BillingStatus } from '../../lambdas/core/facts';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { applyEvent } from '../../lambdas/processor/apply-event';
import { rebuildCustomer } from '../../lambdas/rebuild/rebuild-status';
import { METRICS } from '../../lambdas/core/metric-names';
import type { Metrics } from '../../lambdas/observability';
import { makeProcessorHandler } from '../../lambdas/processor/make-processor';
import { DEFAULT_GATE_SETTINGS, storeOptions } from '../../lambdas/settings';
import { makeStatusApiHandler } from '../../lambdas/status-api/make-status-api';
import { derivedStatus, freshTable, itemStatus } from '../support/local-stack';
import { testLogger } from '../support/telemetry';

/**
 * How many cards and open PaymentIntents the runs use. `npm test` uses sizes well past every
 * summary bound (100 methods, 60 payments) that fit its time on two cores; `.ci/run` runs the
 * full sizes too (HOSTILE_CARDS=10000 HOSTILE_INTENTS=5000, about 5 minutes on two cores).
 */
const CARDS = Number(process.env.HOSTILE_CARDS ?? 1_500);
const FAILED_INTENTS = Number(process.env.HOSTILE_INTENTS ?? 600);
const LONG = 255;

let store: FactStore;
let ddb: DynamoDBClient;
let tableName: string;

beforeAll(async () => {
  ({ store, ddb, tableName } = await freshTable());
});

const deps = () => ({ store, stripe: null, clock: () => new Date() });
const apply = (e: StripeEvent) => applyEvent(JSON.stringify(e), e.type, deps());

/** Applies events `concurrency` at a time, as several processors would. */
async function applyAll(events: readonly StripeEvent[], concurrency = 16): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < events.length) {
      const e = events[next++]!;
      const result = await apply(e);
      expect(['applied', 'duplicate']).toContain(result.outcome);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** The stored status item's size as DynamoDB counts it: attribute names and values, in bytes. */
async function itemBytes(customerId: string): Promise<number> {
  const key = statusKey(customerId);
  const got = await ddb.send(
    new GetItemCommand({ TableName: tableName, Key: { pk: { S: key.pk }, sk: { S: key.sk } } }),
  );
  let bytes = 0;
  for (const [name, value] of Object.entries(got.Item ?? {})) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(JSON.stringify(value));
  }
  return bytes;
}

/** The SQS batch Lambda would hand a processor for one event. */
const sqsEventOf = (e: StripeEvent): SQSEvent => ({
  Records: [
    {
      messageId: `m-${e.id}`,
      receiptHandle: 'r',
      body: JSON.stringify(e),
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: '0',
        SenderId: 'test',
        ApproximateFirstReceiveTimestamp: '0',
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:test',
      awsRegion: 'us-east-1',
    },
  ],
});

/** An id of exactly `length` characters. */
const longId = (prefix: string, n: number, length = LONG) =>
  `${prefix}_${String(n).padStart(8, '0')}`.padEnd(length, 'x');

const api = () =>
  makeStatusApiHandler({
    store,
    settings: DEFAULT_GATE_SETTINGS,
    clock: () => new Date(),
    logger: testLogger,
    trustActorHeader: true,
  });

async function call(method: string, path: string, body?: unknown) {
  const event = {
    rawPath: path,
    requestContext: { http: { method } },
    headers: {},
    isBase64Encoded: false,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  } as unknown as APIGatewayProxyEventV2;
  const res = await api()(event);
  return { status: res.statusCode, body: JSON.parse(res.body ?? 'null') as BillingStatus };
}

/** The checks every wedging attempt must pass afterwards. */
async function stillAnswers(customerId: string, events: readonly StripeEvent[]) {
  // The item answers, under the limit, and says what the full derivation says.
  expect(await itemBytes(customerId)).toBeLessThan(350_000);
  const stored = await store.readStatus(customerId);
  expect(stored?.oversize).toBe(false);

  // A new failure blocks, with its reason listed.
  const invoice = buildEvent('invoice.payment_failed', {
    customer: customerId,
    object: { id: stripeId('in') },
  });
  expect((await apply(invoice)).outcome).toBe('applied');
  const blocked = await itemStatus(store, customerId);
  expect(blocked?.canAllocate).toBe(false);
  expect(blocked?.blockers.map((b) => b.objectId)).toContain(invoice.data.object.id);

  // An override sets and clears.
  const allowed = await call('PUT', `/customers/${customerId}/override`, {
    mode: 'allow',
    reason: 'card testing under review',
  });
  expect(allowed.status).toBe(200);
  expect(allowed.body.canAllocate).toBe(true);
  const cleared = await call('DELETE', `/customers/${customerId}/override`);
  expect(cleared.status).toBe(200);
  expect(cleared.body.canAllocate).toBe(false);

  // The rebuild succeeds and leaves an item that says the same, still under the limit.
  const before = await itemStatus(store, customerId);
  const outcome = await rebuildCustomer(store, customerId, {
    settings: DEFAULT_GATE_SETTINGS,
    clock: Date.now,
  });
  expect(['rebuilt', 'unchanged']).toContain(outcome);
  expect(await itemBytes(customerId)).toBeLessThan(350_000);
  const after = await itemStatus(store, customerId);
  expect(after?.canAllocate).toBe(before?.canAllocate);
  expect(after?.summary).toEqual(before?.summary);

  // Reconcile sees every event applied: none would be queued again.
  const sample = [events[0]!, events[Math.floor(events.length / 2)]!, events.at(-1)!, invoice];
  for (const e of sample) {
    expect(await verdictFor(e, store, null as never)).toBe('applied');
  }
  return after!;
}

describe('a customer no history can wedge', () => {
  it(`keeps the status of a customer with ${CARDS.toLocaleString('en-US')} attached cards under the item limit`, async () => {
    // Prepare
    const customer = stripeId('cus');
    const created = Math.floor(Date.now() / 1000) - 3600;
    const cards = Array.from({ length: CARDS }, (_, i) =>
      buildEvent('payment_method.attached', {
        customer,
        created: created + (i % 3000),
        object: {
          id: `pm_card${String(i).padStart(6, '0')}`,
          card: {
            brand: 'visa',
            last4: String(1000 + (i % 9000)),
            exp_month: 1 + (i % 12),
            exp_year: 2030 + (i % 5),
          },
        },
      }),
    );

    // Act
    await applyAll(cards);

    // Assess: every card counted, the listed ones shown, nothing blocks yet.
    const status = await itemStatus(store, customer);
    expect(status?.canAllocate).toBe(true);
    const listed = status!.paymentMethods.length;
    const summarised = Object.values(status!.summary?.paymentMethods ?? {}).reduce(
      (a, b) => a + b,
      0,
    );
    expect(listed + summarised).toBe(CARDS);
    expect(listed).toBeLessThan(CARDS);
    const after = await stillAnswers(customer, cards);
    expect(after.blockers.map((b) => b.reason)).toEqual(['payment_failed']);
  }, 1_200_000);

  it(`keeps the status of a customer with ${FAILED_INTENTS.toLocaleString('en-US')} open failed PaymentIntents of ${LONG}-character ids exact`, async () => {
    // Prepare
    const customer = stripeId('cus');
    const created = Math.floor(Date.now() / 1000) - 7200;
    const failures = Array.from({ length: FAILED_INTENTS }, (_, i) =>
      buildEvent('payment_intent.payment_failed', {
        customer,
        created: created + i,
        id: longId('evt', i),
        object: { id: longId('pi', i) },
      }),
    );

    // Act
    await applyAll(failures);

    // Assess: blocked, the earliest failure's moment kept, every PaymentIntent counted.
    const status = await itemStatus(store, customer);
    expect(status?.canAllocate).toBe(false);
    const listed = status!.blockers.filter((b) => b.reason === 'payment_failed').length;
    const summarised = status!.summary?.blockers.find((b) => b.reason === 'payment_failed');
    expect(listed + (summarised?.count ?? 0)).toBe(FAILED_INTENTS);
    const earliest = Math.min(
      ...status!.blockers.map((b) => b.since),
      summarised?.since ?? Infinity,
    );
    expect(earliest).toBe(created);
    await stillAnswers(customer, failures);

    // A success after every failure supersedes them all, summarised ones included.
    const paid = buildEvent('payment_intent.succeeded', {
      customer,
      created: created + FAILED_INTENTS + 10,
      object: { id: stripeId('pi') },
    });
    expect((await apply(paid)).outcome).toBe('applied');
    const settled = await itemStatus(store, customer);
    expect(settled?.blockers.map((b) => b.reason)).toEqual(['payment_failed']); // the invoice
    expect(settled?.summary?.blockers ?? []).toEqual([]);
  }, 1_200_000);

  it('answers a customer whose item a write could not hold from its facts, and says so loudly', async () => {
    // Prepare: a customer with a status, and a client whose status writes DynamoDB refuses for
    // the item's size (as it would past 400 KB).
    const customer = stripeId('cus');
    await apply(buildEvent('customer.created', { customer }));
    const refusing = new DynamoDBClient({ ...LOCAL_AWS, endpoint: inject('dynamoEndpoint') });
    refusing.middlewareStack.add(
      (next, context) => async (args) => {
        const key = (args.input as { Key?: { pk?: { S?: string } } }).Key?.pk?.S;
        const entryWrite = /\be:/.test(
          JSON.stringify(
            (args.input as { ExpressionAttributeNames?: unknown }).ExpressionAttributeNames ?? {},
          ),
        );
        if (
          context.commandName === 'UpdateItemCommand' &&
          key === statusKey(customer).pk &&
          entryWrite
        ) {
          const err = new Error('Item size has exceeded the maximum allowed size');
          err.name = 'ValidationException';
          throw err;
        }
        return next(args);
      },
      { step: 'initialize', name: 'refuseForSize' },
    );
    const refusingStore = new FactStore(refusing, tableName, storeOptions());
    const recorded: string[] = [];
    const metrics = {
      addMetric: (name: string) => void recorded.push(name),
      publishStoredMetrics: () => undefined,
    } as unknown as Metrics;
    const handler = makeProcessorHandler({
      store: refusingStore,
      stripe: null,
      clock: () => new Date(),
      eventType: 'invoice.payment_failed',
      logger: testLogger,
      metrics,
      markOversize: (id) => refusingStore.status.markOversize(id),
    });
    const failed = buildEvent('invoice.payment_failed', {
      customer,
      object: { id: stripeId('in') },
    });

    // Act
    const result = await handler(sqsEventOf(failed));
    const read = await call('GET', `/customers/${customer}/billing-status`);

    // Assess: the message fails (it retries, then dead-letters), the metric counts it, the
    // item is marked, and the customer is answered from the facts, never by the stale item.
    expect(result.batchItemFailures).toHaveLength(1);
    expect(recorded).toContain(METRICS.statusWriteFailed);
    expect((await store.readStatus(customer))?.oversize).toBe(true);
    expect(read.status).toBe(200);
    expect(read.body.canAllocate).toBe(false);
    expect(read.body).toEqual(await derivedStatus(store, customer));
    expect((await itemStatus(store, customer))?.canAllocate).toBe(true); // what the item says
  });
});
