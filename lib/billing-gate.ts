// The whole billing gate as one construct, for this project's stack and for any CDK app
// that embeds it: the HTTP API, one queue, dead-letter queue and processor per enabled
// event type, the table, secrets, topics, alarms, dashboard and the three access policies;
// with the EventBridge ingress, also the partner event bus and its rules.
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
import { acceptsWebhooks, type IngressMode } from '../lambdas/eventbridge/ingress-mode';
import {
  loadConfig,
  type ApplicationLogLevel,
  type BillingGateConfig,
  type StripeModeSetting,
  type SystemLogLevel,
} from './config';
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

/** Every prop is optional; each matches the context key of the same name. */
export interface BillingGateProps {
  /**
   * Deployment stage: prefixes the queues (`sbg-<stage>-...`), the alarms and the
   * dashboard, and names the metrics namespace (`StripeBillingGate/<stage>`). Lowercase
   * letters, digits and hyphens, 1-20 characters.
   * @default 'dev'
   */
  readonly stage?: string;
  /**
   * Which Stripe mode's events are processed; events of the other mode are acknowledged
   * and ignored.
   * @default 'both'
   */
  readonly stripeMode?: StripeModeSetting;
  /** Steady requests per second of `POST /webhook`. @default 100 */
  readonly webhookRateLimit?: number;
  /** Burst of `POST /webhook` above its steady rate. @default 200 */
  readonly webhookBurstLimit?: number;
  /** Steady requests per second of each IAM-authorised customer route. @default 100 */
  readonly customerRateLimit?: number;
  /** Burst of each customer route above its steady rate. @default 200 */
  readonly customerBurstLimit?: number;
  /** Receives of a message before it moves to its dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
  /** Concurrent invocations per processor (2-1000). @default 5 */
  readonly processorMaxConcurrency?: number;
  /** Subscribed by e-mail to the alerts topic. @default - no subscription (a warning at synth outside the dev stage) */
  readonly alarmEmail?: string;
  /** The registry types that get a queue and a processor. @default - all of them */
  readonly enabledEventTypes?: readonly string[];
  /** X-Ray active tracing on every function. @default false */
  readonly tracing?: boolean;
  /** How long before its expiry a card counts as expiring. @default 30 */
  readonly expiryWarningDays?: number;
  /** The parked-event alarm's threshold. @default 24 */
  readonly parkedAlarmHours?: number;
  /** How often the sweeper runs. @default 5 */
  readonly sweepMinutes?: number;
  /** Allowed distance between a signature's timestamp and now. @default 300 */
  readonly signatureToleranceSeconds?: number;
  /**
   * The lowest level of the functions' own log lines that reaches CloudWatch Logs.
   * Handlers log each successfully handled event at DEBUG and every warning and failure
   * above INFO. Above INFO, Lambda also drops the metric (EMF) lines, which carry no level:
   * the business metrics and their alarms would go blind (a warning at synth says so).
   * @default 'INFO'
   */
  readonly applicationLogLevel?: ApplicationLogLevel;
  /** The lowest level of Lambda's platform lines; WARN drops START/END/REPORT. @default 'WARN' */
  readonly systemLogLevel?: SystemLogLevel;
  /**
   * How Stripe's events come in: `webhook` (the public `POST /webhook` route, its verifier
   * and signing secret), `eventbridge` (Stripe's Amazon EventBridge destination: a partner
   * event bus with one rule per enabled type, and no public route, verifier or signing
   * secret), or `both` (while moving from one to the other; each event is still applied
   * once).
   * @default 'webhook'
   */
  readonly ingress?: IngressMode;
  /**
   * The partner event source Stripe created for its EventBridge destination,
   * `aws.partner/stripe.com/ed_...` (`npm run register-endpoint -- --eventbridge` prints
   * it). Required with ingress `eventbridge` or `both`, refused with `webhook`.
   * @default - none
   */
  readonly eventBridgeSource?: string;
}

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
  /** May invoke the read routes (billing status, events); attach to a caller's role. */
  readonly apiReadPolicy: iam.ManagedPolicy;
  /** May invoke the override routes (PUT and DELETE); attach to a support tool's role. */
  readonly apiOverridePolicy: iam.ManagedPolicy;
  /** May GetItem status items of the table and nothing else, for the provisioning client. */
  readonly statusReaderPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: BillingGateProps = {}) {
    // Validated before anything is added to the tree: invalid props leave no trace.
    const config = loadConfig((key) => {
      const value = (props as Record<string, unknown>)[key];
      return Array.isArray(value) ? value.join(',') : value;
    });
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
      expiryWarningDays: config.expiryWarningDays,
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
    });

    this.apiReadPolicy = new iam.ManagedPolicy(this, 'ApiReadPolicy', {
      description: 'Invoke the billing gate read routes: GET billing-status and GET events',
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
      description: 'Read billing status items (GetItem on STATUS# keys) of the billing gate table',
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

  /** Lets `grantee` invoke the read routes: any customer's billing status and events. */
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
      for (const route of routes) {
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
