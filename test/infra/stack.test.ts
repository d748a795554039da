// Fine-grained assertions on the synthesized stack with the default configuration (all 28
// registry types enabled): resources, properties, IAM boundaries down to the item family,
// throttles, alarms, outputs.

import { Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import type { CfnResource } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DLQ_RETENTION_SECONDS,
  MAX_MESSAGE_BYTES,
  deadLetterQueueName,
  queueName,
} from '../../lambdas/adapters/queue-layout';
import { METRICS, metricNamespace } from '../../lambdas/core/metric-names';
import {
  NOTIFIER_FILTER_PATTERN,
  STATUS_API_WRITABLE_ATTRIBUTES,
  TABLE_SCHEMA,
} from '../../lambdas/adapters/table-layout';
import { REGISTRY } from '../../lambdas/core/registry';
import { ENV } from '../../lambdas/lambda-env';
import type { BillingGateStack } from '../../lib/billing-gate-stack';
import { synthesizeBillingGate } from './synth-billing-gate';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let stack: BillingGateStack;
let template: Template;
let resources: Record<string, Json>;

beforeAll(() => {
  ({ stack, template } = synthesizeBillingGate());
  resources = template.toJSON().Resources as Record<string, Json>;
});

// ---------------------------------------------------------------------------------------
// helpers

function logicalId(construct: IConstruct): string {
  return Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnResource);
}

function ofType(type: string): Array<[string, Json]> {
  return Object.entries(resources).filter(([, r]) => r.Type === type);
}

function resourceOf(construct: IConstruct): Json {
  const found = resources[logicalId(construct)];
  if (!found) throw new Error(`no resource for ${construct.node.path}`);
  return found;
}

function envOf(fn: IConstruct): Record<string, unknown> {
  return resourceOf(fn).Properties.Environment.Variables;
}

function asArray<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}

/** Allow statements of every policy attached to the function's role. */
function statementsOf(fn: IConstruct): Json[] {
  const roleId = resourceOf(fn).Properties.Role['Fn::GetAtt'][0];
  return ofType('AWS::IAM::Policy')
    .filter(([, p]) => p.Properties.Roles.some((r: Json) => r.Ref === roleId))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Json[])
    .filter((s) => s.Effect === 'Allow');
}

function actionsOf(fn: IConstruct): string[] {
  return statementsOf(fn).flatMap((s) => asArray(s.Action as string | string[]));
}

/** Actions the function may perform on the resource (a resolved reference, e.g. {Ref}). */
function actionsOn(fn: IConstruct, resource: unknown): string[] {
  return statementsOf(fn)
    .filter((s) => asArray(s.Resource).some((r) => JSON.stringify(r) === JSON.stringify(resource)))
    .flatMap((s) => asArray(s.Action as string | string[]));
}

const ref = (value: string) => stack.resolve(value);
const NAMESPACE = metricNamespace('dev');

function alarmsOn(metricName: string, dimensionValue: unknown): Json[] {
  return ofType('AWS::CloudWatch::Alarm')
    .map(([, a]) => a.Properties)
    .filter(
      (p) =>
        p.MetricName === metricName &&
        (p.Dimensions ?? []).some(
          (d: Json) => JSON.stringify(d.Value) === JSON.stringify(dimensionValue),
        ),
    );
}

/** The processors whose rule may ask Stripe: disputes look their charge up (a detach never does). */
const asksStripe = (type: string) => type.startsWith('charge.dispute.');

// ---------------------------------------------------------------------------------------

describe('stack size', () => {
  it('stays below 450 resources with all 28 registry types enabled (CloudFormation allows 500)', () => {
    // Act
    const count = Object.keys(resources).length;

    // Assess
    expect(stack.gate.processing.processors).toHaveLength(28);
    expect(count).toBeLessThan(450);
  });
});

