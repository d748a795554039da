// Everything behind the verifier: one QueueProcessor per enabled registry entry, what they
// share (one role per rule kind, one log group, one queue policy for every processor queue),
// and the sweeper, scheduled every minute: it settles the changes time makes and retries
// parked events every `sweepMinutes`.

import { ArnFormat, Aws, Duration, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { registryEntry, typeSlug, usesStripeApi } from '../lambdas/core/registry';
import { ENV } from '../lambdas/lambda-env';
import { FunctionRole, GateFunction, type FunctionDefaults } from './gate-function';
import { QueueProcessor } from './queue-processor';
import type { Store } from './store';

export interface ProcessingProps {
  readonly enabledEventTypes: readonly string[];
  readonly queuePrefix: string;
  readonly store: Store;
  readonly apiKeySecret: secretsmanager.ISecret;
  readonly alarmAction: cloudwatch.IAlarmAction;
  /** @default 5 */
  readonly maxReceiveCount?: number;
  /** @default 5 */
  readonly processorMaxConcurrency?: number;
  /**
   * How often, in minutes, the sweeper retries parked events and publishes their metrics
   * (SWEEP_MINUTES); it runs every minute whatever this is.
   * @default 5
   */
  readonly sweepMinutes?: number;
  /** Settings shared by every function of the deployment. @default - GateFunction's defaults */
  readonly functionDefaults?: FunctionDefaults;
  /** EventBridge rules dead-letter into the types' DLQs (see QueueProcessorProps). @default false */
  readonly eventBridgeDeadLetters?: boolean;
}

/**
 * Which processors share a role: those of one rule kind (they run the same rule code) with
 * the same Stripe API use, so a kind that never asks Stripe never holds the API key.
 */
export function processorRoleKey(type: string): string {
  const entry = registryEntry(type);
  if (!entry) throw new Error(`no registry entry for ${type}`);
  return entry.stripeApi ? `${entry.kind}-${entry.stripeApi}` : entry.kind;
}

export class Processing extends Construct {
  readonly processors: readonly QueueProcessor[];
  /** The processors' roles by processorRoleKey: one per rule kind. */
  readonly processorRoles: ReadonlyMap<string, iam.Role>;
  /** The log group of every processor (each function writes streams named after itself). */
  readonly processorLogs: logs.LogGroup;
  /** The one resource policy of every processor queue and dead-letter queue: TLS only. */
  readonly queuePolicy: sqs.QueuePolicy;
  readonly sweeper: GateFunction;
  /**
   * `https://sqs.<region>.<urlSuffix>/<account>/<prefix>-`: with a type slug appended, the
   * URL of that type's queue (lambdas/adapters/queue-layout.ts), so the verifier needs one
   * variable instead of one URL per type.
   */
  readonly queueUrlPrefix: string;

  constructor(scope: Construct, id: string, props: ProcessingProps) {
    super(scope, id);
    this.queueUrlPrefix = `https://sqs.${Aws.REGION}.${Aws.URL_SUFFIX}/${Aws.ACCOUNT_ID}/${props.queuePrefix}-`;
    this.queueArnPattern = Stack.of(this).formatArn({
      service: 'sqs',
      resource: `${props.queuePrefix}-*`,
      arnFormat: ArnFormat.NO_RESOURCE_NAME,
    });

    // One log group and one role per rule kind instead of one of each per type: CloudFormation
    // counts every resource of the template, and the processors of one kind need exactly the
    // same rights (the event source mapping adds each queue to its kind's role).
    this.processorLogs = new logs.LogGroup(this, 'ProcessorLogs', {
      retention: props.functionDefaults?.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    const roles = new Map<string, iam.Role>();
    const roleFor = (type: string): iam.Role => {
      const key = processorRoleKey(type);
      const existing = roles.get(key);
      if (existing) return existing;
      const role = new FunctionRole(this, `ProcessorRole-${key}`, {
        description: `${Stack.of(this).stackName} processors of ${key} events`,
      });
      this.processorLogs.grantWrite(role);
      // The table by the kind's rule (lib/access.ts): the kinds that never park do not.
      props.store.grantProcessor(role, registryEntry(type)!.kind);
      if (usesStripeApi(type)) props.apiKeySecret.grantRead(role);
      roles.set(key, role);
      return role;
    };

    this.processors = props.enabledEventTypes.map(
      (type) =>
        new QueueProcessor(this, typeSlug(type), {
          eventType: type,
          queuePrefix: props.queuePrefix,
          store: props.store,
          alarmAction: props.alarmAction,
          role: roleFor(type),
          logGroup: this.processorLogs,
          ...(usesStripeApi(type) ? { apiKeySecret: props.apiKeySecret } : {}),
          ...(props.maxReceiveCount ? { maxReceiveCount: props.maxReceiveCount } : {}),
          ...(props.processorMaxConcurrency
            ? { maxConcurrency: props.processorMaxConcurrency }
            : {}),
          ...(props.functionDefaults ? { functionDefaults: props.functionDefaults } : {}),
          ...(props.eventBridgeDeadLetters ? { eventBridgeDeadLetters: true } : {}),
        }),
    );
    this.processorRoles = roles;

    // One policy for all 2 x N queues (SQS applies the same document to each): a statement
    // per queue would hit SQS's 20 statements per policy, so the statements name the queues
    // by their common prefix.
    this.queuePolicy = new sqs.QueuePolicy(this, 'QueuePolicy', {
      queues: this.processors.flatMap((p) => [p.queue, p.deadLetterQueue]),
    });
    this.queuePolicy.document.addStatements(
      new iam.PolicyStatement({
        sid: 'TlsOnly',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['sqs:*'],
        resources: [this.queueArnPattern],
        conditions: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );

    this.sweeper = new GateFunction(this, 'Sweeper', {
      ...props.functionDefaults,
      handler: 'sweeper',
      description:
        'Settles the changes time makes; applies parked events whose customer became known; counts parked events and status items behind the rules',
      timeout: Duration.minutes(2),
      environment: {
        [ENV.tableName]: props.store.table.tableName,
        [ENV.apiKeySecretArn]: props.apiKeySecret.secretArn,
        [ENV.sweepMinutes]: String(props.sweepMinutes ?? 5),
      },
    });
    props.store.grantSweeper(this.sweeper.function);
    props.apiKeySecret.grantRead(this.sweeper.function);
    // Every minute: a grace that ends or an override that expires is settled (and announced)
    // within a minute; parked events are retried only every SWEEP_MINUTES of those runs.
    new events.Rule(this, 'SweepSchedule', {
      description: 'Runs the sweeper every minute',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      // A missed sweep is harmless (the next one redoes it); do not pile up retries.
      targets: [new targets.LambdaFunction(this.sweeper.function, { retryAttempts: 2 })],
    });
  }

  /** `arn:<partition>:sqs:<region>:<account>:<prefix>-*`: every processor queue and DLQ. */
  readonly queueArnPattern: string;

  /** The processor queues, for the verifier's SendMessage grant. */
  get queues() {
    return this.processors.map((p) => p.queue);
  }

  /**
   * Lets EventBridge put events on every processor queue and dead-letter queue for the rules
   * whose ARN matches `ruleArnPattern` (the rules of one event bus): one statement for all
   * rules, since a statement per rule would pass SQS's 20 statements per policy. A rule
   * cannot misroute unnoticed: a processor refuses an event of another type (a routing
   * fault that ends in the dead-letter queue).
   */
  admitEventBridgeRules(ruleArnPattern: string): void {
    this.queuePolicy.document.addStatements(
      new iam.PolicyStatement({
        sid: 'EventBridgeRules',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [this.queueArnPattern],
        conditions: { ArnLike: { 'aws:SourceArn': ruleArnPattern } },
      }),
    );
  }
}
