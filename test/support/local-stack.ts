// Test harness: a fresh table (and, when asked, queues) in the shared emulators, with the
// real SDK clients pointed at them. Unique names per call, so test files never collide.
import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { inject } from 'vitest';
import { LOCAL_AWS } from '../../bin/local/emulators';
import {
  createBillingTable,
  createEventQueues,
  type QueueOptions,
} from '../../bin/local/provision';
import { FactStore } from '../../lambdas/adapters/fact-store';

export const uniqueName = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

export function dynamoClient(): DynamoDBClient {
  return new DynamoDBClient({ ...LOCAL_AWS, endpoint: inject('dynamoEndpoint') });
}

export function sqsClient(): SQSClient {
  return new SQSClient({ ...LOCAL_AWS, endpoint: inject('sqsEndpoint') });
}

export async function freshTable(ddb = dynamoClient()) {
  const tableName = uniqueName('billing');
  const streamArn = await createBillingTable(ddb, tableName);
  return { ddb, tableName, streamArn, store: new FactStore(ddb, tableName) };
}

export async function freshQueues(types: readonly string[], options: QueueOptions = {}) {
  const sqs = sqsClient();
  const prefix = uniqueName('q');
  const queues = await createEventQueues(sqs, prefix, types, options);
  return { sqs, prefix, queues };
}

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function eventually<T>(
  check: () => Promise<T | undefined | null | false>,
  { timeoutMs = 15_000, intervalMs = 50, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** Messages in a queue, visible or in flight. */
export async function queueDepth(sqs: SQSClient, url: string): Promise<number> {
  const got = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(got.Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(got.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}