describe('queues and processors', () => {
  it('creates one processor, queue and dead-letter queue per registry entry', () => {
    // Act
    const queueNames = ofType('AWS::SQS::Queue').map(([, q]) => q.Properties.QueueName);
    const processorTypes = stack.gate.processing.processors.map(
      (p) => envOf(p.function)[ENV.eventType],
    );

    // Assess
    const expected = REGISTRY.flatMap((e) => [
      queueName('sbg-dev', e.type),
      deadLetterQueueName('sbg-dev', e.type),
    ]);
    expect(queueNames.filter((n) => n !== 'sbg-dev-notifier-failures').sort()).toEqual(
      expected.sort(),
    );
    expect(processorTypes).toEqual(REGISTRY.map((e) => e.type));
  });

  it('states MaximumMessageSize 1048576 on every queue', () => {
    // Act
    const sizes = ofType('AWS::SQS::Queue').map(([, q]) => q.Properties.MaximumMessageSize);

    // Assess
    expect(sizes).toHaveLength(57);
    expect(new Set(sizes)).toEqual(new Set([MAX_MESSAGE_BYTES]));
  });

  it('encrypts every queue at rest', () => {
    // Act
    const unencrypted = ofType('AWS::SQS::Queue').filter(
      ([, q]) => q.Properties.SqsManagedSseEnabled !== true && !q.Properties.KmsMasterKeyId,
    );

    // Assess
    expect(unencrypted.map(([id]) => id)).toEqual([]);
  });

  it('denies every non-TLS request on every queue', () => {
    // Prepare
    const sslOnly = ofType('AWS::SQS::QueuePolicy').filter(([, p]) =>
      (p.Properties.PolicyDocument.Statement as Json[]).some(
        (s) =>
          s.Effect === 'Deny' &&
          s.Action === 'sqs:*' &&
          s.Condition?.Bool?.['aws:SecureTransport'] === 'false',
      ),
    );
    const covered = new Set(
      sslOnly.flatMap(([, p]) => p.Properties.Queues.map((q: Json) => q.Ref)),
    );

    // Act
    const uncovered = ofType('AWS::SQS::Queue').filter(([id]) => !covered.has(id));

    // Assess
    expect(uncovered.map(([id]) => id)).toEqual([]);
  });

  it('gives each source queue a visibility timeout of at least six processor timeouts', () => {
    // Act
    const ratios = stack.gate.processing.processors.map(
      (p) =>
        resourceOf(p.queue).Properties.VisibilityTimeout /
        resourceOf(p.function).Properties.Timeout,
    );

    // Assess
    expect(Math.min(...ratios)).toBeGreaterThanOrEqual(6);
  });

  it('redrives each source queue to its own dead-letter queue after 5 receives', () => {
    for (const p of stack.gate.processing.processors) {
      // Act
      const redrive = resourceOf(p.queue).Properties.RedrivePolicy;

      // Assess
      expect(redrive).toEqual({
        deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(p.deadLetterQueue), 'Arn'] },
        maxReceiveCount: 5,
      });
    }
  });

  it('keeps dead letters 14 days and queued events at least 4 days', () => {
    // Act
    const dlqRetention = stack.gate.processing.processors.map(
      (p) => resourceOf(p.deadLetterQueue).Properties.MessageRetentionPeriod,
    );
    const sourceRetention = stack.gate.processing.processors.map(
      (p) => resourceOf(p.queue).Properties.MessageRetentionPeriod,
    );

    // Assess
    expect(new Set(dlqRetention)).toEqual(new Set([DLQ_RETENTION_SECONDS]));
    expect(Math.min(...sourceRetention)).toBeGreaterThanOrEqual(4 * 24 * 3600);
  });

  it('maps each queue to its processor with partial batch failures, a batching window and a concurrency cap', () => {
    for (const p of stack.gate.processing.processors) {
      // Assess
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [logicalId(p.queue), 'Arn'] },
        FunctionName: { Ref: logicalId(p.function) },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        MaximumBatchingWindowInSeconds: Match.anyValue(),
        ScalingConfig: { MaximumConcurrency: 5 },
      });
    }
  });
});

