// The whole billing gate as one construct, for this project's stack and for any CDK app
// that embeds it: the HTTP API, one queue, dead-letter queue and processor per enabled
// event type, the table, secrets, topics, alarms, the three access policies and, when asked
// for, a dashboard; with the EventBridge ingress, also the partner event bus and its rules.
// Props are the context keys of `npx cdk deploy -c key=value`, validated the same way.

import {
  Annotations,
  Aspects,
  Stack,
  Tags,
  Validations,
  type CfnResource,
  type IAspect,
} from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct, type IConstruct } from 'constructs';
import { metricNamespace } from '../lambdas/core/metric-names';
import { acceptsWebhooks } from '../lambdas/eventbridge/ingress-mode';
import { loadConfig, type BillingGateConfig, type SettingProps } from './config';
import { EventBridgeIngress } from './eventbridge-ingress';
import type { FunctionDefaults } from './gate-function';
import { Ingress, OVERRIDE_ROUTES, READ_ROUTES } from './ingress';
import { Monitoring } from './monitoring';
import { Notifications } from './notifications';
import { Notifier } from './notifier';
import { Processing } from './processing';
import { StripeSecrets } from './secrets';
import { DEFAULT_STAGE } from './stack-outputs';
import { Store } from './store';

/**
 * Every prop is optional and is the context key of the same name: one definition of each
 * (lib/config.ts SETTINGS) gives its type, default, validation and doc, here and for
 * `-c key=value`. `policy` is the access policy document itself.
 */
export type BillingGateProps = SettingProps;

/** Warning ids this construct may add at synth (acknowledge with Annotations.acknowledgeWarning). */
export const WARNINGS = {
  noAlarmSubscriber: 'billing-gate:no-alarm-subscriber',
  metricsDropped: 'billing-gate:metrics-dropped-by-log-level',
} as const;

