// Fine-grained assertions on the synthesized stack with the default configuration (all 28
// registry types enabled): resources, properties, IAM boundaries, alarms, outputs.

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
import { METRICS, METRIC_NAMESPACE } from '../../lambdas/core/metric-names';
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

const disputeOrDetach = (type: string) =>
  type.startsWith('charge.dispute.') || type === 'payment_method.detached';

// ---------------------------------------------------------------------------------------

describe('stack size', () => {
  it('stays below 450 resources with all 28 registry types enabled', () => {
    // Act
    const count = Object.keys(resources).length;

    // Assess
    expect(stack.processing.processors).toHaveLength(28);
    expect(count).toBeLessThan(450);
  });
});

describe('queues and processors', () => {
  it('creates one processor, queue and dead-letter queue per registry entry', () => {
    // Act
    const queueNames = ofType('AWS::SQS::Queue').map(([, q]) => q.Properties.QueueName);
    const processorTypes = stack.processing.processors.map((p) => envOf(p.function)[ENV.eventType]);

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
    const ratios = stack.processing.processors.map(
      (p) =>
        resourceOf(p.queue).Properties.VisibilityTimeout /
        resourceOf(p.function).Properties.Timeout,
    );

    // Assess
    expect(Math.min(...ratios)).toBeGreaterThanOrEqual(6);
  });

  it('redrives each source queue to its own dead-letter queue after 5 receives', () => {
    for (const p of stack.processing.processors) {
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
    const dlqRetention = stack.processing.processors.map(
      (p) => resourceOf(p.deadLetterQueue).Properties.MessageRetentionPeriod,
    );
    const sourceRetention = stack.processing.processors.map(
      (p) => resourceOf(p.queue).Properties.MessageRetentionPeriod,
    );

    // Assess
    expect(new Set(dlqRetention)).toEqual(new Set([DLQ_RETENTION_SECONDS]));
    expect(Math.min(...sourceRetention)).toBeGreaterThanOrEqual(4 * 24 * 3600);
  });

  it('maps each queue to its processor with partial batch failures, a batching window and a concurrency cap', () => {
    for (const p of stack.processing.processors) {
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
    for (const p of stack.processing.processors) {
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
    for (const p of stack.processing.processors) {
      // Act
      const alarms = alarmsOn('ApproximateAgeOfOldestMessage', stack.resolve(p.queue.queueName));

      // Assess
      expect(alarms).toHaveLength(1);
    }
  });

  it('alarms on errors and throttles of every processor', () => {
    for (const p of stack.processing.processors) {
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
    const topic = ref(stack.notifications.topic.topicArn);

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
        { Name: 'FunctionName', Value: { Ref: logicalId(stack.ingress.verifier.function) } },
      ],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApiGateway',
      MetricName: '5xx',
      Dimensions: [{ Name: 'ApiId', Value: { Ref: logicalId(stack.ingress.api) } }],
    });
  });

  it('alarms on a spike of signature failures from the verifier metric', () => {
    // Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRIC_NAMESPACE,
      MetricName: METRICS.signatureFailure,
      Dimensions: [{ Name: 'service', Value: 'verifier' }],
      Statistic: 'Sum',
      Threshold: Match.anyValue(),
    });
  });

  it('alarms when a parked event is older than 24 hours, with the runbook in its description', () => {
    // Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRIC_NAMESPACE,
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
        { Name: 'FunctionName', Value: { Ref: logicalId(stack.notifier.handler.function) } },
      ],
    });
    expect(
      alarmsOn(
        'ApproximateNumberOfMessagesVisible',
        stack.resolve(stack.notifier.failureQueue.queueName),
      ),
    ).toHaveLength(1);
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
      'ApproximateAgeOfOldestMessage',
      'ApproximateNumberOfMessagesVisible',
    ]) {
      expect(body).toContain(name);
    }
  });
});