describe('alarms', () => {
  it('alarms on every dead-letter queue from its first message', () => {
    for (const p of stack.gate.processing.processors) {
      // Act
      const alarms = alarmsOn(
        'ApproximateNumberOfMessagesVisible',
        stack.resolve(p.deadLetterQueue.queueName),
      );

      // Assess
      expect(alarms).toHaveLength(1);
      expect(alarms[0]).toMatchObject({
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
      expect(alarms[0]!.AlarmDescription).toContain(`npm run redrive -- --queue ${p.eventType}`);
    }
  });

  it('alarms on the age of the oldest message of every source queue', () => {
    for (const p of stack.gate.processing.processors) {
      // Act
      const alarms = alarmsOn('ApproximateAgeOfOldestMessage', stack.resolve(p.queue.queueName));

      // Assess
      expect(alarms).toHaveLength(1);
    }
  });

  it('alarms on errors and throttles of every processor', () => {
    for (const p of stack.gate.processing.processors) {
      // Act
      const alarms = ofType('AWS::CloudWatch::Alarm')
        .map(([, a]) => a.Properties)
        .filter((a) => JSON.stringify(a.Metrics ?? []).includes(`"${logicalId(p.function)}"`));
      const metricNames = alarms.flatMap((a) =>
        (a.Metrics as Json[]).map((m) => m.MetricStat?.Metric.MetricName).filter(Boolean),
      );

      // Assess
      expect(metricNames.sort()).toEqual(['Errors', 'Throttles']);
    }
  });

  it('gives every alarm a description and the alerts topic as action', () => {
    // Prepare
    const topic = ref(stack.gate.notifications.alertsTopic.topicArn);

    // Act
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);

    // Assess
    for (const alarm of alarms) {
      expect(alarm.AlarmDescription.length).toBeGreaterThan(80);
      expect(alarm.AlarmActions).toEqual([topic]);
    }
  });

  it('alarms on verifier errors and on API 5xx', () => {
    // Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [
        { Name: 'FunctionName', Value: { Ref: logicalId(stack.gate.ingress.verifier.function) } },
      ],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApiGateway',
      MetricName: '5xx',
      Dimensions: [{ Name: 'ApiId', Value: { Ref: logicalId(stack.gate.ingress.api) } }],
    });
  });

  it('alarms on a spike of signature failures from the verifier metric', () => {
    // Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: NAMESPACE,
      MetricName: METRICS.signatureFailure,
      Dimensions: [{ Name: 'service', Value: 'verifier' }],
      Statistic: 'Sum',
      Threshold: Match.anyValue(),
    });
  });

  it('alarms when a parked event is older than 24 hours, with the runbook in its description', () => {
    // Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: NAMESPACE,
      MetricName: METRICS.oldestParkedAgeSeconds,
      Dimensions: [{ Name: 'service', Value: 'sweeper' }],
      Threshold: 24 * 3600,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmDescription: Match.stringLikeRegexp('npm run backfill.*Stripe API key secret'),
    });
  });

  it('alarms on notifier errors and on its on-failure queue', () => {
    // Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Dimensions: [
        { Name: 'FunctionName', Value: { Ref: logicalId(stack.gate.notifier.handler.function) } },
      ],
    });
    expect(
      alarmsOn(
        'ApproximateNumberOfMessagesVisible',
        stack.resolve(stack.gate.notifier.failureQueue.queueName),
      ),
    ).toHaveLength(1);
  });

  it('alarms when status items stay behind the running rules for a day, naming the rebuild', () => {
    // Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: NAMESPACE,
      MetricName: METRICS.statusItemsBehindRules,
      Dimensions: [{ Name: 'service', Value: 'sweeper' }],
      Statistic: 'Minimum',
      Period: 3600,
      EvaluationPeriods: 24,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmDescription: Match.stringLikeRegexp('npm run rebuild'),
    });
  });

  it('shows the pipeline on a dashboard built from the shared metric names', () => {
    // Act
    const body = JSON.stringify(
      ofType('AWS::CloudWatch::Dashboard')[0]![1].Properties.DashboardBody,
    );

    // Assess
    for (const name of [
      METRICS.webhookReceived,
      METRICS.webhookQueued,
      METRICS.webhookIgnored,
      METRICS.webhookRejected,
      METRICS.applyLatencyMs,
      METRICS.eventApplied,
      METRICS.eventDuplicate,
      METRICS.parkedEvents,
      METRICS.statusItemsBehindRules,
      'ApproximateAgeOfOldestMessage',
      'ApproximateNumberOfMessagesVisible',
    ]) {
      expect(body).toContain(name);
    }
  });
});

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