export class BillingGate extends Construct {
  readonly config: BillingGateConfig;
  readonly metricsNamespace: string;
  readonly store: Store;
  readonly secrets: StripeSecrets;
  readonly notifications: Notifications;
  readonly processing: Processing;
  readonly ingress: Ingress;
  /** Stripe's EventBridge destination: the partner bus and its rules; undefined with ingress `webhook`. */
  readonly eventBridge: EventBridgeIngress | undefined;
  readonly notifier: Notifier;
  readonly monitoring: Monitoring;
  /** May invoke the read routes (billing status, events, the listing); attach to a caller's role. */
  readonly apiReadPolicy: iam.ManagedPolicy;
  /** May invoke the override routes (PUT and DELETE); attach to a support tool's role. */
  readonly apiOverridePolicy: iam.ManagedPolicy;
  /**
   * May GetItem the status items, the settings item and the `acct_` alias items of the table
   * and nothing else: what the provisioning client reads.
   */
  readonly statusReaderPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: BillingGateProps = {}) {
    // Validated before anything is added to the tree: invalid props leave no trace.
    const config = loadConfig((key) => (props as Record<string, unknown>)[key]);
    super(scope, id);
    this.config = config;
    this.metricsNamespace = metricNamespace(config.stage);
    Tags.of(this).add('project', 'stripe-billing-gate');
    Tags.of(this).add('stage', config.stage);

    const functionDefaults: FunctionDefaults = {
      metricsNamespace: this.metricsNamespace,
      tracing: config.tracing,
      applicationLogLevel: config.applicationLogLevel,
      systemLogLevel: config.systemLogLevel,
      derivation: { policy: config.policy, expiryWarningDays: config.expiryWarningDays },
    };

    const webhook = acceptsWebhooks(config.ingress);
    this.store = new Store(this, 'Store');
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
      functionDefaults,
      eventBridgeDeadLetters: config.eventBridgeSource !== null,
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
      webhookThrottle: { rateLimit: config.webhookRateLimit, burstLimit: config.webhookBurstLimit },
      customerThrottle: {
        rateLimit: config.customerRateLimit,
        burstLimit: config.customerBurstLimit,
      },
      functionDefaults,
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
    if (this.eventBridge) this.processing.admitEventBridgeRules(this.eventBridge.ruleArnPattern);
    this.notifier = new Notifier(this, 'Notifier', {
      store: this.store,
      topic: this.notifications.announcementsTopic,
      alarmAction,
      queuePrefix: config.queuePrefix,
      expiryWarningDays: config.expiryWarningDays,
      functionDefaults,
    });
    this.monitoring = new Monitoring(this, 'Monitoring', {
      name: config.queuePrefix,
      metricsNamespace: this.metricsNamespace,
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
      dashboard: config.dashboard,
    });

    this.apiReadPolicy = new iam.ManagedPolicy(this, 'ApiReadPolicy', {
      description:
        'Invoke the billing gate read routes: GET billing-status, GET events and GET customers (the listing)',
      statements: [
        new iam.PolicyStatement({
          actions: ['execute-api:Invoke'],
          resources: this.ingress.routeArns(READ_ROUTES),
        }),
      ],
    });
    this.apiOverridePolicy = new iam.ManagedPolicy(this, 'ApiOverridePolicy', {
      description: 'Invoke the billing gate override routes: PUT and DELETE override',
      statements: [
        new iam.PolicyStatement({
          actions: ['execute-api:Invoke'],
          resources: this.ingress.routeArns(OVERRIDE_ROUTES),
        }),
      ],
    });
    this.statusReaderPolicy = new iam.ManagedPolicy(this, 'StatusReaderPolicy', {
      description:
        'Read the billing gate table as the client does: GetItem on status items (STATUS#), the settings item (SETTINGS) and Accounts v2 aliases (REF#acct_)',
      statements: [this.store.statusReadStatement()],
    });

    if (!['TRACE', 'DEBUG', 'INFO'].includes(config.applicationLogLevel)) {
      Annotations.of(this).addWarningV2(
        WARNINGS.metricsDropped,
        `applicationLogLevel ${config.applicationLogLevel}: Lambda files the metric (EMF) lines, which carry no level, at INFO and drops them, so the business metrics and the alarms on them (signature failures, parked events, status items behind the rules) stop. Use INFO unless that is intended.`,
      );
    }
    Aspects.of(this).add(new AlarmSubscriberCheck(this));
    this.acknowledgeAcceptedFindings();
  }

  /** Lets `grantee` invoke the read routes: any customer's billing status and events, and the listing. */
  grantStatusRead(grantee: iam.IGrantable): iam.Grant {
    return this.ingress.grantStatusRead(grantee);
  }

  /** Lets `grantee` set and clear any customer's override (PUT and DELETE); nothing else. */
  grantOverride(grantee: iam.IGrantable): iam.Grant {
    return this.ingress.grantOverride(grantee);
  }

  /** Lets `grantee` read status items straight from the table (the provisioning client). */
  grantStatusItemRead(grantee: iam.IGrantable): iam.Grant {
    return this.store.grantStatusRead(grantee);
  }

  /** cdk-nag findings this design accepts, each with its reason. */
  private acknowledgeAcceptedFindings(): void {
    Validations.of(this.notifier.handler).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'dynamodb:ListStreams cannot be scoped to a resource; it comes from the stream event source grant and allows listing only, not reading.',
    });
    Validations.of(this.notifier.handler).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason:
        'Publishing to the KMS-encrypted announcements topic needs data keys of that one key; the action family comes from the CDK topic publish grant.',
    });
    const apiId = Stack.of(this).getLogicalId(this.ingress.api.node.defaultChild as CfnResource);
    const routeFinding = (method: string, path: string) =>
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${apiId}>/$default/${method}${path.replace(/\{[^}]+\}/g, '*')}]`;
    for (const [policy, routes] of [
      [this.apiReadPolicy, READ_ROUTES],
      [this.apiOverridePolicy, OVERRIDE_ROUTES],
    ] as const) {
      // A route without a path parameter (the listing) has no wildcard to acknowledge.
      for (const route of routes.filter((r) => r.path.includes('{'))) {
        Validations.of(policy).acknowledge({
          id: routeFinding(route.method, route.path),
          reason:
            'The wildcard stands for the {customerId} path parameter of this one route: the caller may use the route for any customer, which is what this access level means.',
        });
      }
    }
    if (this.config.tracing) {
      Validations.of(this).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray PutTraceSegments/PutTelemetryRecords do not support resource-level permissions; added only with tracing enabled.',
      });
    }
  }
}

/**
 * Warns at synth when a stage other than dev has nobody subscribed to its alerts topic:
 * its alarms would change state with no one told. Runs as an aspect, so subscriptions
 * added after the construct (by an embedding app) count.
 */
class AlarmSubscriberCheck implements IAspect {
  private done = false;

  constructor(private readonly gate: BillingGate) {}

  visit(node: IConstruct): void {
    if (this.done || node !== this.gate) return;
    this.done = true;
    if (this.gate.config.stage === DEFAULT_STAGE) return;
    const stack = Stack.of(this.gate);
    const topicArn = JSON.stringify(stack.resolve(this.gate.notifications.alertsTopic.topicArn));
    const subscribed = stack.node
      .findAll()
      .some(
        (c) =>
          c instanceof sns.CfnSubscription &&
          JSON.stringify(stack.resolve(c.topicArn)) === topicArn,
      );
    if (!subscribed) {
      Annotations.of(this.gate).addWarningV2(
        WARNINGS.noAlarmSubscriber,
        `stage "${this.gate.config.stage}" has no subscriber on its alerts topic, so no one hears its alarms: deploy with -c alarmEmail=<address>, or subscribe your paging tool to the AlertsTopicArn output.`,
      );
    }
  }
}
