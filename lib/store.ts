// The one DynamoDB table (lambdas/adapters/table-layout.ts) and who may do what to which
// of its items. Its stream (new and old images) feeds the notifier. Every right is granted
// per action and item family, as lib/access.ts tables them from the code: `dynamodb:LeadingKeys`
// limits a statement to the partition-key prefixes (CUS#, STATUS#, ...) its actions are used
// on, and index actions name the index ARNs.

import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { ObjectKind } from '../lambdas/core/registry';
import { STATUS_API_WRITABLE_ATTRIBUTES, TABLE_SCHEMA } from '../lambdas/adapters/table-layout';
import {
  CLIENT_RIGHTS,
  STATUS_API_RIGHTS,
  SWEEPER_RIGHTS,
  grantGroups,
  processorRights,
  type Rights,
} from './access';

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

  /** A processor of a rule kind (its role is shared by the kind's processors). */
  grantProcessor(grantee: iam.IGrantable, kind: ObjectKind): iam.Grant {
    return this.grantRights(grantee, processorRights(kind));
  }

  /** The sweeper: due and policy settling, the settings item, parked events, counts. */
  grantSweeper(grantee: iam.IGrantable): iam.Grant {
    return this.grantRights(grantee, SWEEPER_RIGHTS);
  }

  /**
   * The status API: read status items, page facts and overrides, list customers by state,
   * resolve `acct_` ids, and change an override (one transaction: PutItem of an override
   * item, UpdateItem of the status item limited to the attributes an override may change).
   */
  grantStatusApi(grantee: iam.IGrantable): iam.Grant {
    return this.grantRights(grantee, STATUS_API_RIGHTS);
  }

  /**
   * What the provisioning client reads (GetItem of status items, the settings item and
   * `acct_` alias items) and nothing else.
   */
  grantStatusRead(grantee: iam.IGrantable): iam.Grant {
    return this.grantRights(grantee, CLIENT_RIGHTS);
  }

  /** The statement of grantStatusRead, for a managed policy (which is not a grantee). */
  statusReadStatement(): iam.PolicyStatement {
    const specs = this.statementSpecs(CLIENT_RIGHTS);
    if (specs.length !== 1) throw new Error("the client's rights must fit one statement");
    return new iam.PolicyStatement(specs[0]);
  }

  /** The statements a Rights row (lib/access.ts) becomes. */
  private statementSpecs(rights: Rights): StatementSpec[] {
    return grantGroups(rights).map((group) => {
      if ('indexes' in group.on) {
        return {
          actions: [...group.actions],
          resources: group.on.indexes.map((name) => this.indexArn(name)),
        };
      }
      return {
        actions: [...group.actions],
        resources: [this.table.tableArn],
        conditions: {
          ...leadingKeysCondition(group.on.families),
          ...(group.overrideAttributesOnly
            ? {
                'ForAllValues:StringEquals': { 'dynamodb:Attributes': statusApiUpdateAttributes() },
                StringEqualsIfExists: { 'dynamodb:ReturnValues': NARROW_RETURN_VALUES },
              }
            : {}),
        },
      };
    });
  }

  private grantRights(grantee: iam.IGrantable, rights: Rights): iam.Grant {
    return this.statementSpecs(rights)
      .map((spec) =>
        iam.Grant.addToPrincipal({
          grantee,
          actions: spec.actions,
          resourceArns: spec.resources,
          ...(spec.conditions ? { conditions: spec.conditions } : {}),
        }),
      )
      .reduce((all, grant) => all.combine(grant));
  }
}

/** A statement before it becomes a grant or a managed policy's statement. */
interface StatementSpec {
  readonly actions: string[];
  readonly resources: string[];
  readonly conditions?: Record<string, Record<string, unknown>>;
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