describe('HTTP API', () => {
  it('routes POST /webhook publicly to the verifier', () => {
    // Assess
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'POST /webhook',
      AuthorizationType: 'NONE',
    });
  });

  it('requires IAM authorisation on every customer route', () => {
    // Act
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);

    // Assess
    expect(
      routes
        .filter((r) => r.RouteKey !== 'POST /webhook')
        .map((r) => [r.RouteKey, r.AuthorizationType])
        .sort(),
    ).toEqual([
      ['DELETE /customers/{customerId}/override', 'AWS_IAM'],
      ['GET /customers/{customerId}/billing-status', 'AWS_IAM'],
      ['GET /customers/{customerId}/events', 'AWS_IAM'],
      ['PUT /customers/{customerId}/override', 'AWS_IAM'],
    ]);
  });

  it('writes access logs of the $default stage to CloudWatch Logs', () => {
    // Assess
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [logicalId(stack.gate.ingress.accessLogs), 'Arn'] },
        Format: Match.stringLikeRegexp('\\$context.requestId'),
      },
    });
  });

  it('gives the webhook and each customer route a throttle of its own', () => {
    // Act
    const stage = ofType('AWS::ApiGatewayV2::Stage')[0]![1];
    const routeKeys = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey);

    // Assess
    const customer = { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 };
    expect(stage.Properties.RouteSettings).toEqual({
      'POST /webhook': { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
      'GET /customers/{customerId}/billing-status': customer,
      'GET /customers/{customerId}/events': customer,
      'PUT /customers/{customerId}/override': customer,
      'DELETE /customers/{customerId}/override': customer,
    });
    expect(Object.keys(stage.Properties.RouteSettings).sort()).toEqual(routeKeys.sort());
    expect(stage.Properties.DefaultRouteSettings).toEqual(customer);
  });

  it('creates the stage after every route, so CloudFormation finds each route key', () => {
    // Act
    const [, stage] = ofType('AWS::ApiGatewayV2::Stage')[0]!;
    const routeIds = ofType('AWS::ApiGatewayV2::Route').map(([id]) => id);

    // Assess
    expect(routeIds).toHaveLength(5);
    expect(asArray(stage.DependsOn ?? [])).toEqual(expect.arrayContaining(routeIds));
  });
});