describe('table', () => {
  it('follows TABLE_SCHEMA: pk/sk, parked and rulesVersion KEYS_ONLY, on demand', () => {
    // Assess
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      GlobalSecondaryIndexes: [
        {
          IndexName: 'parked',
          KeySchema: [
            { AttributeName: 'parkedList', KeyType: 'HASH' },
            { AttributeName: 'parkedAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
        {
          IndexName: 'rulesVersion',
          KeySchema: [
            { AttributeName: 'rulesVersion', KeyType: 'HASH' },
            { AttributeName: 'pk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
    });
  });

  it('is encrypted, point-in-time recoverable, streamed and protected from deletion', () => {
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

  it('feeds the notifier only status-item writes that changed canAllocate, with bounded retries', () => {
    // Assess
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(stack.store.table), 'StreamArn'] },
      FunctionName: { Ref: logicalId(stack.notifier.handler.function) },
      FilterCriteria: {
        Filters: [
          {
            Pattern: JSON.stringify({
              dynamodb: {
                Keys: { sk: { S: ['STATUS'] } },
                NewImage: { flip: { N: [{ exists: true }] } },
              },
            }),
          },
        ],
      },
      MaximumRetryAttempts: Match.anyValue(),
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: {
        OnFailure: {
          Destination: { 'Fn::GetAtt': [logicalId(stack.notifier.failureQueue), 'Arn'] },
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

  it('throttles the $default stage and writes access logs to CloudWatch Logs', () => {
    // Assess
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [logicalId(stack.ingress.accessLogs), 'Arn'] },
        Format: Match.stringLikeRegexp('\\$context.requestId'),
      },
    });
  });
});

describe('functions', () => {
  const everyFunction = () => ofType('AWS::Lambda::Function');

  it('run Node.js 22 on arm64', () => {
    // Assess
    expect(everyFunction()).toHaveLength(32);
    for (const [, fn] of everyFunction()) {
      expect([fn.Properties.Runtime, fn.Properties.Architectures]).toEqual([
        'nodejs22.x',
        ['arm64'],
      ]);
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
        POWERTOOLS_METRICS_NAMESPACE: METRIC_NAMESPACE,
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
          Arn: { 'Fn::GetAtt': [logicalId(stack.processing.sweeper.function), 'Arn'] },
        }),
      ],
    });
  });
});

describe('environment', () => {
  it('tells the verifier where the queues are, which types, which secret and the tolerance', () => {
    // Act
    const env = envOf(stack.ingress.verifier.function);

    // Assess
    expect(env).toMatchObject({
      [ENV.queueUrlPrefix]: ref(stack.processing.queueUrlPrefix),
      [ENV.enabledEventTypes]: REGISTRY.map((e) => e.type).join(','),
      [ENV.webhookSecretArn]: ref(stack.secrets.webhookSecret.secretArn),
      [ENV.tolerance]: '300',
    });
    expect(env[ENV.stripeMode]).toBeUndefined();
  });

  it('builds the queue URL prefix from region, URL suffix, account and the queue prefix', () => {
    // Assess
    expect(ref(stack.processing.queueUrlPrefix)).toEqual({
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
    for (const p of stack.processing.processors) {
      // Act
      const env = envOf(p.function);

      // Assess
      expect(env[ENV.eventType]).toBe(p.eventType);
      expect(env[ENV.tableName]).toEqual(ref(stack.store.table.tableName));
      expect(env[ENV.apiKeySecretArn]).toEqual(
        disputeOrDetach(p.eventType) ? ref(stack.secrets.apiKeySecret.secretArn) : undefined,
      );
    }
  });

  it('gives the status API and the notifier the table and the warning window, the notifier the topic', () => {
    // Act
    const status = envOf(stack.ingress.statusApi.function);
    const notifier = envOf(stack.notifier.handler.function);

    // Assess
    const common = {
      [ENV.tableName]: ref(stack.store.table.tableName),
      [ENV.expiryWarningDays]: '30',
    };
    expect(status).toMatchObject(common);
    expect(notifier).toMatchObject({
      ...common,
      [ENV.topicArn]: ref(stack.notifications.topic.topicArn),
    });
  });

  it('gives the sweeper the table and the API key secret, not the queue prefix', () => {
    // Act
    const env = envOf(stack.processing.sweeper.function);

    // Assess
    expect(env).toMatchObject({
      [ENV.tableName]: ref(stack.store.table.tableName),
      [ENV.apiKeySecretArn]: ref(stack.secrets.apiKeySecret.secretArn),
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
  const webhookSecret = () => ref(stack.secrets.webhookSecret.secretArn);
  const apiKeySecret = () => ref(stack.secrets.apiKeySecret.secretArn);

  it('lets the verifier send to every processor queue and read its secret, and nothing in DynamoDB', () => {
    // Prepare
    const verifier = stack.ingress.verifier.function;

    // Act
    const actions = actionsOf(verifier);

    // Assess
    for (const p of stack.processing.processors) {
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
      logicalId(stack.ingress.verifier.role.node.findChild('DefaultPolicy')),
    ]);
  });

  it('lets only dispute and detach processors read the API key secret', () => {
    for (const p of stack.processing.processors) {
      // Act
      const actions = actionsOn(p.function, apiKeySecret());

      // Assess
      if (disputeOrDetach(p.eventType)) expect(actions).toContain('secretsmanager:GetSecretValue');
      else expect(actions).toEqual([]);
    }
  });

  it('lets each processor consume its own queue only and write facts to the table and its indexes', () => {
    for (const p of stack.processing.processors) {
      // Act
      const onTable = actionsOn(p.function, {
        'Fn::GetAtt': [logicalId(stack.store.table), 'Arn'],
      });
      const queueArns = statementsOf(p.function)
        .filter((s) => asArray(s.Action as string | string[]).includes('sqs:ReceiveMessage'))
        .flatMap((s) => asArray(s.Resource));

      // Assess
      expect(onTable.sort()).toEqual([
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
      ]);
      expect(JSON.stringify(statementsOf(p.function))).toContain('/index/*');
      expect(queueArns).toEqual([{ 'Fn::GetAtt': [logicalId(p.queue), 'Arn'] }]);
      expect(actionsOf(p.function)).not.toContain('sqs:SendMessage');
    }
  });

  it('lets the status API read the table and put override items, nothing else', () => {
    // Act
    const writes = actionsOf(stack.ingress.statusApi.function).filter((a) =>
      /(Put|Update|Delete|Write)/.test(a),
    );

    // Assess
    expect(actionsOf(stack.ingress.statusApi.function)).toContain('dynamodb:Query');
    expect(writes.sort()).toEqual(['dynamodb:PutItem', 'logs:PutLogEvents']);
  });

  it('lets the notifier read the stream and the table, move its cursor and publish to the topic', () => {
    // Act
    const actions = actionsOf(stack.notifier.handler.function);

    // Assess
    expect(actions).toEqual(
      expect.arrayContaining([
        'dynamodb:GetRecords',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'sns:Publish',
      ]),
    );
    expect(actions).not.toContain('dynamodb:PutItem');
    expect(
      actionsOn(stack.notifier.handler.function, ref(stack.notifications.topic.topicArn)),
    ).toEqual(['sns:Publish']);
  });

  it('lets the sweeper write facts and read the API key secret, but not the webhook secret', () => {
    // Prepare
    const sweeper = stack.processing.sweeper.function;

    // Act
    const actions = actionsOf(sweeper);

    // Assess
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:DeleteItem']));
    expect(actionsOn(sweeper, apiKeySecret())).toContain('secretsmanager:GetSecretValue');
    expect(actionsOn(sweeper, webhookSecret())).toEqual([]);
  });
});

describe('notifications', () => {
  it('encrypts the topic with a rotating customer managed key that CloudWatch may use', () => {
    // Assess
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [logicalId(stack.notifications.key), 'Arn'] },
    });
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
        'TopicArn',
        'QueueUrlPrefix',
        'EnabledEventTypes',
      ]),
    );
  });

  it('points WebhookUrl at the /webhook route of the default stage', () => {
    // Assess
    template.hasOutput('WebhookUrl', {
      Value: {
        'Fn::Join': [
          '',
          [
            'https://',
            { Ref: logicalId(stack.ingress.api) },
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
