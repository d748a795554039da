// Who may do what in the default stack: queues and secrets per function, and the table's
// rights per action down to the item family (dynamodb:LeadingKeys) or index, against the
// rights table written out here (lib/access.ts is what the stack grants from).

import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import {
  STATUS_API_WRITABLE_ATTRIBUTES,
  TABLE_SCHEMA,
  factKey,
} from '../../lambdas/adapters/table-layout';
import { registryEntry } from '../../lambdas/core/registry';
import { grantGroups } from '../../lib/access';
import {
  actionsOf,
  actionsOn,
  asArray,
  asksStripe,
  identityPolicies,
  logicalId,
  ofType,
  ref,
  stack,
  statementsOf,
  useDefaultStack,
  type Json,
} from './default-stack';
import { processorRoleKey } from '../../lib/processing';

useDefaultStack();

describe('IAM boundaries', () => {
  const webhookSecret = () => ref(stack.gate.secrets.webhookSecret.secretArn);
  const apiKeySecret = () => ref(stack.gate.secrets.apiKeySecret.secretArn);

  it('lets the verifier send to every processor queue and read its secret, and nothing in DynamoDB', () => {
    // Prepare
    const verifier = stack.gate.ingress.verifier.function;

    // Act
    const actions = actionsOf(verifier);

    // Assess
    for (const p of stack.gate.processing.processors) {
      expect(actionsOn(verifier, { 'Fn::GetAtt': [logicalId(p.queue), 'Arn'] })).toContain(
        'sqs:SendMessage',
      );
    }
    expect(actionsOn(verifier, webhookSecret())).toContain('secretsmanager:GetSecretValue');
    expect(actions.filter((a) => a.startsWith('dynamodb:'))).toEqual([]);
    expect(actions.filter((a) => a.startsWith('sqs:') && a !== 'sqs:SendMessage').sort()).toEqual([
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
    ]);
  });

  it('lets no one but the verifier read the webhook secret', () => {
    // Act
    const readers = identityPolicies().filter((p) =>
      JSON.stringify(p.statements).includes(JSON.stringify(webhookSecret())),
    );

    // Assess
    expect(readers.map((p) => p.roles)).toEqual([[logicalId(stack.gate.ingress.verifier.role)]]);
  });

  it('lets only the processors that ask Stripe (disputes, failed PaymentIntents) read the API key secret', () => {
    for (const p of stack.gate.processing.processors) {
      // Act
      const actions = actionsOn(p.function, apiKeySecret());

      // Assess
      if (asksStripe(p.eventType)) expect(actions).toContain('secretsmanager:GetSecretValue');
      else expect(actions).toEqual([]);
    }
  });

  it('lets each processor consume the queues of its rule kind only, its own among them, and send to none', () => {
    for (const p of stack.gate.processing.processors) {
      // Act
      const queueArns = statementsOf(p.function)
        .filter((s) => asArray(s.Action as string | string[]).includes('sqs:ReceiveMessage'))
        .flatMap((s) => asArray(s.Resource));

      // Assess
      const sameRole = stack.gate.processing.processors.filter(
        (other) => processorRoleKey(other.eventType) === processorRoleKey(p.eventType),
      );
      expect(new Set(queueArns.map((a) => JSON.stringify(a)))).toEqual(
        new Set(
          sameRole.map((other) =>
            JSON.stringify({ 'Fn::GetAtt': [logicalId(other.queue), 'Arn'] }),
          ),
        ),
      );
      expect(queueArns).toContainEqual({ 'Fn::GetAtt': [logicalId(p.queue), 'Arn'] });
      expect(actionsOf(p.function)).not.toContain('sqs:SendMessage');
    }
  });

  it('lets the sweeper read the API key secret, but not the webhook secret', () => {
    // Prepare
    const sweeper = stack.gate.processing.sweeper.function;

    // Assess
    expect(actionsOn(sweeper, apiKeySecret())).toContain('secretsmanager:GetSecretValue');
    expect(actionsOn(sweeper, webhookSecret())).toEqual([]);
  });
});

