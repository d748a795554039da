// Stack-wide alarms (the per-type dead-letter alarms live in QueueProcessor, the notifier's
// failure queue alarm in Notifier) and the opt-in CloudWatch dashboard. Business metrics come
// from the handlers through Powertools (namespace and names in lambdas/core/metric-names.ts).
// Every alarm metric is billed each month, so an alarm exists only where no other alarm
// already tells the operator the same thing (README, Alarms and topics).

import { Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { METRICS } from '../lambdas/core/metric-names';
import type { HandlerName } from './gate-function';
import type { QueueProcessor } from './queue-processor';

/** Signature failures per 5 minutes that count as a spike rather than noise. */
export const SIGNATURE_FAILURE_SPIKE = 10;

/** Rules-version lag that is expected right after a deployment that changed a rule. */
export const BEHIND_RULES_GRACE_HOURS = 24;

export interface MonitoringProps {
  /** Names the dashboard and prefixes the alarm names. */
  readonly name: string;
  /** The stage's namespace of the handlers' business metrics (metricNamespace(stage)). */
  readonly metricsNamespace: string;
  readonly alarmAction: cloudwatch.IAlarmAction;
  readonly api: apigw.IHttpApi;
  /** The webhook verifier; absent when events come through EventBridge only. */
  readonly verifier?: lambda.IFunction;
  readonly notifier: lambda.IFunction;
  readonly sweeper: lambda.IFunction;
  readonly processors: readonly QueueProcessor[];
  /** Alarms that live elsewhere but belong on the dashboard's alarm list. */
  readonly otherAlarms?: readonly cloudwatch.IAlarm[];
  /** The parked-events alarm threshold. */
  readonly parkedAlarmHours: number;
  /** The sweeper's interval (it emits the parked metrics once per run). */
  readonly sweepMinutes: number;
  /** Create the CloudWatch dashboard ($3.00 a month). @default false */
  readonly dashboard?: boolean;
}

/**
 * One of the handlers' business metrics. Powertools adds the dimension `service` (the
 * handler's service name), so the dimension set must match it exactly.
 */
export function businessMetric(
  namespace: string,
  name: string,
  service: HandlerName,
  options: { statistic?: string; period?: Duration; label?: string } = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace,
    metricName: name,
    dimensionsMap: { service },
    statistic: options.statistic ?? cloudwatch.Stats.SUM,
    period: options.period ?? Duration.minutes(5),
    ...(options.label ? { label: options.label } : {}),
  });
}

export class Monitoring extends Construct {
  readonly alarms: readonly cloudwatch.Alarm[];
  /** The dashboard; undefined unless asked for (props.dashboard). */
  readonly dashboard: cloudwatch.Dashboard | undefined;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const n = props.name;
    const business = (
      name: string,
      service: HandlerName,
      options: { statistic?: string; period?: Duration; label?: string } = {},
    ) => businessMetric(props.metricsNamespace, name, service, options);
    const fiveMinutes = Duration.minutes(5);
    const sum = { statistic: cloudwatch.Stats.SUM, period: fiveMinutes };
    // The sweeper emits once per run: look at two runs so a late run leaves no gap.
    const parkedPeriod = Duration.minutes(Math.min(props.sweepMinutes * 2, 1440));

