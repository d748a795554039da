// One queue-fed processor per enabled event type: its SQS queue, its own dead-letter queue,
// the processor function, the event source mapping and the dead-letter alarm. Only what is
// the type's own lives here (five resources, six with an EventBridge rule); the role of its
// rule kind, the processors' log group and the queues' policy are shared (lib/processing.ts),
// so every type costs the template as little as possible.

import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  DEFAULT_MAX_RECEIVE_COUNT,
  DLQ_RETENTION_SECONDS,
  MAX_MESSAGE_BYTES,
  deadLetterQueueName,
  queueName,
} from '../lambdas/adapters/queue-layout';
import { ENV } from '../lambdas/lambda-env';
import { GateFunction, type FunctionDefaults } from './gate-function';
import type { Store } from './store';

/** Retention of a source queue: outlasts a long weekend of a stopped poller. */
export const SOURCE_RETENTION = Duration.days(4);
/** Lambda's guidance: the visibility timeout is at least six times the function timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

export interface QueueProcessorProps {
  /** The Stripe event type this processor applies, e.g. `invoice.paid`. */
  readonly eventType: string;
  /** Queue name prefix: the queues are `<prefix>-<typeSlug>` and `<prefix>-<typeSlug>-dlq`. */
  readonly queuePrefix: string;
  /** The table the processor writes its facts to (its name only: the role holds the grant). */
  readonly store: Store;
  /** Where the dead-letter alarm notifies. */
  readonly alarmAction: cloudwatch.IAlarmAction;
  /**
   * The role of this type's rule kind, shared by the kind's processors: the caller has
   * granted it the table, the log group and (for kinds that ask Stripe) the API key secret.
   * The event source mapping adds the right to consume this type's queue.
   */
  readonly role: iam.Role;
  /** The log group every processor writes to (each stream is named after its function). */
  readonly logGroup: logs.LogGroup;
  /**
   * The Stripe API key secret, for types that may look a charge up (disputes): its ARN goes
   * into the environment; the role's grant is the caller's.
   * @default - no access to the Stripe API
   */
  readonly apiKeySecret?: secretsmanager.ISecret;
  /** Receives before a message moves to the dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
  /** Concurrent invocations the queue poller may run. @default 5 */
  readonly maxConcurrency?: number;
  /** Processor function timeout. @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** Messages per invocation. @default 10 */
  readonly batchSize?: number;
  /** How long the poller gathers a batch. @default Duration.seconds(1) */
  readonly maxBatchingWindow?: Duration;
  /** Settings shared by every function of the deployment. @default - GateFunction's defaults */
  readonly functionDefaults?: FunctionDefaults;
  /**
   * An EventBridge rule also dead-letters its undeliverable events here (ingress
   * `eventbridge` or `both`); the dead-letter alarm's runbook then covers them too.
   * @default false
   */
  readonly eventBridgeDeadLetters?: boolean;
}

export class QueueProcessor extends Construct {
  readonly eventType: string;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly function: lambda.IFunction;
  /** Messages in the dead-letter queue: whatever kept failing, and why, is in its runbook. */
  readonly deadLetterAlarm: cloudwatch.Alarm;
  /** This processor's alarms (the dead-letter alarm alone). */
  readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: QueueProcessorProps) {
    super(scope, id);
    const type = props.eventType;
    const timeout = props.timeout ?? Duration.seconds(30);
    const batchingWindow = props.maxBatchingWindow ?? Duration.seconds(1);
    this.eventType = type;

    // One DLQ per queue rather than one shared DLQ: a failed type is redriven on its own
    // (`npm run redrive -- --queue <type>` moves messages back to exactly their source
    // queue), and each type gets its own depth alarm naming what broke. TLS-only access
    // comes from the one queue policy of every processor queue (Processing), not from
    // `enforceSSL`, which would add a policy resource per queue.
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: deadLetterQueueName(props.queuePrefix, type),
      retentionPeriod: Duration.seconds(DLQ_RETENTION_SECONDS),
      maxMessageSizeBytes: MAX_MESSAGE_BYTES,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      queueName: queueName(props.queuePrefix, type),
      retentionPeriod: SOURCE_RETENTION,
      // Stated explicitly: the default has long been 256 KiB and tools still differ on it.
      maxMessageSizeBytes: MAX_MESSAGE_BYTES,
      visibilityTimeout: Duration.seconds(
        timeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR + batchingWindow.toSeconds(),
      ),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      deadLetterQueue: {
        queue: this.deadLetterQueue,
        maxReceiveCount: props.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT,
      },
    });

    const processor = new GateFunction(this, 'Processor', {
      ...props.functionDefaults,
      handler: 'processor',
      description: `Applies Stripe ${type} events`,
      timeout,
      role: props.role,
      logGroup: props.logGroup,
      environment: {
        [ENV.eventType]: type,
        [ENV.tableName]: props.store.table.tableName,
        ...(props.apiKeySecret ? { [ENV.apiKeySecretArn]: props.apiKeySecret.secretArn } : {}),
      },
    });
    this.function = processor.function;
    processor.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: props.batchSize ?? 10,
        maxBatchingWindow: batchingWindow,
        reportBatchItemFailures: true,
        // Caps this type's share of DynamoDB and account concurrency during a burst.
        maxConcurrency: props.maxConcurrency ?? 5,
      }),
    );

    // The only alarm of a type. A processor that crashes, times out, is throttled or keeps
    // failing an event sends it here after maxReceiveCount receives, so this one alarm, with
    // the type in its name, also says what a per-type errors or throttles alarm would (each
    // alarm metric is billed monthly; see README, Alarms and topics).
    const dlqName = deadLetterQueueName(props.queuePrefix, type);
    const receives = props.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT;
    this.deadLetterAlarm = this.alarm('DeadLetterAlarm', {
      name: `${dlqName}-not-empty`,
      description: props.eventBridgeDeadLetters
        ? `${type} events wait in the dead-letter queue ${dlqName}: either the processor failed them ${receives} times ` +
          `(an error, a crash, a timeout or throttling: the error lines in the processors' log group, stream of this ` +
          `function, name the event id), or EventBridge could not deliver them to the queue (those messages carry ` +
          `ERROR_CODE and ERROR_MESSAGE attributes, e.g. a queue policy or encryption problem). Fix the cause, then run ` +
          `\`npm run redrive -- --queue ${type}\` (it unwraps EventBridge's messages). Messages are kept 14 days.`
        : `${type} events failed ${receives} times (an error, a crash, a timeout or throttling) and wait in ` +
          `the dead-letter queue ${dlqName}. Find the cause in the processors' log group (the stream of this ` +
          `function; error lines name the event id), fix it, then run ` +
          `\`npm run redrive -- --queue ${type}\`. Messages are kept 14 days.`,
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 1,
    });
    this.deadLetterAlarm.addAlarmAction(props.alarmAction);
    this.alarms = [this.deadLetterAlarm];
  }

  private alarm(
    id: string,
    opts: { name: string; description: string; metric: cloudwatch.IMetric; threshold: number },
  ): cloudwatch.Alarm {
    return new cloudwatch.Alarm(this, id, {
      alarmName: opts.name,
      alarmDescription: opts.description,
      metric: opts.metric,
      threshold: opts.threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