describe('functions', () => {
  const everyFunction = () => ofType('AWS::Lambda::Function');

  it('run Node.js 24 on arm64', () => {
    // Assess
    expect(everyFunction()).toHaveLength(32);
    for (const [, fn] of everyFunction()) {
      expect([fn.Properties.Runtime, fn.Properties.Architectures]).toEqual([
        'nodejs24.x',
        ['arm64'],
      ]);
    }
  });

  it('log JSON lines: application level INFO, system level WARN (no START/END/REPORT lines)', () => {
    for (const [, fn] of everyFunction()) {
      // Assess
      expect(fn.Properties.LoggingConfig).toMatchObject({
        LogFormat: 'JSON',
        ApplicationLogLevel: 'INFO',
        SystemLogLevel: 'WARN',
      });
      expect(fn.Properties.Environment.Variables.LOG_LEVEL).toBeUndefined();
      expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBeUndefined();
    }
  });

  it('each log to an own log group with a retention', () => {
    // Act
    const groups = everyFunction().map(([, fn]) => fn.Properties.LoggingConfig.LogGroup.Ref);

    // Assess
    expect(new Set(groups).size).toBe(groups.length);
    for (const group of groups) {
      expect(resources[group]).toMatchObject({
        Type: 'AWS::Logs::LogGroup',
        Properties: { RetentionInDays: expect.any(Number) },
      });
    }
  });

  it('each have an own role', () => {
    // Act
    const roles = everyFunction().map(([, fn]) => fn.Properties.Role['Fn::GetAtt'][0]);

    // Assess
    expect(new Set(roles).size).toBe(roles.length);
  });

  it('carry the Powertools service name and metrics namespace', () => {
    for (const [, fn] of everyFunction()) {
      // Assess
      expect(fn.Properties.Environment.Variables).toMatchObject({
        POWERTOOLS_SERVICE_NAME: expect.stringMatching(
          /^(verifier|processor|status-api|notifier|sweeper)$/,
        ),
        POWERTOOLS_METRICS_NAMESPACE: NAMESPACE,
      });
    }
  });

  it('are not traced unless tracing is asked for', () => {
    // Assess
    for (const [, fn] of everyFunction()) expect(fn.Properties.TracingConfig).toBeUndefined();
  });

  it('have no managed policies: every right comes from a grant', () => {
    // Assess
    for (const [, role] of ofType('AWS::IAM::Role')) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('have no wildcard actions and no wildcard resource except ListStreams', () => {
    // Act
    const wildcards = ofType('AWS::IAM::Policy')
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Json[])
      .filter(
        (s) =>
          asArray(s.Resource).includes('*') ||
          asArray(s.Action as string | string[]).some((a) => a === '*' || a.endsWith(':*')),
      );

    // Assess
    expect(wildcards).toEqual([{ Action: 'dynamodb:ListStreams', Effect: 'Allow', Resource: '*' }]);
  });

  it('run the sweeper on a five-minute schedule', () => {
    // Assess
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [logicalId(stack.gate.processing.sweeper.function), 'Arn'] },
        }),
      ],
    });
  });
});

