// The project's stack: the BillingGate construct and the outputs the operator commands and
// integrations read (names in lib/stack-outputs.ts, read by bin/ops/target.ts).

import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { BillingGate } from './billing-gate';
import { propsOf, type BillingGateConfig } from './config';
import { OUTPUT_KEYS } from './stack-outputs';

export interface BillingGateStackProps extends StackProps {
  readonly config: BillingGateConfig;
}

export { OUTPUT_KEYS } from './stack-outputs';

export class BillingGateStack extends Stack {
  readonly gate: BillingGate;

  constructor(scope: Construct, id: string, props: BillingGateStackProps) {
    super(scope, id, props);
    const { config } = props;
    // Every setting, none copied by hand: the construct validates them again as props.
    this.gate = new BillingGate(this, 'Gate', propsOf(config));
    const gate = this.gate;

    // Without the webhook (ingress eventbridge) there is no URL and no signing secret to
    // publish; the operator commands treat both outputs as optional.
    if (gate.ingress.webhookVerifier) {
      this.output(
        OUTPUT_KEYS.webhookUrl,
        gate.ingress.webhookUrl,
        'Register this URL in Stripe (npm run register-endpoint)',
      );
    }
    this.output(
      OUTPUT_KEYS.apiUrl,
      gate.ingress.apiUrl,
      'Base URL of the IAM-authorised customer routes',
    );
    this.output(OUTPUT_KEYS.tableName, gate.store.table.tableName, 'The billing table');
    if (gate.secrets.signingSecret) {
      this.output(
        OUTPUT_KEYS.webhookSecretArn,
        gate.secrets.signingSecret.secretArn,
        'Stripe webhook signing secret(s)',
      );
    }
    if (gate.eventBridge) {
      this.output(
        OUTPUT_KEYS.eventBusName,
        gate.eventBridge.bus.eventBusName,
        "The partner event bus of Stripe's EventBridge destination",
      );
    }
    this.output(
      OUTPUT_KEYS.apiKeySecretArn,
      gate.secrets.apiKeySecret.secretArn,
      'Optional Stripe API key',
    );
    this.output(
      OUTPUT_KEYS.alertsTopicArn,
      gate.notifications.alertsTopic.topicArn,
      'Alarms, for people: subscribe your on-call e-mail or paging tool',
    );
    this.output(
      OUTPUT_KEYS.announcementsTopicArn,
      gate.notifications.announcementsTopic.topicArn,
      'canAllocate changes, for integrations: subscribe a queue or a function',
    );
    this.output(
      OUTPUT_KEYS.apiReadPolicyArn,
      gate.apiReadPolicy.managedPolicyArn,
      'Managed policy: invoke GET billing-status, GET events and GET customers (the listing)',
    );
    this.output(
      OUTPUT_KEYS.apiOverridePolicyArn,
      gate.apiOverridePolicy.managedPolicyArn,
      'Managed policy: invoke PUT and DELETE override',
    );
    this.output(
      OUTPUT_KEYS.statusReaderPolicyArn,
      gate.statusReaderPolicy.managedPolicyArn,
      'Managed policy: GetItem of status items, the settings item and Accounts v2 aliases only, for the provisioning client',
    );
    this.output(
      OUTPUT_KEYS.queueUrlPrefix,
      gate.processing.queueUrlPrefix,
      'Queue URL = prefix + type slug; its DLQ = that + "-dlq"',
    );
    this.output(
      OUTPUT_KEYS.enabledEventTypes,
      config.enabledEventTypes.join(','),
      'Event types with a queue and a processor',
    );
    if (gate.monitoring.dashboard) {
      this.output(
        OUTPUT_KEYS.dashboardName,
        gate.monitoring.dashboard.dashboardName,
        'CloudWatch dashboard',
      );
    }
  }

  private output(key: string, value: string, description: string): void {
    new CfnOutput(this, key, { value, description });
  }
}
