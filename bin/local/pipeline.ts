// The processing half of the local twin: what Lambda's event source mappings and the
// EventBridge schedule do in AWS. One SQS poller per queue (sqs-consumer) hands batches to
// the same processor handler, deleting only what succeeded, so failed messages come back
// after the visibility timeout and the redrive policy dead-letters poison ones. A stream
// poller feeds the notifier, retrying a failed batch from its failed record as the DynamoDB
// event source mapping does (10 retries) and then, as there, putting an on-failure record on
// the `<prefix>-notifier-failures` queue and moving on (`npm run redrive -- --announcements`
// replays it from the stream); a timer runs the parked-event sweeper.

import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import {
  CreateQueueCommand,
  SQSClient,
  SendMessageCommand,
  type Message,
} from '@aws-sdk/client-sqs';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  DynamoDBBatchResponse,
  DynamoDBStreamEvent,
  SQSEvent,
  SQSRecord,
} from 'aws-lambda';
import { Consumer } from 'sqs-consumer';
import { makeDynamoClient } from '../../lambdas/adapters/dynamo-client';
import { FactStore } from '../../lambdas/adapters/fact-store';
import { makeStripeLookup } from '../../lambdas/adapters/stripe-api';
import { usesStripeApi } from '../../lambdas/core/registry';
import { DEFAULT_GATE_SETTINGS, type GateSettings } from '../../lambdas/settings';
import { makeNotifierHandler, type Announcement } from '../../lambdas/notifier/make-notifier';
import { makeLogger, makeMetrics } from '../../lambdas/observability';
import { makeProcessorHandler } from '../../lambdas/processor/make-processor';
import { makeStatusApiHandler } from '../../lambdas/status-api/make-status-api';
import { makeSweeper } from '../../lambdas/sweeper/make-sweeper';
import { DLQ_RETENTION_SECONDS, MAX_MESSAGE_BYTES } from '../../lambdas/adapters/queue-layout';
import {
  notifierFailureQueueName,
  onFailureRecord,
  queuePrefixOf,
  toStreamEvent,
} from '../ops/announcement-replay';
import { LOCAL_AWS } from './emulators';
import type { QueuePair } from './provision';

export interface LocalPipelineOptions {
  dynamoEndpoint: string;
  sqsEndpoint: string;
  tableName: string;
  streamArn: string;
  queues: readonly QueuePair[];
  /** The access policy and warning window. @default the defaults */
  settings?: GateSettings;
  stripeApiKey?: string;
  stripeApiBase?: string;
  /**
   * How often the sweeper runs: time-driven changes are announced within this (well within
   * 15 seconds), parked events retried. @default 2000
   */
  sweepIntervalMs?: number;
  /** The functions' clock (tests move it). @default the system clock */
  clock?: () => Date;
  /** Where announcements go. @default a log line */
  announce?: (a: Announcement) => Promise<void>;
  /** A DynamoDB client to use instead of a new one (tests inject faults through it). */
  dynamoClient?: DynamoDBClient;
  /**
   * The queue-name prefix: the notifier's on-failure queue is `<prefix>-notifier-failures`.
   * @default the prefix of the first queue's name
   */
  queuePrefix?: string;
  /** Retries of a failing stream record before its batch goes to the on-failure queue. @default 10 */
  notifierRetryAttempts?: number;
  /** Wait before the first retry, doubling up to 5 seconds. @default 200 */
  notifierRetryDelayMs?: number;
}

export interface LocalPipeline {
  statusApi: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
  /** The notifier's on-failure queue (null without queues to name it by). */
  notifierFailureQueueUrl: string | null;
  stop(): Promise<void>;
}

/** The SQS record Lambda's event source mapping would hand the function. */
export function toSqsRecord(message: Message, queue: QueuePair): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? randomUUID(),
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp:
        attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, v]) => [
        name,
        {
          dataType: v.DataType ?? 'String',
          ...(v.StringValue === undefined ? {} : { stringValue: v.StringValue }),
          stringListValues: [],
          binaryListValues: [],
        },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queue.queueArn,
    awsRegion: LOCAL_AWS.region,
  };
}

