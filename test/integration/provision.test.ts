import { describe, expect, inject, it } from 'vitest';
import { DynamoDBClient, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_AWS } from '../../bin/local/emulators';
import { createBillingTable, createEventQueues, queueUrlPrefixOf } from '../../bin/local/provision';
import { queueUrl } from '../../lambdas/adapters/queue-layout';

describe('local provisioning', () => {
  it('creates the billing table with its five indexes and a NEW_AND_OLD_IMAGES stream', async () => {
    const ddb = new DynamoDBClient({ ...LOCAL_AWS, endpoint: inject('dynamoEndpoint') });
    const name = `prov-${Date.now()}`;
    const streamArn = await createBillingTable(ddb, name);
    const { Table } = await ddb.send(new DescribeTableCommand({ TableName: name }));
    expect(streamArn).toMatch(/stream/);
    expect(Table?.StreamSpecification?.StreamViewType).toBe('NEW_AND_OLD_IMAGES');
    expect(
      Table?.GlobalSecondaryIndexes?.map((i) => [i.IndexName, i.Projection?.ProjectionType]).sort(),
    ).toEqual([
      ['due', 'KEYS_ONLY'],
      ['grace', 'KEYS_ONLY'],
      ['parked', 'KEYS_ONLY'],
      ['rulesVersion', 'KEYS_ONLY'],
      ['trouble', 'KEYS_ONLY'],
    ]);
    ddb.destroy();
  });

  it('creates a source queue and DLQ per type with the 1 MiB limit and the redrive policy', async () => {
    const sqs = new SQSClient({ ...LOCAL_AWS, endpoint: inject('sqsEndpoint') });
    const prefix = `prov${Date.now()}`;
    const [pair] = await createEventQueues(sqs, prefix, ['charge.failed'], { maxReceiveCount: 3 });
    const attrs = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: pair!.queueUrl, AttributeNames: ['All'] }),
    );
    expect(attrs.Attributes?.MaximumMessageSize).toBe('1048576');
    expect(JSON.parse(attrs.Attributes?.RedrivePolicy ?? '{}')).toEqual({
      deadLetterTargetArn: pair!.dlqArn,
      maxReceiveCount: 3,
    });
    expect(queueUrl(queueUrlPrefixOf(pair!, prefix), 'charge.failed')).toBe(pair!.queueUrl);
    sqs.destroy();
  });
});
