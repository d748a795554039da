// The whole AWS pipeline in one stack; it only composes the constructs of lib/ and
// publishes the outputs the operator commands read (bin/ops/target.ts).

import { CfnOutput, Stack, Tags, Validations, type StackProps } from 'aws-cdk-lib';
import type { CfnTable } from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import { acceptsWebhooks } from '../lambdas/eventbridge/ingress-mode';
import type { BillingGateConfig } from './config';
import { EVENT_BUS_OUTPUT, EventBridgeIngress } from './eventbridge-ingress';
import { Ingress } from './ingress';
import { Monitoring } from './monitoring';
import { Notifications } from './notifications';
import { Notifier } from './notifier';
import { Processing } from './processing';
import { StripeSecrets } from './secrets';
import { OUTPUT_KEYS } from './stack-outputs';
import { Store } from './store';

export interface BillingGateStackProps extends StackProps {
  readonly config: BillingGateConfig;
}

export { OUTPUT_KEYS } from './stack-outputs';

export class BillingGateStack extends Stack {
  readonly store: Store;
  readonly secrets: StripeSecrets;
  readonly notifications: Notifications;
  readonly processing: Processing;
  readonly ingress: Ingress;
  /** Stripe's EventBridge destination; undefined with ingress=webhook. */
  readonly eventBridge: EventBridgeIngress | undefined;
  readonly notifier: Notifier;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: BillingGateStackProps) {
    super(scope, id, props);
    const config = props.config;
    Tags.of(this).add('project', 'stripe-billing-gate');
    Tags.of(this).add('stage', config.stage);

    this.store = new Store(this, 'Store');
    const webhook = acceptsWebhooks(config.ingress);
    this.secrets = new StripeSecrets(this, 'Secrets', { webhookSecret: webhook });
    this.notifications = new Notifications(this, 'Notifications', {
      alarmEmail: config.alarmEmail,
    });
    const alarmAction = this.notifications.alarmAction;

    this.processing = new Processing(this, 'Processing', {
      enabledEventTypes: config.enabledEventTypes,
      queuePrefix: config.queuePrefix,
      store: this.store,
      apiKeySecret: this.secrets.apiKeySecret,
      alarmAction,
      maxReceiveCount: config.maxReceiveCount,
      processorMaxConcurrency: config.processorMaxConcurrency,
      sweepMinutes: config.sweepMinutes,
      tracing: config.tracing,
    });
    this.ingress = new Ingress(this, 'Ingress', {
      webhook,
      queues: this.processing.queues,
      queueUrlPrefix: this.processing.queueUrlPrefix,
      enabledEventTypes: config.enabledEventTypes,
      ...(this.secrets.signingSecret ? { webhookSecret: this.secrets.signingSecret } : {}),
      store: this.store,
      stripeMode: config.stripeMode,
      signatureToleranceSeconds: config.signatureToleranceSeconds,
      expiryWarningDays: config.expiryWarningDays,
      rateLimit: config.webhookRateLimit,
      burstLimit: config.webhookBurstLimit,
      tracing: config.tracing,
    });
    this.eventBridge = config.eventBridgeSource
      ? new EventBridgeIngress(this, 'EventBridge', {
          eventSourceName: config.eventBridgeSource,
          stripeMode: config.stripeMode,
          targets: this.processing.processors,
          alarmAction,
          alarmNamePrefix: config.queuePrefix,
        })
      : undefined;
    this.notifier = new Notifier(this, 'Notifier', {
      store: this.store,
      topic: this.notifications.topic,
      alarmAction,
      queuePrefix: config.queuePrefix,
      expiryWarningDays: config.expiryWarningDays,
      tracing: config.tracing,
    });
    this.monitoring = new Monitoring(this, 'Monitoring', {
      name: config.queuePrefix,
      alarmAction,
      api: this.ingress.api,
      ...(this.ingress.webhookVerifier ? { verifier: this.ingress.webhookVerifier.function } : {}),
      notifier: this.notifier.handler.function,
      sweeper: this.processing.sweeper.function,
      processors: this.processing.processors,
      otherAlarms: [
        this.notifier.failureAlarm,
        ...(this.eventBridge ? [this.eventBridge.lostEventsAlarm] : []),
      ],
      parkedAlarmHours: config.parkedAlarmHours,
      sweepMinutes: config.sweepMinutes,
    });

    this.acknowledgeAcceptedFindings(config);
    if (webhook) {
      this.output(
        OUTPUT_KEYS.webhookUrl,
        this.ingress.webhookUrl,
        'Register this URL in Stripe (npm run register-endpoint)',
      );
    }
    this.output(
      OUTPUT_KEYS.apiUrl,
      this.ingress.apiUrl,
      'Base URL of the IAM-authorised customer routes',
    );
    this.output(OUTPUT_KEYS.tableName, this.store.table.tableName, 'The billing table');
    if (this.secrets.signingSecret) {
      this.output(
        OUTPUT_KEYS.webhookSecretArn,
        this.secrets.signingSecret.secretArn,
        'Stripe webhook signing secret(s)',
      );
    }
    if (this.eventBridge) {
      this.output(
        EVENT_BUS_OUTPUT,
        this.eventBridge.bus.eventBusName,
        "The partner event bus of Stripe's EventBridge destination",
      );
    }
    this.output(
      OUTPUT_KEYS.apiKeySecretArn,
      this.secrets.apiKeySecret.secretArn,
      'Optional Stripe API key',
    );
    this.output(
      OUTPUT_KEYS.topicArn,
      this.notifications.topic.topicArn,
      'Alerts and canAllocate announcements',
    );
    this.output(
      OUTPUT_KEYS.queueUrlPrefix,
      this.processing.queueUrlPrefix,
      'Queue URL = prefix + type slug; its DLQ = that + "-dlq"',
    );
    this.output(
      OUTPUT_KEYS.enabledEventTypes,
      config.enabledEventTypes.join(','),
      'Event types with a queue and a processor',
    );
    this.output(
      OUTPUT_KEYS.dashboardName,
      this.monitoring.dashboard.dashboardName,
      'CloudWatch dashboard',
    );
  }

  private output(key: string, value: string, description: string): void {
    new CfnOutput(this, key, { value, description });
  }

  /** cdk-nag findings this design accepts, each with its reason (see test/infra/cdk-nag.test.ts). */
  private acknowledgeAcceptedFindings(config: BillingGateConfig): void {
    const tableId = this.getLogicalId(this.store.table.node.defaultChild as CfnTable);
    Validations.of(this).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${tableId}.Arn>/index/*]`,
      reason:
        "CDK's table grant also covers the table's own global secondary indexes (byRef, parked), which the processors, sweeper, notifier and status API query; the wildcard is limited to this one table's indexes.",
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is the runtime the team develops and tests the handlers against; moving to a newer major is a tested change, not a default.',
    });
    Validations.of(this.notifier.handler).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'dynamodb:ListStreams cannot be scoped to a resource; it comes from the stream event source grant and allows listing only, not reading.',
    });
    Validations.of(this.notifier.handler).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason:
        'Publishing to the KMS-encrypted alerts topic needs data keys of that one key; the action family comes from the CDK topic publish grant.',
    });
    if (config.tracing) {
      Validations.of(this).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray PutTraceSegments/PutTelemetryRecords do not support resource-level permissions; added only with -c tracing=true.',
      });
    }
  }
}
