// Everything behind the verifier: one QueueProcessor per enabled registry entry, and the
// scheduled sweeper that applies parked events once their customer is known.

import { Aws, Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { typeSlug, usesStripeApi } from '../lambdas/core/registry';
import { ENV } from '../lambdas/lambda-env';
import { GateFunction, type FunctionDefaults } from './gate-function';
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
  /** @default 5 */
  readonly sweepMinutes?: number;
  /** Settings shared by every function of the deployment. @default - GateFunction's defaults */
  readonly functionDefaults?: FunctionDefaults;
  /** EventBridge rules dead-letter into the types' DLQs (see QueueProcessorProps). @default false */
  readonly eventBridgeDeadLetters?: boolean;
}

export class Processing extends Construct {
  readonly processors: readonly QueueProcessor[];
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

    this.processors = props.enabledEventTypes.map(
      (type) =>
        new QueueProcessor(this, typeSlug(type), {
          eventType: type,
          queuePrefix: props.queuePrefix,
          store: props.store,
          alarmAction: props.alarmAction,
          ...(usesStripeApi(type) ? { apiKeySecret: props.apiKeySecret } : {}),
          ...(props.maxReceiveCount ? { maxReceiveCount: props.maxReceiveCount } : {}),
          ...(props.processorMaxConcurrency
            ? { maxConcurrency: props.processorMaxConcurrency }
            : {}),
          ...(props.functionDefaults ? { functionDefaults: props.functionDefaults } : {}),
          ...(props.eventBridgeDeadLetters ? { eventBridgeDeadLetters: true } : {}),
        }),
    );

    this.sweeper = new GateFunction(this, 'Sweeper', {
      ...props.functionDefaults,
      handler: 'sweeper',
      description:
        'Applies parked events whose customer became known; counts parked events and status items behind the rules',
      timeout: Duration.minutes(2),
      environment: {
        [ENV.tableName]: props.store.table.tableName,
        [ENV.apiKeySecretArn]: props.apiKeySecret.secretArn,
      },
    });
    props.store.grantSweeper(this.sweeper.function);
    props.apiKeySecret.grantRead(this.sweeper.function);
    new events.Rule(this, 'SweepSchedule', {
      description: 'Runs the parked-event sweeper',
      schedule: events.Schedule.rate(Duration.minutes(props.sweepMinutes ?? 5)),
      // A missed sweep is harmless (the next one redoes it); do not pile up retries.
      targets: [new targets.LambdaFunction(this.sweeper.function, { retryAttempts: 2 })],
    });
  }

  /** The processor queues, for the verifier's SendMessage grant. */
  get queues() {
    return this.processors.map((p) => p.queue);
  }
}
