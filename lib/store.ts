// The one DynamoDB table (lambdas/adapters/table-layout.ts): facts, overrides, the
// notifier's cursor and parked events. Its NEW_IMAGE stream feeds the notifier.

import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { TABLE_SCHEMA } from '../lambdas/adapters/table-layout';

/**
 * What a processor (and the sweeper) does to the table: conditional PutItem of facts and
 * parked events, Query of a customer and of both indexes, GetItem, DeleteItem on unpark.
 */
export const FACT_WRITER_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:GetItem',
  'dynamodb:DeleteItem',
] as const;

type AttributeName = (typeof TABLE_SCHEMA.attributes)[number]['name'];

function attribute(name: AttributeName): dynamodb.Attribute {
  const def = TABLE_SCHEMA.attributes.find((a) => a.name === name);
  if (!def) throw new Error(`table-layout has no attribute ${name}`);
  const type = { S: dynamodb.AttributeType.STRING, N: dynamodb.AttributeType.NUMBER }[def.type];
  return { name, type };
}

export class Store extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    // Facts are permanent deduplication records by design (CONTRACT section 4), so no TTL.
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: attribute(TABLE_SCHEMA.partitionKey),
      sortKey: attribute(TABLE_SCHEMA.sortKey),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      stream: dynamodb.StreamViewType[TABLE_SCHEMA.streamView],
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const index of TABLE_SCHEMA.indexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: attribute(index.partitionKey),
        sortKey: attribute(index.sortKey),
        projectionType:
          index.projection === 'KEYS_ONLY'
            ? dynamodb.ProjectionType.KEYS_ONLY
            : dynamodb.ProjectionType.ALL,
      });
    }
  }

  /** Processors and the sweeper: apply, park and unpark events. */
  grantFactWriter(grantee: iam.IGrantable): iam.Grant {
    return this.table.grants.actions(grantee, ...FACT_WRITER_ACTIONS);
  }

  /** The status API: read everything, write override items. */
  grantStatusApi(grantee: iam.IGrantable): void {
    this.table.grants.readData(grantee);
    this.table.grants.actions(grantee, 'dynamodb:PutItem');
  }

  /** The notifier: read customers, move its announcement cursor (a conditional UpdateItem). */
  grantNotifier(grantee: iam.IGrantable): void {
    this.table.grants.readData(grantee);
    this.table.grants.actions(grantee, 'dynamodb:UpdateItem');
  }
}