describe('environment', () => {
  it('tells the verifier where the queues are, which types, which secret and the tolerance', () => {
    // Act
    const env = envOf(stack.gate.ingress.verifier.function);

    // Assess
    expect(env).toMatchObject({
      [ENV.queueUrlPrefix]: ref(stack.gate.processing.queueUrlPrefix),
      [ENV.enabledEventTypes]: REGISTRY.map((e) => e.type).join(','),
      [ENV.webhookSecretArn]: ref(stack.gate.secrets.webhookSecret.secretArn),
      [ENV.tolerance]: '300',
    });
    expect(env[ENV.stripeMode]).toBeUndefined();
  });

  it('builds the queue URL prefix from region, URL suffix, account and the queue prefix', () => {
    // Assess
    expect(ref(stack.gate.processing.queueUrlPrefix)).toEqual({
      'Fn::Join': [
        '',
        [
          'https://sqs.',
          { Ref: 'AWS::Region' },
          '.',
          { Ref: 'AWS::URLSuffix' },
          '/',
          { Ref: 'AWS::AccountId' },
          '/sbg-dev-',
        ],
      ],
    });
  });

  it('gives each processor its type and the table, and the API key secret only where allowed', () => {
    for (const p of stack.gate.processing.processors) {
      // Act
      const env = envOf(p.function);

      // Assess
      expect(env[ENV.eventType]).toBe(p.eventType);
      expect(env[ENV.tableName]).toEqual(ref(stack.gate.store.table.tableName));
      expect(env[ENV.apiKeySecretArn]).toEqual(
        asksStripe(p.eventType) ? ref(stack.gate.secrets.apiKeySecret.secretArn) : undefined,
      );
    }
  });

  it('gives the status API the table and the warning window, the notifier the announcements topic and no table', () => {
    // Act
    const status = envOf(stack.gate.ingress.statusApi.function);
    const notifier = envOf(stack.gate.notifier.handler.function);

    // Assess
    expect(status).toMatchObject({
      [ENV.tableName]: ref(stack.gate.store.table.tableName),
      [ENV.expiryWarningDays]: '30',
    });
    expect(notifier).toMatchObject({
      [ENV.expiryWarningDays]: '30',
      [ENV.topicArn]: ref(stack.gate.notifications.announcementsTopic.topicArn),
    });
    expect(notifier[ENV.tableName]).toBeUndefined();
  });

  it('gives the sweeper the table and the API key secret, not the queue prefix', () => {
    // Act
    const env = envOf(stack.gate.processing.sweeper.function);

    // Assess
    expect(env).toMatchObject({
      [ENV.tableName]: ref(stack.gate.store.table.tableName),
      [ENV.apiKeySecretArn]: ref(stack.gate.secrets.apiKeySecret.secretArn),
    });
    expect(env[ENV.queueUrlPrefix]).toBeUndefined();
  });

  it('never holds a secret value, in the environment or anywhere in the template', () => {
    // Act
    const secrets = ofType('AWS::SecretsManager::Secret').map(([, s]) => s.Properties);
    const envNames = ofType('AWS::Lambda::Function').flatMap(([, fn]) =>
      Object.keys(fn.Properties.Environment.Variables as Json),
    );

    // Assess
    expect(secrets).toHaveLength(2);
    for (const s of secrets) {
      expect(s.SecretString).toBeUndefined();
      expect(s.GenerateSecretString).toBeDefined();
    }
    expect(envNames).not.toContain(ENV.webhookSecret);
    expect(envNames).not.toContain(ENV.apiKey);
  });
});

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
    const readers = ofType('AWS::IAM::Policy').filter(([, p]) =>
      JSON.stringify(p.Properties.PolicyDocument).includes(JSON.stringify(webhookSecret())),
    );

    // Assess
    expect(readers.map(([id]) => id)).toEqual([
      logicalId(stack.gate.ingress.verifier.role.node.findChild('DefaultPolicy')),
    ]);
  });

  it('lets only the processors that ask Stripe (disputes) read the API key secret', () => {
    for (const p of stack.gate.processing.processors) {
      // Act
      const actions = actionsOn(p.function, apiKeySecret());

      // Assess
      if (asksStripe(p.eventType)) expect(actions).toContain('secretsmanager:GetSecretValue');
      else expect(actions).toEqual([]);
    }
  });

  it('lets each processor consume its own queue only', () => {
    for (const p of stack.gate.processing.processors) {
      // Act
      const queueArns = statementsOf(p.function)
        .filter((s) => asArray(s.Action as string | string[]).includes('sqs:ReceiveMessage'))
        .flatMap((s) => asArray(s.Resource));

      // Assess
      expect(queueArns).toEqual([{ 'Fn::GetAtt': [logicalId(p.queue), 'Arn'] }]);
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

describe('least privilege on the table, per item family', () => {
  const tableArn = () => ({ 'Fn::GetAtt': [logicalId(stack.gate.store.table), 'Arn'] });
  const indexArn = (name: string) => ({
    'Fn::Join': ['', [tableArn(), `/index/${name}`]],
  });
  const onItems = (...prefixes: string[]) => ({
    'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': prefixes.map((p) => `${p}*`) },
    Null: { 'dynamodb:LeadingKeys': 'false' },
  });

  /** Every statement of the function's role that names a DynamoDB action, normalised. */
  function dynamoStatements(fn: IConstruct): Json[] {
    return statementsOf(fn)
      .filter((s) => asArray(s.Action as string | string[]).some((a) => a.startsWith('dynamodb:')))
      .map((s) => ({
        actions: asArray(s.Action as string | string[]).sort(),
        resources: asArray(s.Resource),
        ...(s.Condition ? { condition: s.Condition } : {}),
      }));
  }

  const processorStatement = () => ({
    actions: [
      'dynamodb:BatchGetItem',
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ],
    resources: [tableArn()],
    condition: onItems('CUS#', 'STATUS#', 'REF#', 'PARK#'),
  });

  it('lets every processor use exactly its six actions on facts, status items, owners and parked events', () => {
    for (const p of stack.gate.processing.processors) {
      // Act
      const statements = dynamoStatements(p.function);

      // Assess
      expect(statements, p.eventType).toEqual([processorStatement()]);
    }
  });

  it('lets the sweeper do what a processor does, plus Query the parked and rulesVersion indexes', () => {
    // Act
    const statements = dynamoStatements(stack.gate.processing.sweeper.function);

    // Assess
    expect(statements).toEqual([
      processorStatement(),
      { actions: ['dynamodb:Query'], resources: [indexArn('parked'), indexArn('rulesVersion')] },
    ]);
  });

  it('lets the status API get status items, page facts and overrides, put overrides and update only the override attributes of status items', () => {
    // Act
    const statements = dynamoStatements(stack.gate.ingress.statusApi.function);

    // Assess
    const keyAttributes = (
      TABLE_SCHEMA.indexes as ReadonlyArray<{ partitionKey: string; sortKey?: string }>
    )
      .flatMap((i) => [i.partitionKey, i.sortKey])
      .filter((a): a is string => a !== undefined);
    const attributes = statements.find((s) => s.actions.includes('dynamodb:UpdateItem'))?.condition[
      'ForAllValues:StringEquals'
    ]['dynamodb:Attributes'] as string[];
    expect(new Set(attributes)).toEqual(
      new Set([...STATUS_API_WRITABLE_ATTRIBUTES, 'pk', 'sk', ...keyAttributes]),
    );
    expect(statements).toEqual([
      { actions: ['dynamodb:GetItem'], resources: [tableArn()], condition: onItems('STATUS#') },
      { actions: ['dynamodb:Query'], resources: [tableArn()], condition: onItems('CUS#', 'OVR#') },
      { actions: ['dynamodb:PutItem'], resources: [tableArn()], condition: onItems('OVR#') },
      {
        actions: ['dynamodb:UpdateItem'],
        resources: [tableArn()],
        condition: {
          ...onItems('STATUS#'),
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': attributes },
          StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'] },
        },
      },
    ]);
  });

  it('gives the notifier no table rights: it reads the stream and publishes announcements', () => {
    // Prepare
    const notifier = stack.gate.notifier.handler.function;
    const streamArn = { 'Fn::GetAtt': [logicalId(stack.gate.store.table), 'StreamArn'] };

    // Act
    const statements = dynamoStatements(notifier);

    // Assess
    expect(statements).toEqual([
      { actions: ['dynamodb:ListStreams'], resources: ['*'] },
      {
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        resources: [streamArn],
      },
    ]);
    expect(actionsOn(notifier, ref(stack.gate.notifications.announcementsTopic.topicArn))).toEqual([
      'sns:Publish',
    ]);
    expect(actionsOn(notifier, ref(stack.gate.notifications.alertsTopic.topicArn))).toEqual([]);
  });

  it('gives the verifier no table rights at all', () => {
    // Assess
    expect(dynamoStatements(stack.gate.ingress.verifier.function)).toEqual([]);
  });
});

describe('access policies', () => {
  function managedPolicy(construct: IConstruct): Json[] {
    return (resourceOf(construct).Properties.PolicyDocument.Statement as Json[]).map((s) => ({
      ...s,
      Action: asArray(s.Action),
      Resource: asArray(s.Resource),
    }));
  }
  const routeArn = (methodAndPath: string) => ({
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        ':execute-api:',
        { Ref: 'AWS::Region' },
        ':',
        { Ref: 'AWS::AccountId' },
        ':',
        { Ref: logicalId(stack.gate.ingress.api) },
        `/$default/${methodAndPath}`,
      ],
    ],
  });

  it('lets the read policy invoke GET billing-status and GET events only', () => {
    // Assess
    expect(managedPolicy(stack.gate.apiReadPolicy)[0]?.Resource).toHaveLength(2);
    expect(managedPolicy(stack.gate.apiReadPolicy)).toEqual([
      {
        Effect: 'Allow',
        Action: ['execute-api:Invoke'],
        Resource: [routeArn('GET/customers/*/billing-status'), routeArn('GET/customers/*/events')],
      },
    ]);
  });

  it('lets the override policy invoke PUT and DELETE override only', () => {
    // Assess
    expect(managedPolicy(stack.gate.apiOverridePolicy)[0]?.Resource).toHaveLength(2);
    expect(managedPolicy(stack.gate.apiOverridePolicy)).toEqual([
      {
        Effect: 'Allow',
        Action: ['execute-api:Invoke'],
        Resource: expect.arrayContaining([
          routeArn('PUT/customers/*/override'),
          routeArn('DELETE/customers/*/override'),
        ]),
      },
    ]);
  });

  it('lets the status reader policy GetItem status items of the table and nothing else', () => {
    // Assess
    expect(managedPolicy(stack.gate.statusReaderPolicy)).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem'],
        Resource: [{ 'Fn::GetAtt': [logicalId(stack.gate.store.table), 'Arn'] }],
        Condition: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['STATUS#*'] },
          Null: { 'dynamodb:LeadingKeys': 'false' },
        },
      },
    ]);
  });

  it('attaches none of the three to any role of the stack', () => {
    // Assess
    template.resourceCountIs('AWS::IAM::ManagedPolicy', 3);
    for (const [, p] of ofType('AWS::IAM::ManagedPolicy')) {
      expect(p.Properties.Roles).toBeUndefined();
    }
  });
});

