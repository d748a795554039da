// The processing half of the local twin: what Lambda's event source mappings and the
// EventBridge schedule do in AWS. One SQS poller per queue (sqs-consumer) hands batches to
// the same processor handler, deleting only what succeeded, so failed messages come back
// after the visibility timeout and the redrive policy dead-letters poison ones. A stream
// poller feeds the notifier; a timer runs the parked-event sweeper.

import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import { SQSClient, type Message } from '@aws-sdk/client-sqs';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  DynamoDBStreamEvent,
  SQSEvent,
  SQSRecord,
} from 'aws-lambda';
import { Consumer } from 'sqs-consumer';
import { FactStore } from '../../lambdas/adapters/fact-store';
import { makeChargeLookup } from '../../lambdas/adapters/stripe-api';
import { makeNotifierHandler, type Announcement } from '../../lambdas/notifier/make-notifier';
import { makeLogger, makeMetrics } from '../../lambdas/observability';
import { makeProcessorHandler } from '../../lambdas/processor/make-processor';
import { makeStatusApiHandler } from '../../lambdas/status-api/make-status-api';
import { makeSweeper } from '../../lambdas/sweeper/make-sweeper';
import { LOCAL_AWS } from './emulators';
import type { QueuePair } from './provision';

export interface LocalPipelineOptions {
  dynamoEndpoint: string;
  sqsEndpoint: string;
  tableName: string;
  streamArn: string;
  queues: readonly QueuePair[];
  expiryWarningDays: number;
  stripeApiKey?: string;
  stripeApiBase?: string;
  /** How often the sweeper retries parked events. @default 2000 */
  sweepIntervalMs?: number;
  /** Where announcements go. @default a log line */
  announce?: (a: Announcement) => Promise<void>;
  /** A DynamoDB client to use instead of a new one (tests inject faults through it). */
  dynamoClient?: DynamoDBClient;
}

export interface LocalPipeline {
  statusApi: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
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

function startStreamPoller(
  streams: DynamoDBStreamsClient,
  streamArn: string,
  handle: (event: DynamoDBStreamEvent) => Promise<{ batchItemFailures: unknown[] }>,
  onError: (err: unknown) => void,
): () => Promise<void> {
  let running = true;
  const iterators = new Map<string, string | null>(); // shard id -> iterator (null: closed)
  const discover = async () => {
    const described = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    for (const shard of described.StreamDescription?.Shards ?? []) {
      if (!shard.ShardId || iterators.has(shard.ShardId)) continue;
      const it = await streams.send(
        new GetShardIteratorCommand({
          StreamArn: streamArn,
          ShardId: shard.ShardId,
          ShardIteratorType: 'TRIM_HORIZON',
        }),
      );
      iterators.set(shard.ShardId, it.ShardIterator ?? null);
    }
  };
  const toLambda = (records: StreamRecord[]): DynamoDBStreamEvent => ({
    Records: records.map((r) => ({
      eventID: r.eventID,
      eventName: r.eventName as 'INSERT' | 'MODIFY' | 'REMOVE',
      eventVersion: r.eventVersion,
      eventSource: 'aws:dynamodb',
      awsRegion: LOCAL_AWS.region,
      eventSourceARN: streamArn,
      dynamodb: r.dynamodb as DynamoDBStreamEvent['Records'][number]['dynamodb'],
    })),
  });
  const loop = (async () => {
    let lastDiscovery = 0;
    while (running) {
      try {
        if (Date.now() - lastDiscovery > 2000) {
          await discover();
          lastDiscovery = Date.now();
        }
        let busy = false;
        for (const [shardId, iterator] of iterators) {
          if (!iterator) continue;
          const got = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
          const records = got.Records ?? [];
          if (records.length > 0) {
            busy = true;
            // Retry the batch until the notifier accepts it, as Lambda does for streams.
            for (let attempt = 0; running; attempt++) {
              const result = await handle(toLambda(records));
              if (result.batchItemFailures.length === 0) break;
              await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** attempt)));
            }
          }
          iterators.set(shardId, got.NextShardIterator ?? null);
        }
        if (!busy) await new Promise((r) => setTimeout(r, 100));
      } catch (err) {
        if (running) onError(err);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

export async function startLocalPipeline(options: LocalPipelineOptions): Promise<LocalPipeline> {
  const clientConfig = { ...LOCAL_AWS, endpoint: options.dynamoEndpoint };
  const ddb = options.dynamoClient ?? new DynamoDBClient(clientConfig);
  const streams = new DynamoDBStreamsClient(clientConfig);
  const sqs = new SQSClient({ ...LOCAL_AWS, endpoint: options.sqsEndpoint });
  const store = new FactStore(ddb, options.tableName);
  const logger = makeLogger('local');
  const metrics = makeMetrics('local');
  const clock = () => new Date();
  const chargeLookup = options.stripeApiKey
    ? makeChargeLookup(options.stripeApiKey, options.stripeApiBase)
    : null;

  const consumers = options.queues.map((queue) => {
    const processor = makeProcessorHandler({
      eventType: queue.type,
      store,
      chargeLookup,
      clock,
      logger,
      metrics,
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
        const { batchItemFailures } = await processor(event);
        const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
        return messages.filter((m) => !failed.has(m.MessageId ?? ''));
      },
    });
    consumer.on('error', (err) =>
      logger.error('poller error', { queue: queue.type, error: err.message }),
    );
    consumer.on('processing_error', (err) =>
      logger.error('poller processing error', { queue: queue.type, error: err.message }),
    );
    consumer.start();
    return consumer;
  });

  const notifier = makeNotifierHandler({
    store,
    expiryWarningDays: options.expiryWarningDays,
    clock,
    logger,
    announce:
      options.announce ??
      (async (a) => {
        logger.info('canAllocate changed', { ...a });
      }),
  });
  const stopStream = startStreamPoller(streams, options.streamArn, notifier, (err) =>
    logger.error('stream poller error', { error: (err as Error).message }),
  );

  const sweep = makeSweeper({ store, chargeLookup, clock, logger, metrics });
  let sweeping: Promise<unknown> = Promise.resolve();
  const sweepTimer = setInterval(() => {
    sweeping = sweep().catch((err: unknown) =>
      logger.error('sweeper error', { error: (err as Error).message }),
    );
  }, options.sweepIntervalMs ?? 2000);

  const statusApi = makeStatusApiHandler({
    store,
    expiryWarningDays: options.expiryWarningDays,
    clock,
    logger,
  });

  return {
    statusApi,
    async stop() {
      clearInterval(sweepTimer);
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
      await stopStream();
      await sweeping;
      if (!options.dynamoClient) ddb.destroy();
      streams.destroy();
      sqs.destroy();
    },
  };
}