/** Where the poller stands in one stream shard. */
interface ShardCursor {
  iterator: string | null;
  /** The last record handed to the notifier, to resume after it. */
  lastSequence: string | null;
  parentId: string | null;
  /** The shard ended (no next iterator) and every record of it was handled. */
  done: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How the poller retries a failing record, and where a batch goes after the last retry. */
interface StreamRetry {
  attempts: number;
  delayMs: number;
  /** Records the batch from the failing record on; null: retry until it succeeds. */
  exhausted:
    ((shardId: string, records: StreamRecord[], invokeCount: number) => Promise<void>) | null;
}

/**
 * Where a batch failed: the index of its lowest reported sequence number, 0 when a report
 * names no record of the batch (Lambda takes that as the whole batch failing), null for none.
 */
function failedIndex(
  records: readonly StreamRecord[],
  response: DynamoDBBatchResponse,
): number | null {
  const failures = response.batchItemFailures ?? [];
  if (failures.length === 0) return null;
  let lowest: number | null = null;
  for (const f of failures) {
    const at = records.findIndex((r) => r.dynamodb?.SequenceNumber === f.itemIdentifier);
    if (at < 0) return 0;
    lowest = lowest === null ? at : Math.min(lowest, at);
  }
  return lowest ?? 0;
}

/**
 * What Lambda's DynamoDB event source mapping does: reads every shard of the stream from
 * its oldest record, children after their parent, and hands each batch to the notifier.
 * A reported failure is retried from the failed record on (reportBatchItemFailures); after
 * `retry.attempts` retries of one record, the rest of the batch goes to `retry.exhausted`
 * and the poller moves on. Resolves once every shard has an iterator, so nothing committed
 * after start-up can be missed.
 */
async function startStreamPoller(
  streams: DynamoDBStreamsClient,
  streamArn: string,
  handle: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>,
  retry: StreamRetry,
  onError: (err: unknown) => void,
): Promise<() => Promise<void>> {
  let running = true;
  const shards = new Map<string, ShardCursor>();

  const iteratorFor = async (shardId: string, after: string | null) => {
    const got = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shardId,
        ...(after
          ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after }
          : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    return got.ShardIterator ?? null;
  };

  const discover = async () => {
    let startAfter: string | undefined;
    do {
      const described = await streams.send(
        new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: startAfter }),
      );
      for (const shard of described.StreamDescription?.Shards ?? []) {
        if (!shard.ShardId || shards.has(shard.ShardId)) continue;
        shards.set(shard.ShardId, {
          iterator: await iteratorFor(shard.ShardId, null),
          lastSequence: null,
          parentId: shard.ParentShardId ?? null,
          done: false,
        });
      }
      startAfter = described.StreamDescription?.LastEvaluatedShardId;
    } while (startAfter);
  };

  /** Hands the batch over until it succeeds or its failing record has used every retry. */
  const deliver = async (shardId: string, records: StreamRecord[]) => {
    let pending = records;
    let failures = 0;
    while (running && pending.length > 0) {
      let at: number | null;
      try {
        at = failedIndex(
          pending,
          await handle(toStreamEvent(pending, streamArn, LOCAL_AWS.region)),
        );
      } catch (err) {
        onError(err); // a function error fails the whole batch
        at = 0;
      }
      if (at === null) return;
      if (at > 0) {
        // The records before it are done; the count starts again for the failing one.
        pending = pending.slice(at);
        failures = 0;
      }
      failures++;
      if (retry.exhausted && failures > retry.attempts) {
        await retry.exhausted(shardId, pending, failures);
        return;
      }
      await sleep(Math.min(5000, retry.delayMs * 2 ** (failures - 1)));
    }
  };

  /** Reads one batch of a shard; true when it carried records. */
  const pollShard = async (shardId: string, cursor: ShardCursor): Promise<boolean> => {
    if (!cursor.iterator) {
      cursor.done = true;
      return false;
    }
    let got;
    try {
      got = await streams.send(new GetRecordsCommand({ ShardIterator: cursor.iterator }));
    } catch (err) {
      // An iterator can expire (15 minutes), and DynamoDB Local calls an iterator taken on
      // an empty shard "trimmed" once another table's writes move its sequence counter:
      // resume after the last handled record (or from the shard's start) with a new one.
      const name = (err as Error).name;
      if (name !== 'ExpiredIteratorException' && name !== 'TrimmedDataAccessException') {
        throw err;
      }
      cursor.iterator = await iteratorFor(shardId, cursor.lastSequence);
      return true;
    }
    const records = got.Records ?? [];
    if (records.length > 0) {
      await deliver(shardId, records);
      if (!running) return false;
      cursor.lastSequence = records.at(-1)?.dynamodb?.SequenceNumber ?? cursor.lastSequence;
    }
    cursor.iterator = got.NextShardIterator ?? null;
    if (!cursor.iterator) cursor.done = true;
    return records.length > 0;
  };

  await discover();
  const loop = (async () => {
    let lastDiscovery = Date.now();
    while (running) {
      let busy = false;
      try {
        if (Date.now() - lastDiscovery > 2000) {
          await discover();
          lastDiscovery = Date.now();
        }
        for (const [shardId, cursor] of shards) {
          if (!running) break;
          if (cursor.done) continue;
          const parent = cursor.parentId ? shards.get(cursor.parentId) : undefined;
          if (parent && !parent.done) continue; // a child's records come after its parent's
          if (await pollShard(shardId, cursor)) busy = true;
        }
      } catch (err) {
        if (running) onError(err);
        await sleep(500);
      }
      if (!busy && running) await sleep(100);
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

/** Stops SQS pollers, aborting their pending receives, once each has stopped. */
export async function stopConsumers(consumers: readonly Consumer[]): Promise<void> {
  await Promise.all(
    consumers.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (!c.status.isRunning) return resolve();
          c.once('stopped', () => resolve());
          c.stop({ abort: true });
        }),
    ),
  );
}