describe('notifications', () => {
  it('encrypts both topics with a rotating customer managed key that CloudWatch may use', () => {
    // Assess
    const topics = ofType('AWS::SNS::Topic');
    expect(topics).toHaveLength(2);
    for (const [, topic] of topics) {
      expect(topic.Properties.KmsMasterKeyId).toEqual({
        'Fn::GetAtt': [logicalId(stack.gate.notifications.key), 'Arn'],
      });
    }
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
  });

  it('lets CloudWatch publish to the alerts topic only, never to the announcements topic', () => {
    // Act
    const cloudwatchTopics = ofType('AWS::SNS::TopicPolicy')
      .filter(([, p]) =>
        (p.Properties.PolicyDocument.Statement as Json[]).some(
          (st) => st.Principal?.Service === 'cloudwatch.amazonaws.com',
        ),
      )
      .flatMap(([, p]) => p.Properties.Topics);

    // Assess
    expect(cloudwatchTopics).toEqual([ref(stack.gate.notifications.alertsTopic.topicArn)]);
  });

  it('has no e-mail subscription unless alarmEmail is set', () => {
    // Assess
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });
});

describe('outputs', () => {
  it('publishes the outputs the operator commands read, under their plain keys', () => {
    // Act
    const outputs = Object.keys(template.toJSON().Outputs as Json);

    // Assess
    expect(outputs).toEqual(
      expect.arrayContaining([
        'WebhookUrl',
        'ApiUrl',
        'TableName',
        'WebhookSecretArn',
        'ApiKeySecretArn',
        'AlertsTopicArn',
        'AnnouncementsTopicArn',
        'ApiReadPolicyArn',
        'ApiOverridePolicyArn',
        'StatusReaderPolicyArn',
        'QueueUrlPrefix',
        'EnabledEventTypes',
        'DashboardName',
      ]),
    );
    expect(outputs).not.toContain('TopicArn');
  });

  it('points each topic and policy output at its resource', () => {
    // Assess
    const gate = stack.gate;
    template.hasOutput('AlertsTopicArn', { Value: ref(gate.notifications.alertsTopic.topicArn) });
    template.hasOutput('AnnouncementsTopicArn', {
      Value: ref(gate.notifications.announcementsTopic.topicArn),
    });
    template.hasOutput('ApiReadPolicyArn', { Value: ref(gate.apiReadPolicy.managedPolicyArn) });
    template.hasOutput('ApiOverridePolicyArn', {
      Value: ref(gate.apiOverridePolicy.managedPolicyArn),
    });
    template.hasOutput('StatusReaderPolicyArn', {
      Value: ref(gate.statusReaderPolicy.managedPolicyArn),
    });
  });

  it('points WebhookUrl at the /webhook route of the default stage', () => {
    // Assess
    template.hasOutput('WebhookUrl', {
      Value: {
        'Fn::Join': [
          '',
          [
            'https://',
            { Ref: logicalId(stack.gate.ingress.api) },
            '.execute-api.',
            { Ref: 'AWS::Region' },
            '.',
            { Ref: 'AWS::URLSuffix' },
            '/webhook',
          ],
        ],
      },
    });
  });
});
