// One hot customer: 1,000 events of a single customer across its types (invoices failing and
// paid, PaymentIntents failed and succeeded, cards attached, detached and updated,
// subscriptions, charges, disputes), shuffled, sent signed through the verifier into the
// SQS emulator's queues and applied at the deployed concurrency (five pollers per type,
// batches of ten, the deployed visibility timeout) against DynamoDB Local
// (docs/behaviour.md#hostile-and-busy-customers). Every event must be applied exactly once,
// and no message received more than twice. The run prints the condition failures of the
// status writer's requests (write conflicts), the largest ApproximateReceiveCount, and the
// p99 latency from send (the verifier called) to processing done (the processor invocation
// that applied the event returned, its status item written, before the message's delete).
// The processors run in this process, as in faults.test.ts (the local twin has one poller
// per queue; the deployed mapping runs five invocations per type, so the run polls itself).
import {
  TransactionCanceledException,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { Message } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { Consumer } from 'sqs-consumer';
import { describe, expect, inject, it, vi } from 'vitest';
import { itemBytes } from '../../bin/bench/trouble';
import { LOCAL_AWS } from '../../bin/local/emulators';
import { startLocalPipeline, stopConsumers, toSqsRecord } from '../../bin/local/pipeline';
import { createEventQueues, queueUrlPrefixOf, type QueuePair } from '../../bin/local/provision';
import { CONFIG_DEFAULTS } from '../../lib/config';
import { VISIBILITY_TIMEOUT_FACTOR } from '../../lib/queue-processor';
import { makeDynamoClient } from '../../lambdas/adapters/dynamo-client';
import { FactStore } from '../../lambdas/adapters/fact-store';
import { MESSAGE_ATTRIBUTES } from '../../lambdas/adapters/queue-layout';
import { isConditionFailure } from '../../lambdas/adapters/status-writer';
import { PK_PREFIX } from '../../lambdas/adapters/table-layout';
import { makeLogger } from '../../lambdas/observability';
import { makeProcessorHandler } from '../../lambdas/processor/make-processor';
import { rebuildAll } from '../../lambdas/rebuild/rebuild-status';
import { DEFAULT_GATE_SETTINGS, storeOptions } from '../../lambdas/settings';
import { eventually, freshTable, queueDepth, sqsClient, uniqueName } from '../support/local-stack';
import { testMetrics } from '../support/telemetry';
import { queueingVerifier, signedWebhook } from '../support/webhook-request';
import { assessAgainstOracle, handlerReads, makeWorkload } from './workload';

const SECRET = 'whsec_hot_customer';
// At most HISTORY_MAX_LIMIT: the oracle check reads the customer's history as one page.
const EVENTS = 1_000;
/** The customer's types; disputes (created, closed) come on top, on its succeeded charges. */
const HOT_TYPES = [
  'invoice.payment_failed',
  'invoice.paid',
  'payment_intent.payment_failed',
  'payment_intent.succeeded',
  'payment_method.attached',
  'payment_method.detached',
  'payment_method.updated',
  'customer.subscription.updated',
  'charge.failed',
  'charge.succeeded',
];
const DISPUTE_TYPES = ['charge.dispute.created', 'charge.dispute.closed'];

// The deployed event source mapping (lib/queue-processor.ts defaults, lib/config.ts): up to
// five concurrent batches of ten per type, a 30-second function timeout, a one-second
// batching window, and the queue's visibility timeout six function timeouts plus the window.
const POLLERS_PER_TYPE = CONFIG_DEFAULTS.processorMaxConcurrency;
const BATCH_SIZE = 10;
const VISIBILITY_SECONDS = 30 * VISIBILITY_TIMEOUT_FACTOR + 1;

/** What the status writer's condition failures were on (a request refused, not retried). */
interface Conflicts {
  /** The guarded parts of a write (UpdateItem answered with the item as it was). */
  parts: number;
  /** Other writes of the status item: the derived attributes under the version, slot clearing. */
  item: number;
  /** Entries past the item's bound (OVF# items). */
  overflow: number;
}

/** Writes of the status item (any request writing it, refused ones too) and their units. */
interface StatusWrites {
  requests: number;
  /** Write units as DynamoDB charges them: the item's size in 1 KB steps, per write. */
  units: number;
  /** The item's size as last seen (a read, or an answer with the item), in bytes. */
  lastBytes: number;
  largestBytes: number;
}

const keyPk = (key: Record<string, AttributeValue> | undefined) => key?.pk?.S ?? '';

/**
 * A DynamoDB client that counts the condition failures of requests on a status item or its
 * overflow items (the status writer's), and every request writing a status item with the
 * write units it would be charged, outside the SDK's retries; it changes no request.
 */
function countingDynamo(conflicts: Conflicts, writes: StatusWrites): DynamoDBClient {
  const ddb = makeDynamoClient({ ...LOCAL_AWS, endpoint: inject('dynamoEndpoint') });
  const seen = (item: Record<string, AttributeValue> | undefined) => {
    if (!item || !keyPk(item).startsWith(PK_PREFIX.status)) return;
    writes.lastBytes = itemBytes(item);
    writes.largestBytes = Math.max(writes.largestBytes, writes.lastBytes);
  };
  ddb.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as {
        Key?: Record<string, AttributeValue>;
        Item?: Record<string, AttributeValue>;
        ReturnValuesOnConditionCheckFailure?: string;
        TransactItems?: {
          Put?: { Item: Record<string, AttributeValue> };
          Update?: { Key: Record<string, AttributeValue> };
          ConditionCheck?: { Key: Record<string, AttributeValue> };
        }[];
      };
      const writesStatus =
        (/^(Update|Put|Delete)Item/.test(context.commandName ?? '') &&
          keyPk(input.Key ?? input.Item).startsWith(PK_PREFIX.status)) ||
        (input.TransactItems ?? []).some((t) => keyPk(t.Update?.Key).startsWith(PK_PREFIX.status));
      const charge = () => {
        if (!writesStatus) return;
        writes.requests += 1;
        writes.units += Math.max(1, Math.ceil(writes.lastBytes / 1024));
      };
      try {
        const result = await next(args);
        const output = result.output as {
          Item?: Record<string, AttributeValue>;
          Attributes?: Record<string, AttributeValue>;
        };
        seen(output.Item);
        if (output.Attributes?.pk) seen(output.Attributes);
        charge();
        return result;
      } catch (err) {
        seen((err as { Item?: Record<string, AttributeValue> }).Item);
        charge();
        if (isConditionFailure(err)) {
          const pk = keyPk(input.Key ?? input.Item);
          if (pk.startsWith(PK_PREFIX.status)) {
            if (input.ReturnValuesOnConditionCheckFailure === 'ALL_OLD') conflicts.parts += 1;
            else conflicts.item += 1;
          } else if (pk.startsWith(PK_PREFIX.overflow)) conflicts.overflow += 1;
        } else if (
          err instanceof TransactionCanceledException &&
          context.commandName === 'TransactWriteItemsCommand'
        ) {
          (err.CancellationReasons ?? []).forEach((reason, i) => {
            const item = input.TransactItems?.[i];
            const pk = keyPk(item?.Put?.Item ?? item?.Update?.Key ?? item?.ConditionCheck?.Key);
            if (reason.Code !== 'ConditionalCheckFailed') return;
            if (pk.startsWith(PK_PREFIX.status)) conflicts.item += 1;
            else if (pk.startsWith(PK_PREFIX.overflow)) conflicts.overflow += 1;
          });
        }
        throw err;
      }
    },
    { step: 'initialize', name: 'countConditionFailures' },
  );
  return ddb;
}

