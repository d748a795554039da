import { describe, expect, inject, it } from 'vitest';
import {
  CreateTableCommand,
  DynamoDBClient,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { LOCAL_AWS } from '../../bin/local/emulators';

describe('the shared emulator pair', () => {
  it('runs DynamoDB Local, which enforces transaction conditions', async () => {
    // Prepare
    const ddb = new DynamoDBClient({ ...LOCAL_AWS, endpoint: inject('dynamoEndpoint') });
    const TableName = `harness-${Date.now()}`;
    await ddb.send(
      new CreateTableCommand({
        TableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
    const put = () =>
      ddb.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Put: {
                TableName,
                Item: { pk: { S: 'x' } },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      );
    // Act
    await put();
    // Assess
    await expect(put()).rejects.toMatchObject({ name: 'TransactionCanceledException' });
    ddb.destroy();
  });

  it('runs an SQS server that speaks the SDK JSON protocol', async () => {
    const sqs = new SQSClient({ ...LOCAL_AWS, endpoint: inject('sqsEndpoint') });
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: `harness-${Date.now()}` }),
    );
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'hello' }));
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }));
    expect(got.Messages?.[0]?.Body).toBe('hello');
    sqs.destroy();
  });
});