    const verifier = props.verifier;
    this.alarms = [
      // Also the verifier's alarm: a verifier that crashes or times out answers Stripe 5xx,
      // so a verifier-errors alarm of its own would only say the same thing again.
      this.alarm('Api5xx', {
        alarmName: `${n}-api-5xx`,
        alarmDescription:
          'The HTTP API answered 5xx: events could not be queued (Stripe retries them for up to 3 days) or the status API failed. ' +
          (verifier
            ? "For POST /webhook read the verifier's log group: a configuration error names the variable (e.g. the webhook secret is still the placeholder: run `npm run register-endpoint`); a queue failure means SQS was unreachable or a queue is missing. "
            : '') +
          "For the customer routes read the status API's log group.",
        metric: props.api.metricServerError(sum),
        threshold: 1,
      }),
      ...(verifier
        ? [
            this.alarm('SignatureFailures', {
              alarmName: `${n}-signature-failures`,
              alarmDescription:
                `${SIGNATURE_FAILURE_SPIKE} or more webhook requests in 5 minutes failed signature verification. ` +
                'If Stripe sent them, the signing secret in Secrets Manager is stale (endpoint recreated or secret rolled): ' +
                'run `npm run register-endpoint` or store the current whsec_ value. Otherwise someone is probing the endpoint; the access logs show the source IPs.',
              metric: business(METRICS.signatureFailure, 'verifier'),
              threshold: SIGNATURE_FAILURE_SPIKE,
            }),
          ]
        : []),
      this.alarm('ParkedTooLong', {
        alarmName: `${n}-parked-events-too-old`,
        alarmDescription:
          `An event has been parked over ${props.parkedAlarmHours} hours waiting for its customer (disputes and detached payment methods whose charge or owner no event has revealed). ` +
          'Run `npm run backfill` to bring in the history that predates the deployment, or set the Stripe API key secret (output ApiKeySecretArn) so the processors and the sweeper look the charge up. ' +
          '`npm run status -- --parked` lists them.',
        metric: business(METRICS.oldestParkedAgeSeconds, 'sweeper', {
          statistic: cloudwatch.Stats.MAXIMUM,
          period: parkedPeriod,
        }),
        threshold: props.parkedAlarmHours * 3600,
        comparison: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      }),
      this.alarm('NotifierErrors', {
        alarmName: `${n}-notifier-errors`,
        alarmDescription:
          'The notifier crashed or timed out; the stream batch is retried, then sent to the notifier-failures queue, so announcements are late or missing. ' +
          "Read the notifier's log group (SNS publish denied? table throttled?).",
        metric: props.notifier.metricErrors(sum),
        threshold: 1,
      }),
      this.alarm('StatusItemsBehindRules', {
        alarmName: `${n}-status-items-behind-rules`,
        alarmDescription:
          `Status items computed with older rules than the running ones have been counted for ${BEHIND_RULES_GRACE_HOURS} hours: ` +
          'a deployment changed a rule and the stored statuses were not recomputed, so those customers may get answers by the old rule. ' +
          'Run `npm run rebuild` (add `--dry-run` first to see how many); the count falls to 0 when it is done.',
        metric: business(METRICS.statusItemsBehindRules, 'sweeper', {
          statistic: cloudwatch.Stats.MINIMUM,
          period: Duration.hours(1),
        }),
        threshold: 0,
        comparison: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: BEHIND_RULES_GRACE_HOURS,
      }),
      // One alarm for the whole fleet (the metric carries no type): the error line names the
      // customer and the event, and the event's own dead-letter alarm names its type.
      this.alarm('StatusWriteFailed', {
        alarmName: `${n}-status-write-failed`,
        alarmDescription:
          "A processor could not write a customer's status item: DynamoDB refused it for its size (over 400 KB). " +
          'The item is marked oversize, so the status API, `npm run status` and GET /customers answer that customer from its facts ' +
          "(the client still reads the item, which misses the event); the event was committed as a fact, and its message is retried, then dead-lettered (its type's dlq-not-empty alarm). " +
          'Find the customer in the processors\' log group (the error line "event failed; left for redelivery" names it), check it with `npm run status -- <cus_...>`, ' +
          'then run `npm run rebuild -- --customer <cus_...>` (it rewrites the item within its bound and clears the mark) and `npm run redrive -- --queue <type>`.',
        metric: business(METRICS.statusWriteFailed, 'processor'),
        threshold: 1,
      }),
      this.alarm('SweeperErrors', {
        alarmName: `${n}-sweeper-errors`,
        alarmDescription:
          "The parked-event sweeper crashed or timed out, so parked events are not retried and the parked metrics are stale. Read the sweeper's log group.",
        metric: props.sweeper.metricErrors(sum),
        threshold: 1,
      }),
    ];
    for (const alarm of this.alarms) alarm.addAlarmAction(props.alarmAction);