const webhook = (payload: string) => signedWebhook(payload, SECRET);

/** The p-th percentile (nearest rank) of `values`. */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

describe('a hot customer', () => {
  it(`applies ${EVENTS.toLocaleString('en-US')} events of one customer exactly once at the deployed concurrency`, async () => {
    // Prepare: the table, one queue per type, the verifier, the sweeper and status API of
    // the local twin, and five pollers per queue.
    const conflicts: Conflicts = { parts: 0, item: 0, overflow: 0 };
    const writes: StatusWrites = { requests: 0, units: 0, lastBytes: 0, largestBytes: 0 };
    const ddb = countingDynamo(conflicts, writes);
    const sqs = sqsClient();
    const table = await freshTable(ddb);
    const prefix = uniqueName('hot');
    const types = [...HOT_TYPES, ...DISPUTE_TYPES];
    const queues = await createEventQueues(sqs, prefix, types, {
      visibilityTimeoutSeconds: VISIBILITY_SECONDS,
      maxReceiveCount: CONFIG_DEFAULTS.maxReceiveCount,
    });
    const verifier = queueingVerifier(sqs, queueUrlPrefixOf(queues[0]!, prefix), {
      secrets: async () => [SECRET],
      types,
    });
    // No queues of its own: its stream-fed notifier, its sweeper (parked disputes whose
    // charge came later) and its status API, on the same counting client.
    const twin = await startLocalPipeline({
      dynamoEndpoint: inject('dynamoEndpoint'),
      sqsEndpoint: inject('sqsEndpoint'),
      tableName: table.tableName,
      streamArn: table.streamArn,
      queues: [],
      dynamoClient: ddb,
      announce: async () => undefined,
    });

    const logger = makeLogger('hot-customer');
    const failures: string[] = [];
    vi.spyOn(logger, 'error').mockImplementation((message, ...extra) => {
      failures.push(`${String(message)} ${JSON.stringify(extra)}`);
    });
    const sentAt = new Map<string, number>();
    const doneAt = new Map<string, number>();
    /** When a poller first handed the event's message to a processor invocation. */
    const receivedAt = new Map<string, number>();
    let maxReceives = 0;
    let stopping = false;
    const inFlight = new Set<Promise<unknown>>();
    // Each poller stands for one concurrent invocation: clients (and sockets) of its own.
    const clients: { destroy(): void }[] = [];
    const poll = (queue: QueuePair) =>
      Array.from({ length: POLLERS_PER_TYPE }, () => {
        const own = { ddb: countingDynamo(conflicts, writes), sqs: sqsClient() };
        clients.push(own.ddb, own.sqs);
        const processor = makeProcessorHandler({
          eventType: queue.type,
          store: new FactStore(own.ddb, table.tableName, storeOptions()),
          stripe: null,
          clock: () => new Date(),
          logger,
          metrics: testMetrics,
        });
        const consumer = Consumer.create({
          queueUrl: queue.queueUrl,
          sqs: own.sqs,
          batchSize: BATCH_SIZE,
          waitTimeSeconds: 1,
          pollingWaitTimeMs: 0,
          visibilityTimeout: VISIBILITY_SECONDS,
          attributeNames: ['All'],
          messageAttributeNames: ['All'],
          // As the local twin's poller: delete what succeeded, leave failures to come back.
          handleMessageBatch: async (received: Message[]) => {
            const messages = [...new Map(received.map((m) => [m.MessageId, m])).values()];
            for (const m of messages) {
              maxReceives = Math.max(maxReceives, Number(m.Attributes?.ApproximateReceiveCount));
            }
            const receiveTime = Date.now();
            for (const m of messages) {
              const id = m.MessageAttributes?.[MESSAGE_ATTRIBUTES.eventId]?.StringValue ?? '';
              if (!receivedAt.has(id)) receivedAt.set(id, receiveTime);
            }
            const event: SQSEvent = { Records: messages.map((m) => toSqsRecord(m, queue)) };
            const processing = processor(event);
            inFlight.add(processing);
            const { batchItemFailures } = await processing.finally(() =>
              inFlight.delete(processing),
            );
            const now = Date.now();
            const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
            const done = messages.filter((m) => !failed.has(m.MessageId ?? ''));
            for (const m of done) {
              const id = m.MessageAttributes?.[MESSAGE_ATTRIBUTES.eventId]?.StringValue ?? '';
              if (!doneAt.has(id)) doneAt.set(id, now);
            }
            return done;
          },
        });
        // Stopping aborts the pending receives: not a failure.
        consumer.on('error', (err) => stopping || failures.push(`poller: ${err.message}`));
        consumer.on('processing_error', (err) => failures.push(`poller: ${err.message}`));
        consumer.start();
        return consumer;
      });
    const consumers = queues.flatMap(poll);
    const stopAll = async () => {
      stopping = true;
      await stopConsumers(consumers);
      await Promise.allSettled([...inFlight]);
      await twin.stop();
      for (const c of [ddb, sqs, ...clients]) c.destroy();
    };

    const workload = makeWorkload({
      customers: 1,
      events: EVENTS,
      duplicateRatio: 0,
      seed: 41,
      types: HOT_TYPES,
      objects: 20,
    });
    const customer = workload.customers[0]!;
    const sentTypes = new Set(workload.deliveries.map((e) => e.type));
    let result: Awaited<ReturnType<typeof assessAgainstOracle>>;
    let rebuild: Awaited<ReturnType<typeof rebuildAll>>;
    try {
      // Act: sixteen senders through the verifier, each retrying a 5xx as Stripe does.
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < workload.deliveries.length) {
            const event = workload.deliveries[next++]!;
            const payload = JSON.stringify(event);
            sentAt.set(event.id, Date.now());
            for (let attempt = 0; ; attempt++) {
              const res = await verifier(webhook(payload));
              if (res.statusCode === 200) break;
              expect(res.statusCode).toBe(503);
              await new Promise((r) => setTimeout(r, Math.min(1000, 20 * 2 ** attempt)));
            }
          }
        }),
      );
      // Every message processed and deleted (one that failed comes back after the visibility
      // timeout: the wait outlasts one, so its second receive is counted).
      await eventually(
        async () => {
          if (doneAt.size < workload.events.length) return false;
          for (const q of queues) if ((await queueDepth(sqs, q.queueUrl)) > 0) return false;
          return true;
        },
        { timeoutMs: (VISIBILITY_SECONDS + 30) * 1000, intervalMs: 250, what: 'empty queues' },
      ).catch((err: Error) => {
        throw new Error(`${err.message}: ${doneAt.size} events done; ${failures.slice(0, 3)}`);
      });

      // Assess: every event once in the history, the status as the oracle says, the status
      // item equal to the full derivation over the facts (what a rebuild would write).
      result = await assessAgainstOracle(workload, handlerReads(twin.statusApi));
      rebuild = await rebuildAll(
        table.store,
        { settings: DEFAULT_GATE_SETTINGS, clock: Date.now },
        { dryRun: true },
      );
    } finally {
      await stopAll();
    }
    const latencies = workload.events.map(
      ({ event }) => doneAt.get(event.id)! - sentAt.get(event.id)!,
    );
    const total = conflicts.parts + conflicts.item + conflicts.overflow;
    console.log(
      `hot customer: ${workload.events.length} events, ${total} write conflicts, max receives ${maxReceives}, p99 ${percentile(latencies, 99)} ms`,
    );
    // Where the time went: the p99 above is mostly waiting in the queue behind the burst (the
    // emulators' throughput on this machine); the processing p99 is a receive to its end.
    const processing = workload.events.map(
      ({ event }) => doneAt.get(event.id)! - receivedAt.get(event.id)!,
    );
    const first = Math.min(...sentAt.values());
    const drainSeconds = (Math.max(...doneAt.values()) - first) / 1000;
    console.log(
      `hot customer, details: conflicts ${conflicts.parts} guarded parts (refused, not retried), ${conflicts.item} item writes, ${conflicts.overflow} overflow; drained in ${drainSeconds.toFixed(1)} s (${(workload.events.length / drainSeconds).toFixed(0)} events/s); processing p99 ${percentile(processing, 99)} ms, p50 ${percentile(processing, 50)} ms`,
    );
    // What the same writes would cost one item in AWS, where a single item takes at most
    // 1,000 write units a second (its partition's limit) and a write is charged by its size.
    const unitsPerEvent = writes.units / workload.events.length;
    console.log(
      `hot customer, status item: ${(writes.requests / workload.events.length).toFixed(2)} writes per event, up to ${(writes.largestBytes / 1024).toFixed(1)} KB, ${unitsPerEvent.toFixed(1)} write units per event (in AWS one item's 1,000 write units a second would apply at most ${Math.floor(1000 / unitsPerEvent)} events/s of one customer)`,
    );

    expect(result.customers).toBe(1);
    expect(workload.events.every((e) => e.customer === customer)).toBe(true);
    expect(sentTypes).toEqual(new Set(types)); // every type of the customer, disputes included
    expect(result.missing).toBe(0);
    expect(result.doubled).toBe(0);
    expect(rebuild).toMatchObject({ customers: 1, unchanged: 1, wouldChange: 0, failed: 0 });
    expect(maxReceives, failures.slice(0, 5).join('\n')).toBeGreaterThanOrEqual(1);
    expect(maxReceives, failures.slice(0, 5).join('\n')).toBeLessThanOrEqual(2);
  });
});
