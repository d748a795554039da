// Creates, against the local emulators, the table and queues the CDK stack creates in AWS:
// same key schema and indexes (lambdas/adapters/table-layout.ts), same queue names, DLQs,
// redrive policy and message size (lambdas/adapters/queue-layout.ts). Used by `npm start`
// and by the integration tests.

import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  type KeyType,
  type ProjectionType,
  type ScalarAttributeType,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { TABLE_SCHEMA } from '../../lambdas/adapters/table-layout';
import {
  DEFAULT_MAX_RECEIVE_COUNT,
  DLQ_RETENTION_SECONDS,
  MAX_MESSAGE_BYTES,
  deadLetterQueueName,
  queueName,
} from '../../lambdas/adapters/queue-layout';

/** Creates the billing table (with its stream) unless it exists; returns its stream ARN. */
export async function createBillingTable(ddb: DynamoDBClient, tableName: string): Promise<string> {
  try {
    await ddb.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: TABLE_SCHEMA.attributes.map((a) => ({
          AttributeName: a.name,
          AttributeType: a.type as ScalarAttributeType,
        })),
        KeySchema: [
          { AttributeName: TABLE_SCHEMA.partitionKey, KeyType: 'HASH' as KeyType },
          { AttributeName: TABLE_SCHEMA.sortKey, KeyType: 'RANGE' as KeyType },
        ],
        GlobalSecondaryIndexes: TABLE_SCHEMA.indexes.map((i) => ({
          IndexName: i.name,
          KeySchema: [
            { AttributeName: i.partitionKey, KeyType: 'HASH' as KeyType },
            { AttributeName: i.sortKey, KeyType: 'RANGE' as KeyType },
          ],
          Projection: { ProjectionType: i.projection as ProjectionType },
        })),
        StreamSpecification: { StreamEnabled: true, StreamViewType: TABLE_SCHEMA.streamView },
      }),
    );
  } catch (err) {
    if ((err as Error).name !== 'ResourceInUseException') throw err;
  }
  const described = await ddb.send(new DescribeTableCommand({ TableName: tableName }));
  const arn = described.Table?.LatestStreamArn;
  if (!arn) throw new Error(`table ${tableName} has no stream`);
  return arn;
}

export interface QueuePair {
  readonly type: string;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly dlqUrl: string;
  readonly dlqArn: string;
}

export interface QueueOptions {
  /** Receives before a message moves to the DLQ. @default 5 */
  maxReceiveCount?: number;
  /** Seconds a received message stays invisible. @default 30 */
  visibilityTimeoutSeconds?: number;
}

async function createQueue(
  sqs: SQSClient,
  name: string,
  attributes: Record<string, string>,
): Promise<{ url: string; arn: string }> {
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: { MaximumMessageSize: String(MAX_MESSAGE_BYTES), ...attributes },
    }),
  );
  if (!QueueUrl) throw new Error(`queue ${name} was not created`);
  const got = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const arn = got.Attributes?.QueueArn;
  if (!arn) throw new Error(`queue ${name} has no ARN`);
  return { url: QueueUrl, arn };
}

/** One source queue and its DLQ per event type, named as in AWS. */
export async function createEventQueues(
  sqs: SQSClient,
  prefix: string,
  types: readonly string[],
  options: QueueOptions = {},
): Promise<QueuePair[]> {
  const maxReceiveCount = options.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT;
  const visibility = options.visibilityTimeoutSeconds ?? 30;
  const pairs: QueuePair[] = [];
  for (const type of types) {
    const dlq = await createQueue(sqs, deadLetterQueueName(prefix, type), {
      MessageRetentionPeriod: String(DLQ_RETENTION_SECONDS),
    });
    const source = await createQueue(sqs, queueName(prefix, type), {
      VisibilityTimeout: String(visibility),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount }),
    });
    pairs.push({
      type,
      queueUrl: source.url,
      queueArn: source.arn,
      dlqUrl: dlq.url,
      dlqArn: dlq.arn,
    });
  }
  return pairs;
}

/** The `QUEUE_URL_PREFIX` the verifier routes with, derived from one created queue. */
export function queueUrlPrefixOf(pair: QueuePair, prefix: string): string {
  const marker = `/${prefix}-`;
  const at = pair.queueUrl.lastIndexOf(marker);
  if (at < 0) throw new Error(`queue URL ${pair.queueUrl} does not contain ${marker}`);
  return pair.queueUrl.slice(0, at + marker.length);
}
