// The one DynamoDB table (lambdas/adapters/table-layout.ts) and who may do what to which
// of its items. Its stream (new and old images) feeds the notifier. Every right is granted
// per item family: `dynamodb:LeadingKeys` limits a statement to the partition-key prefixes
// (CUS#, STATUS#, ...) that the role's code reads or writes.

import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import {
  PARKED_INDEX,
  PK_PREFIX,
  RULES_VERSION_INDEX,
  STATUS_API_WRITABLE_ATTRIBUTES,
  TABLE_SCHEMA,
} from '../lambdas/adapters/table-layout';

/** The shape of TABLE_SCHEMA this construct understands (a sort key and projection are optional). */
interface TableSchema {
  readonly attributes: readonly { readonly name: string; readonly type: 'S' | 'N' | 'B' }[];
  readonly partitionKey: string;
  readonly sortKey?: string;
  readonly indexes: readonly {
    readonly name: string;
    readonly partitionKey: string;
    readonly sortKey?: string;
    readonly projection?: 'KEYS_ONLY' | 'ALL';
  }[];
}

const SCHEMA: TableSchema = TABLE_SCHEMA;

/** Item families by partition-key prefix, as `dynamodb:LeadingKeys` patterns. */
const leading = (...prefixes: string[]) => prefixes.map((p) => `${p}*`);

/** What processors read and write: facts, status items, owner references, parked events. */
export const PROCESSOR_ITEM_FAMILIES = leading(
  PK_PREFIX.facts,
  PK_PREFIX.status,
  PK_PREFIX.owner,
  PK_PREFIX.parked,
);

/** A processor's (and the sweeper's) table actions, on the base table only. */
export const PROCESSOR_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:Query',
  'dynamodb:BatchGetItem',
] as const;

/** The indexes the sweeper queries (both KEYS_ONLY): parked events, stale status items. */
export const SWEEPER_INDEXES = [PARKED_INDEX, RULES_VERSION_INDEX] as const;

/** UpdateItem return values that show no attribute beyond those the request names. */
const NARROW_RETURN_VALUES = ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'];

/**
 * Attributes the status API may name in its UpdateItem of a status item: the writable ones,
 * plus every key attribute of the table and its indexes (IAM requires them listed whenever
 * `dynamodb:Attributes` restricts a request).
 */
export function statusApiUpdateAttributes(): string[] {
  const keys = [
    SCHEMA.partitionKey,
    ...(SCHEMA.sortKey ? [SCHEMA.sortKey] : []),
    ...SCHEMA.indexes.flatMap((i) => [i.partitionKey, ...(i.sortKey ? [i.sortKey] : [])]),
  ];
  return [...new Set([...STATUS_API_WRITABLE_ATTRIBUTES, ...keys])];
}

function attribute(name: string): dynamodb.Attribute {
  const def = SCHEMA.attributes.find((a) => a.name === name);
  if (!def) throw new Error(`table-layout has no attribute definition for ${name}`);
  const type = {
    S: dynamodb.AttributeType.STRING,
    N: dynamodb.AttributeType.NUMBER,
    B: dynamodb.AttributeType.BINARY,
  }[def.type];
  return { name, type };
}

export class Store extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    // Facts are permanent deduplication records and the customer's history, so no TTL.
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: attribute(SCHEMA.partitionKey),
      ...(SCHEMA.sortKey ? { sortKey: attribute(SCHEMA.sortKey) } : {}),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Old and new images: the notifier compares a status item before and after a write
      // and never reads the table.
      stream: dynamodb.StreamViewType[TABLE_SCHEMA.streamView],
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const index of SCHEMA.indexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: attribute(index.partitionKey),
        ...(index.sortKey ? { sortKey: attribute(index.sortKey) } : {}),
        projectionType:
          index.projection === 'ALL'
            ? dynamodb.ProjectionType.ALL
            : dynamodb.ProjectionType.KEYS_ONLY,
      });
    }
  }

  /** ARN of one of the table's indexes. */
  indexArn(name: string): string {
    return `${this.table.tableArn}/index/${name}`;
  }

  /**
   * Processors: apply an event (conditional fact write, status item update, owner
   * references, park and unpark) on facts, status items, owners and parked events only.
   */
  grantProcessor(grantee: iam.IGrantable): iam.Grant {
    return this.grantOnItems(grantee, [...PROCESSOR_ACTIONS], PROCESSOR_ITEM_FAMILIES);
  }

  /** The sweeper: what a processor may do, plus Query of the parked and rulesVersion indexes. */
  grantSweeper(grantee: iam.IGrantable): iam.Grant {
    const items = this.grantProcessor(grantee);
    const indexes = iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:Query'],
      resourceArns: SWEEPER_INDEXES.map((name) => this.indexArn(name)),
    });
    return items.combine(indexes);
  }

  /**
   * The status API: read a status item, page a customer's facts and overrides, and change
   * an override (one transaction: PutItem of an override item, UpdateItem of the status
   * item limited to the attributes an override may change).
   */
  grantStatusApi(grantee: iam.IGrantable): iam.Grant {
    return this.grantStatusRead(grantee)
      .combine(
        this.grantOnItems(
          grantee,
          ['dynamodb:Query'],
          leading(PK_PREFIX.facts, PK_PREFIX.overrides),
        ),
      )
      .combine(this.grantOnItems(grantee, ['dynamodb:PutItem'], leading(PK_PREFIX.overrides)))
      .combine(
        this.grantOnItems(grantee, ['dynamodb:UpdateItem'], leading(PK_PREFIX.status), {
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': statusApiUpdateAttributes() },
          StringEqualsIfExists: { 'dynamodb:ReturnValues': NARROW_RETURN_VALUES },
        }),
      );
  }

  /** Read status items (GetItem on STATUS# keys) and nothing else: provisioning services. */
  grantStatusRead(grantee: iam.IGrantable): iam.Grant {
    return this.grantOnItems(grantee, ['dynamodb:GetItem'], leading(PK_PREFIX.status));
  }

  /** The statement of grantStatusRead, for a managed policy (which is not a grantee). */
  statusReadStatement(): iam.PolicyStatement {
    return new iam.PolicyStatement({
      actions: ['dynamodb:GetItem'],
      resources: [this.table.tableArn],
      conditions: leadingKeysCondition(leading(PK_PREFIX.status)),
    });
  }

  private grantOnItems(
    grantee: iam.IGrantable,
    actions: string[],
    families: readonly string[],
    extra: Record<string, Record<string, unknown>> = {},
  ): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions,
      resourceArns: [this.table.tableArn],
      conditions: { ...leadingKeysCondition(families), ...extra },
    });
  }
}

/**
 * Every partition key a request touches matches one of `families`, and the request has
 * partition keys at all (ForAllValues alone would also pass a request with none).
 */
function leadingKeysCondition(
  families: readonly string[],
): Record<string, Record<string, unknown>> {
  return {
    'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...families] },
    Null: { 'dynamodb:LeadingKeys': 'false' },
  };
}