describe('least privilege on the table, per action and item family', () => {
  const tableArn = () => ({ 'Fn::GetAtt': [logicalId(stack.gate.store.table), 'Arn'] });
  const streamArn = () => ({ 'Fn::GetAtt': [logicalId(stack.gate.store.table), 'StreamArn'] });
  const indexArn = (name: string) => ({ 'Fn::Join': ['', [tableArn(), `/index/${name}`]] });
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

  /**
   * What a statement's resource and condition reach: the LeadingKeys patterns on the table
   * (`<every item>` without them), `index/<name>`, `stream`, or the resource verbatim.
   */
  function targetsOf(resource: unknown, condition: Json | undefined): string[] {
    if (same(resource, tableArn())) {
      const leading = condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'];
      const present = condition?.Null?.['dynamodb:LeadingKeys'] === 'false';
      const limited = condition?.['ForAllValues:StringEquals']?.['dynamodb:Attributes']
        ? ' [override attributes]'
        : '';
      return leading && present
        ? asArray(leading as string | string[]).map((p) => `${p}${limited}`)
        : ['<every item>'];
    }
    const index = TABLE_SCHEMA.indexes.find((i) => same(resource, indexArn(i.name)));
    if (index) return [`index/${index.name}`];
    if (same(resource, streamArn())) return ['stream'];
    return [typeof resource === 'string' ? resource : JSON.stringify(resource)];
  }

  /** Every (DynamoDB action, target) the statements allow, as `GetItem CUS#*` lines, sorted. */
  function dynamoRights(statements: readonly Json[]): string[] {
    const rights = new Set<string>();
    for (const s of statements) {
      const actions = asArray(s.Action as string | string[]).filter((a) =>
        a.startsWith('dynamodb:'),
      );
      for (const resource of asArray(s.Resource)) {
        for (const target of targetsOf(resource, s.Condition)) {
          for (const action of actions) rights.add(`${action.slice('dynamodb:'.length)} ${target}`);
        }
      }
    }
    return [...rights].sort();
  }

  const rightsOf = (fn: IConstruct) => dynamoRights(statementsOf(fn));

  /** The rights table, written out: a role that gains or loses one fails. */
  const PROCESSOR = [
    'BatchGetItem OVF#*',
    'BatchGetItem REF#*',
    'BatchWriteItem OVF#*',
    'DeleteItem PARK#*',
    'GetItem CUS#*',
    'GetItem OVF#*',
    'GetItem PARK#*',
    'GetItem REF#*',
    'GetItem STATUS#*',
    'PutItem CUS#*',
    'PutItem PARK#*',
    'Query CUS#*',
    'Query OVF#*',
    'UpdateItem OVF#*',
    'UpdateItem REF#*',
    'UpdateItem STATUS#*',
  ];
  /** customer.* events name their customer by their own id: never parked. */
  const CUSTOMER_PROCESSOR = PROCESSOR.filter((r) => r !== 'PutItem PARK#*');
  const SWEEPER = [
    'BatchGetItem OVF#*',
    'BatchGetItem PARK#*',
    'BatchGetItem REF#*',
    'BatchWriteItem OVF#*',
    'DeleteItem PARK#*',
    'GetItem CUS#*',
    'GetItem OVF#*',
    'GetItem REF#*',
    'GetItem SETTINGS',
    'GetItem STATUS#*',
    'PutItem CUS#*',
    'PutItem SETTINGS',
    'Query CUS#*',
    'Query OVF#*',
    'Query index/due',
    'Query index/parked',
    'Query index/rulesVersion',
    'Scan index/rulesVersion',
    'UpdateItem OVF#*',
    'UpdateItem REF#*',
    'UpdateItem STATUS#*',
  ];
  const STATUS_API = [
    'BatchGetItem REF#acct_*',
    'BatchGetItem STATUS#*',
    'GetItem STATUS#*',
    'PutItem OVR#*',
    'Query CUS#*',
    'Query OVR#*',
    'Query index/grace',
    'Query index/trouble',
    'UpdateItem STATUS#* [override attributes]',
  ];
  const NOTIFIER = [
    'DescribeStream stream',
    'GetRecords stream',
    'GetShardIterator stream',
    'ListStreams *',
  ];

  it("lets every processor do exactly what its kind's rule needs: commit facts, write status and overflow items, reveal owners, park (all kinds but customer) and unpark", () => {
    for (const p of stack.gate.processing.processors) {
      // Act
      const rights = rightsOf(p.function);

      // Assess
      const kind = registryEntry(p.eventType)!.kind;
      expect(rights, p.eventType).toEqual(kind === 'customer' ? CUSTOMER_PROCESSOR : PROCESSOR);
    }
  });

  it('lets the sweeper settle due and stale items, write the settings item, retry parked events (never park one) and count items behind the rules', () => {
    // Assess
    expect(rightsOf(stack.gate.processing.sweeper.function)).toEqual(SWEEPER);
  });

  it('lets the status API read status items, resolve acct_ ids, page facts and overrides, list customers by state and write overrides', () => {
    // Assess
    expect(rightsOf(stack.gate.ingress.statusApi.function)).toEqual(STATUS_API);
  });

  it("limits the status API's UpdateItem of status items to the attributes an override changes, with narrow return values", () => {
    // Act
    const update = statementsOf(stack.gate.ingress.statusApi.function).filter((s) =>
      asArray(s.Action as string | string[]).includes('dynamodb:UpdateItem'),
    );

    // Assess
    const keyAttributes = (
      TABLE_SCHEMA.indexes as ReadonlyArray<{ partitionKey: string; sortKey?: string }>
    )
      .flatMap((i) => [i.partitionKey, i.sortKey])
      .filter((a): a is string => a !== undefined);
    expect(update).toHaveLength(1);
    expect(asArray(update[0]!.Action as string | string[])).toEqual(['dynamodb:UpdateItem']);
    const condition = update[0]!.Condition as Json;
    expect(new Set(condition['ForAllValues:StringEquals']['dynamodb:Attributes'])).toEqual(
      new Set([...STATUS_API_WRITABLE_ATTRIBUTES, 'pk', 'sk', ...keyAttributes]),
    );
    expect(condition.StringEqualsIfExists).toEqual({
      'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'],
    });
  });

  it('gives the notifier no table rights: it reads the stream and publishes announcements', () => {
    // Prepare
    const notifier = stack.gate.notifier.handler.function;

    // Assess
    expect(rightsOf(notifier)).toEqual(NOTIFIER);
    expect(actionsOn(notifier, ref(stack.gate.notifications.announcementsTopic.topicArn))).toEqual([
      'sns:Publish',
    ]);
    expect(actionsOn(notifier, ref(stack.gate.notifications.alertsTopic.topicArn))).toEqual([]);
  });

  it('gives the verifier no table rights at all', () => {
    // Assess
    expect(rightsOf(stack.gate.ingress.verifier.function)).toEqual([]);
  });

  it('lets no policy of the stack update, delete or batch-write a fact, nor write the table without a LeadingKeys condition', () => {
    // Prepare
    const glob = (pattern: string) =>
      new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
    const changes = ['dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];
    const managed = ofType('AWS::IAM::ManagedPolicy').map(
      ([, p]) => p.Properties.PolicyDocument.Statement as Json[],
    );
    const statements = [...identityPolicies().map((p) => p.statements), ...managed]
      .flat()
      .filter((s) => s.Effect === 'Allow');
    const fact = factKey('cus_1', 'pi_1', 'evt_1').pk;

    // Act
    const offending = statements.filter((s) => {
      const actions = asArray(s.Action as string | string[]);
      const changing = changes.some((c) => actions.some((a) => glob(a).test(c)));
      const onTable = asArray(s.Resource).some((r) => same(r, tableArn()) || r === '*');
      if (!changing || !onTable) return false;
      const leading = s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'];
      if (!leading || s.Condition?.Null?.['dynamodb:LeadingKeys'] !== 'false') return true;
      return asArray(leading as string | string[]).some((p) => glob(p).test(fact));
    });

    // Assess
    expect(statements.length).toBeGreaterThan(20);
    expect(offending).toEqual([]);
  });

  it('refuses, in the rights table itself, a right to change facts', () => {
    // Act
    const changing = (action: 'UpdateItem' | 'DeleteItem' | 'BatchWriteItem') => () =>
      grantGroups({ items: { [action]: ['status', 'facts'] } });

    // Assess
    expect(changing('UpdateItem')).toThrow(/UpdateItem on facts: those items are only created/);
    expect(changing('DeleteItem')).toThrow(/only created/);
    expect(changing('BatchWriteItem')).toThrow(/only created/);
    expect(grantGroups({ items: { PutItem: ['facts'] } })).toEqual([
      { actions: ['dynamodb:PutItem'], on: { families: ['CUS#*'] } },
    ]);
  });
});