    this.dashboard = props.dashboard ? this.createDashboard(props, business) : undefined;
  }

  /** One dashboard of the whole pipeline: $3.00 a month, so only when asked for. */
  private createDashboard(
    props: MonitoringProps,
    business: (
      name: string,
      service: HandlerName,
      options?: { statistic?: string; period?: Duration; label?: string },
    ) => cloudwatch.Metric,
  ): cloudwatch.Dashboard {
    const verifier = props.verifier;
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.name,
      defaultInterval: Duration.hours(6),
    });
    const perQueue = (
      label: string,
      metric: (p: QueueProcessor) => cloudwatch.IMetric,
    ): cloudwatch.GraphWidget =>
      new cloudwatch.GraphWidget({
        title: label,
        width: 8,
        height: 8,
        legendPosition: cloudwatch.LegendPosition.RIGHT,
        left: props.processors.map(metric),
      });
    const verifierMetric = (name: string) => business(name, 'verifier', { label: name });
    const processorMetric = (name: string) => business(name, 'processor', { label: name });

    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          '## Stripe billing gate\nEach alarm description is its runbook. Dead letters: `npm run redrive -- --queue <type>`; missed events: `npm run reconcile -- --since 1d`; parked events: `npm run status -- --parked`.',
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(
      // Without the webhook (EventBridge only) nothing would ever plot here.
      ...(verifier
        ? [
            new cloudwatch.GraphWidget({
              // The verifier counts refusals only: a webhook it queues costs no metric line;
              // its invocations are the webhooks received.
              title: 'Webhooks received / rejected',
              width: 12,
              left: [
                verifier.metricInvocations({ statistic: cloudwatch.Stats.SUM, label: 'received' }),
                verifierMetric(METRICS.webhookRejected),
              ],
              right: [
                verifierMetric(METRICS.signatureFailure),
                verifierMetric(METRICS.queueFailure),
              ],
            }),
          ]
        : []),
      new cloudwatch.GraphWidget({
        title: 'Processing latency (ms)',
        width: 12,
        left: [
          business(METRICS.applyLatencyMs, 'processor', {
            statistic: cloudwatch.Stats.p(50),
            label: 'apply p50',
          }),
          business(METRICS.applyLatencyMs, 'processor', {
            statistic: cloudwatch.Stats.p(99),
            label: 'apply p99',
          }),
          ...(verifier
            ? [
                verifier.metricDuration({
                  statistic: cloudwatch.Stats.p(99),
                  label: 'verifier p99',
                }),
              ]
            : []),
          props.api.metricLatency({ statistic: cloudwatch.Stats.p(99), label: 'API p99' }),
        ],
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Applied vs duplicate events',
        width: 12,
        left: [
          processorMetric(METRICS.eventApplied),
          processorMetric(METRICS.eventDuplicate),
          processorMetric(METRICS.eventParked),
          processorMetric(METRICS.eventNoCustomer),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Parked events; status items behind the rules',
        width: 12,
        left: [
          business(METRICS.parkedEvents, 'sweeper', {
            statistic: cloudwatch.Stats.MAXIMUM,
            label: 'parked',
          }),
          business(METRICS.statusItemsBehindRules, 'sweeper', {
            statistic: cloudwatch.Stats.MAXIMUM,
            label: 'status items behind rules',
          }),
        ],
        right: [
          business(METRICS.oldestParkedAgeSeconds, 'sweeper', {
            statistic: cloudwatch.Stats.MAXIMUM,
            label: 'oldest age (s)',
          }),
        ],
      }),
    );
    dashboard.addWidgets(
      perQueue('Queue depths', (p) =>
        p.queue.metricApproximateNumberOfMessagesVisible({ label: p.eventType }),
      ),
      perQueue('Oldest queued message age (s)', (p) =>
        p.queue.metricApproximateAgeOfOldestMessage({ label: p.eventType }),
      ),
      perQueue('Dead-letter queue depths', (p) =>
        p.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ label: p.eventType }),
      ),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Processor errors + throttles',
        width: 24,
        height: 8,
        legendPosition: cloudwatch.LegendPosition.RIGHT,
        left: props.processors.map(
          (p, i) =>
            new cloudwatch.MathExpression({
              expression: `errors${i} + throttles${i}`,
              label: p.eventType,
              period: Duration.minutes(5),
              usingMetrics: {
                [`errors${i}`]: p.function.metricErrors({ statistic: cloudwatch.Stats.SUM }),
                [`throttles${i}`]: p.function.metricThrottles({ statistic: cloudwatch.Stats.SUM }),
              },
            }),
        ),
      }),
    );
    const allAlarms = [
      ...this.alarms,
      ...(props.otherAlarms ?? []),
      ...props.processors.flatMap((p) => p.alarms),
    ];
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        width: 24,
        height: 8,
        alarms: allAlarms,
        sortBy: cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
      }),
    );
    return dashboard;
  }

  private alarm(
    id: string,
    opts: {
      alarmName: string;
      alarmDescription: string;
      metric: cloudwatch.IMetric;
      threshold: number;
      comparison?: cloudwatch.ComparisonOperator;
      evaluationPeriods?: number;
    },
  ): cloudwatch.Alarm {
    return new cloudwatch.Alarm(this, id, {
      alarmName: opts.alarmName,
      alarmDescription: opts.alarmDescription,
      metric: opts.metric,
      threshold: opts.threshold,
      comparisonOperator:
        opts.comparison ?? cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: opts.evaluationPeriods ?? 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
