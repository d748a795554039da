// One queue-fed processor per enabled event type: its SQS queue, its own dead-letter queue,
// the processor function, the event source mapping and the type's alarms. Kept lean (one
// role, shared alarm action), since 28 of these must fit in one CloudFormation stack.

import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
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
  /** The table the processor writes its facts to. */
  readonly store: Store;
  /** Where every alarm of this processor notifies. */
  readonly alarmAction: cloudwatch.IAlarmAction;
  /**
   * The Stripe API key secret, for types that may look a charge up (disputes) or an owner.
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
  /** The age of the oldest queued message that raises the backlog alarm. @default Duration.minutes(15) */
  readonly backlogAlarmAge?: Duration;
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
  readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: QueueProcessorProps) {
    super(scope, id);
    const type = props.eventType;
    const timeout = props.timeout ?? Duration.seconds(30);
    const batchingWindow = props.maxBatchingWindow ?? Duration.seconds(1);
    this.eventType = type;

    // One DLQ per queue rather than one shared DLQ: a failed type is redriven on its own
    // (`npm run redrive -- --queue <type>` moves messages back to exactly their source
    // queue), and each type gets its own depth alarm naming what broke.
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: deadLetterQueueName(props.queuePrefix, type),
      retentionPeriod: Duration.seconds(DLQ_RETENTION_SECONDS),
      maxMessageSizeBytes: MAX_MESSAGE_BYTES,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
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
      enforceSSL: true,
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
      environment: {
        [ENV.eventType]: type,
        [ENV.tableName]: props.store.table.tableName,
        ...(props.apiKeySecret ? { [ENV.apiKeySecretArn]: props.apiKeySecret.secretArn } : {}),
      },
    });
    this.function = processor.function;
    props.store.grantProcessor(processor.function);
    props.apiKeySecret?.grantRead(processor.function);
    processor.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: props.batchSize ?? 10,
        maxBatchingWindow: batchingWindow,
        reportBatchItemFailures: true,
        // Caps this type's share of DynamoDB and account concurrency during a burst.
        maxConcurrency: props.maxConcurrency ?? 5,
      }),
    );

    const dlqName = deadLetterQueueName(props.queuePrefix, type);
    this.alarms = [
      this.alarm('DeadLetterAlarm', {
        name: `${dlqName}-not-empty`,
        description: props.eventBridgeDeadLetters
          ? `${type} events wait in the dead-letter queue ${dlqName}: either the processor failed them ` +
            `${props.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT} times (its logs name the event id), or ` +
            `EventBridge could not deliver them to the queue (those messages carry ERROR_CODE and ` +
            `ERROR_MESSAGE attributes, e.g. a queue policy or encryption problem). Fix the cause, then run ` +
            `\`npm run redrive -- --queue ${type}\` (it unwraps EventBridge's messages). Messages are kept 14 days.`
          : `${type} events failed ${props.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT} times and wait in ` +
            `the dead-letter queue ${dlqName}. Find the cause in ` +
            `the processor's logs (errors name the event id), fix it, then run ` +
            `\`npm run redrive -- --queue ${type}\`. Messages are kept 14 days.`,
        metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: 1,
      }),
      this.alarm('BacklogAlarm', {
        name: `${queueName(props.queuePrefix, type)}-backlog`,
        description:
          `The oldest ${type} event has waited over ${(props.backlogAlarmAge ?? Duration.minutes(15)).toMinutes()} ` +
          `minutes in ${queueName(props.queuePrefix, type)}: the processor is failing, throttled or ` +
          `disabled, so billing statuses lag. Check the processor's errors and throttles and its ` +
          `event source mapping; raise processorMaxConcurrency if it only falls behind.`,
        metric: this.queue.metricApproximateAgeOfOldestMessage({
          period: Duration.minutes(5),
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: (props.backlogAlarmAge ?? Duration.minutes(15)).toSeconds(),
      }),
      // Errors and throttles in one alarm per processor (a resource budget choice): both
      // mean events are not being applied, and the description says where to look.
      this.alarm('FailureAlarm', {
        name: `${queueName(props.queuePrefix, type)}-processor-failing`,
        description:
          `The ${type} processor crashed, timed out or was throttled (Lambda Errors + Throttles). ` +
          `Failed messages are retried and then dead-lettered. Read the processor's log group; ` +
          `for throttles check the account's concurrency and processorMaxConcurrency.`,
        metric: new cloudwatch.MathExpression({
          expression: 'errors + throttles',
          label: `${type} errors + throttles`,
          period: Duration.minutes(5),
          usingMetrics: {
            errors: processor.function.metricErrors({ statistic: cloudwatch.Stats.SUM }),
            throttles: processor.function.metricThrottles({ statistic: cloudwatch.Stats.SUM }),
          },
        }),
        threshold: 1,
      }),
    ];
    for (const alarm of this.alarms) alarm.addAlarmAction(props.alarmAction);
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
