// The second way in: Stripe's Amazon EventBridge destination. The partner event bus that
// associates Stripe's partner event source, and per enabled type one rule (pattern from
// lambdas/eventbridge/rules.ts) whose target puts `$.detail`, the Stripe event as a webhook
// would carry it, on that type's queue: the processors cannot tell the two paths apart.
// No public endpoint, verifier or signing secret on this path; EventBridge retries itself.
// The queues admit the bus's rules through their one shared policy (Processing), so a rule
// adds one resource to the template, itself.

import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StripeMode } from '../lambdas/config';
import { typeSlug } from '../lambdas/core/registry';
import { partnerSourceProblem } from '../lambdas/eventbridge/envelope';
import {
  STRIPE_EVENT_INPUT_PATH,
  stripeRulePattern,
  type EventPattern,
} from '../lambdas/eventbridge/rules';

/** Where one event type goes: its processor queue, and the dead-letter queue beside it. */
export interface EventBridgeTarget {
  readonly eventType: string;
  readonly queue: sqs.IQueue;
  /**
   * Where EventBridge puts what it could not deliver. The type's own DLQ: its depth alarm
   * and `npm run redrive -- --queue <type>` then cover both paths, at no extra resource.
   */
  readonly deadLetterQueue: sqs.IQueue;
}

export interface EventBridgeIngressProps {
  /** The partner event source Stripe created, `aws.partner/stripe.com/ed_...`. */
  readonly eventSourceName: string;
  /** Only events of this mode are routed; null routes both. */
  readonly stripeMode: StripeMode | null;
  /** One rule per entry, in this order. */
  readonly targets: readonly EventBridgeTarget[];
  readonly alarmAction: cloudwatch.IAlarmAction;
  /** Prefixes the alarm's name (the stack's queue prefix). */
  readonly alarmNamePrefix: string;
  /** How long EventBridge keeps retrying a delivery. @default Duration.hours(24) */
  readonly maxEventAge?: Duration;
  /** Retries of one delivery before the dead-letter queue. @default 185 */
  readonly retryAttempts?: number;
}

/** The CDK form of a rule pattern (`detail-type` is spelled `detailType` there). */
export function cdkEventPattern(pattern: EventPattern): events.EventPattern {
  const { source, 'detail-type': detailType, detail, ...rest } = pattern;
  if (Object.keys(rest).length > 0) {
    throw new Error(`pattern fields not mapped to CDK: ${Object.keys(rest).join(', ')}`);
  }
  return {
    source: source as string[],
    detailType: detailType as string[],
    detail: detail as Record<string, unknown>,
  };
}

/**
 * A rule target that puts `$.detail` on a queue, with a dead-letter queue and a retry
 * policy, and leaves the queue's resource policy alone (CDK's SqsQueue target adds a
 * statement to it, and so a policy resource, per queue): the queues admit the rules in the
 * policy they share.
 */
class QueueTarget implements events.IRuleTarget {
  constructor(
    private readonly queue: sqs.IQueue,
    private readonly props: {
      deadLetterQueue: sqs.IQueue;
      maxEventAge: Duration;
      retryAttempts: number;
    },
  ) {}

  bind(): events.RuleTargetConfig {
    return {
      arn: this.queue.queueArn,
      input: events.RuleTargetInput.fromEventPath(STRIPE_EVENT_INPUT_PATH),
      deadLetterConfig: { arn: this.props.deadLetterQueue.queueArn },
      retryPolicy: {
        maximumEventAgeInSeconds: this.props.maxEventAge.toSeconds(),
        maximumRetryAttempts: this.props.retryAttempts,
      },
    };
  }
}

export class EventBridgeIngress extends Construct {
  /** The partner event bus; creating it associates Stripe's partner event source. */
  readonly bus: events.EventBus;
  readonly rules: readonly events.Rule[];
  /** `arn:...:events:<region>:<account>:rule/<bus>/*`: every rule of the partner bus. */
  readonly ruleArnPattern: string;
  /** Events lost because EventBridge could not even dead-letter them. */
  readonly lostEventsAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: EventBridgeIngressProps) {
    super(scope, id);
    const problem = partnerSourceProblem(props.eventSourceName);
    if (problem) throw new Error(`eventSourceName ${problem}`);

    // A partner event bus carries the name of its partner event source; this is the
    // association Stripe's destination waits for (within 7 days of its creation).
    this.bus = new events.EventBus(this, 'PartnerBus', {
      eventSourceName: props.eventSourceName,
      description: 'Stripe events from the Stripe event destination (partner event source)',
    });

    this.ruleArnPattern = Stack.of(this).formatArn({
      service: 'events',
      resource: 'rule',
      resourceName: `${props.eventSourceName}/*`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    const maxEventAge = props.maxEventAge ?? Duration.hours(24);
    const retryAttempts = props.retryAttempts ?? 185;
    this.rules = props.targets.map((target) => {
      const rule = new events.Rule(this, typeSlug(target.eventType), {
        eventBus: this.bus,
        description: `Stripe ${target.eventType} events to their processor queue`,
        eventPattern: cdkEventPattern(
          stripeRulePattern(target.eventType, {
            source: props.eventSourceName,
            stripeMode: props.stripeMode,
          }),
        ),
      });
      rule.addTarget(
        new QueueTarget(target.queue, {
          deadLetterQueue: target.deadLetterQueue,
          maxEventAge,
          retryAttempts,
        }),
      );
      return rule;
    });

    // Dead-lettered deliveries raise the type's own DLQ alarm. What EventBridge cannot even
    // dead-letter (the DLQ's policy or the queue broken, or an event holding characters SQS
    // refuses in a message body, which its dead letter carries too) is lost to EventBridge:
    // one alarm over every rule of this bus, through a Metrics Insights query.
    this.lostEventsAlarm = new cloudwatch.Alarm(this, 'LostEventsAlarm', {
      alarmName: `${props.alarmNamePrefix}-eventbridge-undeliverable`,
      alarmDescription:
        'EventBridge could neither deliver Stripe events to their queue nor put them in the dead-letter queue: those events are lost. ' +
        "Check the queues' resource policies (they must admit events.amazonaws.com for these rules) and that the queues exist; " +
        'an event holding characters SQS refuses in a message body (U+FFFE, U+FFFF, control characters) fails this way with nothing broken. ' +
        'Then recover the missed events with `npm run reconcile -- --since <when this started>`.',
      metric: new cloudwatch.MathExpression({
        expression: `SELECT SUM(InvocationsFailedToBeSentToDlq) FROM SCHEMA("AWS/Events", EventBusName, RuleName) WHERE EventBusName = '${props.eventSourceName}'`,
        label: 'events not dead-lettered',
        period: Duration.minutes(5),
        usingMetrics: {},
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.lostEventsAlarm.addAlarmAction(props.alarmAction);
  }
}
