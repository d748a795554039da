// The table of the default stack: its schema, its protection, and the stream feeding the
// notifier.

import { Match } from 'aws-cdk-lib/assertions';
import { describe, it } from 'vitest';
import { NOTIFIER_FILTER_PATTERN, TABLE_SCHEMA } from '../../lambdas/adapters/table-layout';
import { logicalId, stack, template, useDefaultStack } from './default-stack';

useDefaultStack();

describe('table', () => {
  it('follows TABLE_SCHEMA: its keys and every index with its projection, on demand', () => {
    // Prepare
    const schema = TABLE_SCHEMA as unknown as {
      partitionKey: string;
      sortKey?: string;
      indexes: Array<{ name: string; partitionKey: string; sortKey?: string; projection?: string }>;
    };
    const keys = (pk: string, sk?: string) => [
      { AttributeName: pk, KeyType: 'HASH' },
      ...(sk ? [{ AttributeName: sk, KeyType: 'RANGE' }] : []),
    ];

    // Assess
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: keys(schema.partitionKey, schema.sortKey),
      BillingMode: 'PAY_PER_REQUEST',
      GlobalSecondaryIndexes: schema.indexes.map((i) => ({
        IndexName: i.name,
        KeySchema: keys(i.partitionKey, i.sortKey),
        Projection: { ProjectionType: i.projection === 'ALL' ? 'ALL' : 'KEYS_ONLY' },
      })),
    });
  });

  it('is encrypted, point-in-time recoverable, streamed with old and new images and protected from deletion', () => {
    // Assess
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: Match.objectLike({
        SSESpecification: { SSEEnabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
        DeletionProtectionEnabled: true,
      }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('feeds the notifier through the shared filter pattern only, with bounded retries', () => {
    // Assess
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(stack.gate.store.table), 'StreamArn'] },
      FunctionName: { Ref: logicalId(stack.gate.notifier.handler.function) },
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify(NOTIFIER_FILTER_PATTERN) }] },
      MaximumRetryAttempts: Match.anyValue(),
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: {
        OnFailure: {
          Destination: { 'Fn::GetAtt': [logicalId(stack.gate.notifier.failureQueue), 'Arn'] },
        },
      },
    });
  });
});
