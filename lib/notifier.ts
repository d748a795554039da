// The notifier: the table's stream (only the status-item writes that changed canAllocate,
// with old and new images) -> announce the change on the announcements topic. It has no
// table rights at all. Batches that keep failing go to an SQS on-failure queue with its
// own alarm, so a lost announcement is never silent: `npm run redrive -- --announcements`
// replays them from the stream, which keeps a record 24 hours.

import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { DLQ_RETENTION_SECONDS, MAX_MESSAGE_BYTES } from '../lambdas/adapters/queue-layout';
import { NOTIFIER_FILTER_PATTERN } from '../lambdas/adapters/table-layout';
import { ENV } from '../lambdas/lambda-env';
import { GateFunction, type FunctionDefaults } from './gate-function';
import type { Store } from './store';

export interface NotifierProps {
  /** Only its stream is read. */
  readonly store: Store;
  /** Where canAllocate changes are announced. */
  readonly topic: sns.ITopic;
  readonly alarmAction: cloudwatch.IAlarmAction;
  /** Names the on-failure queue `<prefix>-notifier-failures`. */
  readonly queuePrefix: string;
  readonly expiryWarningDays: number;
  /** Attempts of a failing stream batch before it goes to the on-failure queue. @default 10 */
  readonly retryAttempts?: number;
  /** Settings shared by every function of the deployment. @default - GateFunction's defaults */
  readonly functionDefaults?: FunctionDefaults;
}

export class Notifier extends Construct {
  readonly handler: GateFunction;
  readonly failureQueue: sqs.Queue;
  readonly failureAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: NotifierProps) {
    super(scope, id);
    this.handler = new GateFunction(this, 'Notifier', {
      ...props.functionDefaults,
      handler: 'notifier',
      description: 'Announces canAllocate changes from the table stream',
      timeout: Duration.seconds(30),
      environment: {
        [ENV.expiryWarningDays]: String(props.expiryWarningDays),
        [ENV.topicArn]: props.topic.topicArn,
      },
    });
    const fn = this.handler.function;
    // No table grant: the event source below grants reading the stream, nothing else.
    props.topic.grantPublish(fn);

    // Receives the metadata (shard, sequence numbers) of stream batches that still failed
    // after every retry: the customers involved may have missed an announcement.
    this.failureQueue = new sqs.Queue(this, 'FailureQueue', {
      queueName: `${props.queuePrefix}-notifier-failures`,
      retentionPeriod: Duration.seconds(DLQ_RETENTION_SECONDS),
      maxMessageSizeBytes: MAX_MESSAGE_BYTES,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    Validations.of(this.failureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "This queue is itself the notifier's on-failure destination (a dead-letter queue for stream batches); it has a depth alarm.",
    });

    fn.addEventSource(
      new DynamoEventSource(props.store.table, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        retryAttempts: props.retryAttempts ?? 10,
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        maxRecordAge: Duration.days(1),
        onFailure: new SqsDlq(this.failureQueue),
        // Only status-item writes that changed canAllocate reach the function (and are
        // billed); the same pattern drives the local stream poller.
        filters: [lambda.FilterCriteria.filter(NOTIFIER_FILTER_PATTERN)],
      }),
    );

    this.failureAlarm = new cloudwatch.Alarm(this, 'FailureAlarm', {
      alarmName: `${props.queuePrefix}-notifier-failures-not-empty`,
      alarmDescription:
        'Stream batches failed every notifier retry: some canAllocate changes were not announced. ' +
        "Read the notifier's logs for the cause (SNS permission? throttling?), fix it, then run " +
        '`npm run redrive -- --announcements` (`--dry-run` first lists them): it reads the records each ' +
        'message names back from the stream and announces them. Do it within 24 hours: a DynamoDB stream ' +
        'keeps a record 24 hours; after that the change is still in the status item (`npm run status -- <cus_...>`) ' +
        'but its announcement is lost, and `--discard-expired` deletes such messages.',
      metric: this.failureQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.failureAlarm.addAlarmAction(props.alarmAction);
  }
}