export async function startLocalPipeline(options: LocalPipelineOptions): Promise<LocalPipeline> {
  const clientConfig = { ...LOCAL_AWS, endpoint: options.dynamoEndpoint };
  const ddb = options.dynamoClient ?? makeDynamoClient(clientConfig);
  const streams = new DynamoDBStreamsClient(clientConfig);
  const sqs = new SQSClient({ ...LOCAL_AWS, endpoint: options.sqsEndpoint });
  const logger = makeLogger('local');
  const metrics = makeMetrics('local');
  const clock = options.clock ?? (() => new Date());
  const settings = options.settings ?? DEFAULT_GATE_SETTINGS;
  const store = new FactStore(ddb, options.tableName, {
    settings,
    settingsHash: settings.hash,
    clock: () => clock().getTime(),
  });
  const stripe = options.stripeApiKey
    ? makeStripeLookup(options.stripeApiKey, options.stripeApiBase)
    : null;

  const notifier = makeNotifierHandler({
    settings,
    clock,
    logger,
    announce:
      options.announce ??
      (async (a) => {
        // One line holding the customer id and the cause (docs/behaviour.md#access-policy).
        logger.info('canAllocate changed', { ...a });
      }),
  });
  // The stream first: every commit the processors make from here on is seen.
  let stopStream: () => Promise<void>;
  let notifierFailureQueueUrl: string | null = null;
  try {
    const prefix =
      options.queuePrefix ?? (options.queues[0] ? queuePrefixOf(options.queues[0]) : undefined);
    if (prefix !== undefined) {
      // As lib/notifier.ts creates it in AWS (the same retention and message size).
      const created = await sqs.send(
        new CreateQueueCommand({
          QueueName: notifierFailureQueueName(prefix),
          Attributes: {
            MessageRetentionPeriod: String(DLQ_RETENTION_SECONDS),
            MaximumMessageSize: String(MAX_MESSAGE_BYTES),
          },
        }),
      );
      notifierFailureQueueUrl = created.QueueUrl ?? null;
    }
    const failureQueue = notifierFailureQueueUrl;
    const retry: StreamRetry = {
      attempts: options.notifierRetryAttempts ?? 10,
      delayMs: options.notifierRetryDelayMs ?? 200,
      exhausted: failureQueue
        ? async (shardId, records, invokeCount) => {
            const record = onFailureRecord({
              streamArn: options.streamArn,
              shardId,
              records,
              invokeCount,
              functionArn: `arn:aws:lambda:${LOCAL_AWS.region}:000000000000:function:local-notifier`,
              requestId: randomUUID(),
              now: new Date(),
            });
            await sqs.send(
              new SendMessageCommand({
                QueueUrl: failureQueue,
                MessageBody: JSON.stringify(record),
              }),
            );
            logger.error('stream batch failed every retry: sent to the on-failure queue', {
              queue: failureQueue,
              ...record.DDBStreamBatchInfo,
            });
          }
        : null,
    };
    stopStream = await startStreamPoller(streams, options.streamArn, notifier, retry, (err) =>
      logger.error('stream poller error', { error: (err as Error).message }),
    );
  } catch (err) {
    if (!options.dynamoClient) ddb.destroy();
    streams.destroy();
    sqs.destroy();
    throw err;
  }

  let stopping = false;
  // Batches being processed, awaited on stop so no handler outlives the clients.
  const inFlight = new Set<Promise<unknown>>();
  const consumers = options.queues.map((queue) => {
    const processor = makeProcessorHandler({
      eventType: queue.type,
      store,
      // As in AWS, only the types that may ask Stripe get the key.
      stripe: usesStripeApi(queue.type) ? stripe : null,
      clock,
      logger,
      metrics,
      // As in AWS: an item refused for its size is marked, so readers answer from the facts.
      markOversize: (customerId) => store.status.markOversize(customerId),
    });
    const consumer = Consumer.create({
      queueUrl: queue.queueUrl,
      sqs,
      batchSize: 10,
      waitTimeSeconds: 1,
      pollingWaitTimeMs: 0,
      attributeNames: ['All'],
      messageAttributeNames: ['All'],
      // Lambda's contract: delete what succeeded; failures reappear after the visibility
      // timeout and the queue's redrive policy moves poison messages to the DLQ.
      handleMessageBatch: async (received) => {
        // An emulator may hand the same message twice in one receive; SQS would refuse a
        // delete batch with repeated ids. Keep the newest receipt of each message.
        const messages = [...new Map(received.map((m) => [m.MessageId, m])).values()];
        const event: SQSEvent = { Records: messages.map((m) => toSqsRecord(m, queue)) };
        const processing = processor(event);
        inFlight.add(processing);
        const { batchItemFailures } = await processing.finally(() => inFlight.delete(processing));
        const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
        return messages.filter((m) => !failed.has(m.MessageId ?? ''));
      },
    });
    consumer.on('error', (err) => {
      // Stopping aborts the pending long poll; that is not worth an error line.
      if (!stopping) logger.error('poller error', { queue: queue.type, error: err.message });
    });
    consumer.on('processing_error', (err) =>
      logger.error('poller processing error', { queue: queue.type, error: err.message }),
    );
    consumer.start();
    return consumer;
  });

  await store.writeSettings({
    policy: settings.policyDocument as Record<string, unknown>,
    expiryWarningDays: settings.expiryWarningDays,
    hash: settings.hash,
    settled: true,
  });
  const sweep = makeSweeper({ store, settings, stripe, clock, logger, metrics });
  let sweeping: Promise<unknown> | null = null;
  const sweepTimer = setInterval(() => {
    if (sweeping) return; // one sweep at a time, as a scheduled Lambda with concurrency 1
    sweeping = sweep()
      .catch((err: unknown) => logger.error('sweeper error', { error: (err as Error).message }))
      .finally(() => {
        sweeping = null;
      });
  }, options.sweepIntervalMs ?? 2000);

  const statusApi = makeStatusApiHandler({
    store,
    settings,
    clock,
    logger,
    // Locally the operator names themself (npm run override sends it); in AWS it is the
    // caller's IAM identity.
    trustActorHeader: true,
  });

  return {
    statusApi,
    notifierFailureQueueUrl,
    async stop() {
      stopping = true;
      clearInterval(sweepTimer);
      await stopConsumers(consumers);
      await Promise.allSettled([...inFlight]);
      await stopStream();
      await sweeping;
      if (!options.dynamoClient) ddb.destroy();
      streams.destroy();
      sqs.destroy();
    },
  };
}
