// The default stack's alarms (every one with its runbook in its description and the alerts
// topic as action) and the opt-in dashboard.

import { App, Stack, type CfnResource } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { beforeAll, describe, expect, it } from 'vitest';
import { deadLetterQueueName } from '../../lambdas/adapters/queue-layout';
import { METRICS } from '../../lambdas/core/metric-names';
import { REGISTRY } from '../../lambdas/core/registry';
import { BillingGate } from '../../lib/billing-gate';
import {
  alarmsOn,
  logicalId,
  NAMESPACE,
  ofType,
  ref,
  stack,
  template,
  useDefaultStack,
  type Json,
} from './default-stack';

useDefaultStack();

describe('alarms', () => {
  it('alarms on every dead-letter queue from its first message', () => {
    for (const p of stack.gate.processing.processors) {
      // Act
      const alarms = alarmsOn(
        'ApproximateNumberOfMessagesVisible',
        stack.resolve(p.deadLetterQueue.queueName),
      );

      // Assess
      expect(alarms).toHaveLength(1);
      expect(alarms[0]).toMatchObject({
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
      expect(alarms[0]!.AlarmDescription).toContain(`npm run redrive -- --queue ${p.eventType}`);
    }
  });

  it('has one alarm per type, its dead-letter alarm, whose runbook also covers errors, crashes, timeouts and throttling', () => {
    for (const p of stack.gate.processing.processors) {
      // Act
      const onType = ofType('AWS::CloudWatch::Alarm')
        .map(([, a]) => a.Properties)
        .filter((a) =>
          [p.queue, p.deadLetterQueue, p.function].some((c) =>
            JSON.stringify(a).includes(`"${logicalId(c)}"`),
          ),
        );

      // Assess
      expect(onType.map((a) => a.AlarmName)).toEqual([
        `${deadLetterQueueName('sbg-dev', p.eventType)}-not-empty`,
      ]);
      expect(onType[0]!.AlarmDescription).toMatch(
        /failed 5 times \(an error, a crash, a timeout or throttling\)/,
      );
      expect(onType[0]!.AlarmDescription).toContain("processors' log group");
    }
  });

  it('reads at most one metric per alarm outside Metrics Insights, so an alarm costs one alarm metric', () => {
    // Act
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);

    // Assess
    expect(alarms).toHaveLength(stack.gate.processing.processors.length + 8);
    for (const alarm of alarms) {
      expect([alarm.MetricName, alarm.Metrics]).toEqual([expect.any(String), undefined]);
    }
  });

  it('gives every alarm a description and the alerts topic as action', () => {
    // Prepare
    const topic = ref(stack.gate.notifications.alertsTopic.topicArn);

    // Act
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);

    // Assess
    for (const alarm of alarms) {
      expect(alarm.AlarmDescription.length).toBeGreaterThan(80);
      expect(alarm.AlarmActions).toEqual([topic]);
    }
  });

  it("alarms on API 5xx, the verifier's crashes included, naming the verifier's log group, with no verifier alarm beside it", () => {
    // Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApiGateway',
      MetricName: '5xx',
      Dimensions: [{ Name: 'ApiId', Value: { Ref: logicalId(stack.gate.ingress.api) } }],
      AlarmDescription: Match.stringLikeRegexp("verifier's log group.*npm run register-endpoint"),
    });
    expect(alarmsOn('Errors', { Ref: logicalId(stack.gate.ingress.verifier.function) })).toEqual(
      [],
    );
  });

  it('alarms on a spike of signature failures from the verifier metric', () => {
    // Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: NAMESPACE,
      MetricName: METRICS.signatureFailure,
      Dimensions: [{ Name: 'service', Value: 'verifier' }],
      Statistic: 'Sum',
      Threshold: Match.anyValue(),
    });
  });

  it('alarms when a parked event is older than 24 hours, with the runbook in its description', () => {
    // Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: NAMESPACE,
      MetricName: METRICS.oldestParkedAgeSeconds,
      Dimensions: [{ Name: 'service', Value: 'sweeper' }],
      Threshold: 24 * 3600,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmDescription: Match.stringLikeRegexp('npm run backfill.*Stripe API key secret'),
    });
  });

  it('alarms on notifier errors and on its on-failure queue', () => {
    // Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Dimensions: [
        { Name: 'FunctionName', Value: { Ref: logicalId(stack.gate.notifier.handler.function) } },
      ],
    });
    expect(
      alarmsOn(
        'ApproximateNumberOfMessagesVisible',
        stack.resolve(stack.gate.notifier.failureQueue.queueName),
      ),
    ).toHaveLength(1);
  });

  it('alarms when status items stay behind the running rules for a day, naming the rebuild', () => {
    // Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: NAMESPACE,
      MetricName: METRICS.statusItemsBehindRules,
      Dimensions: [{ Name: 'service', Value: 'sweeper' }],
      Statistic: 'Minimum',
      Period: 3600,
      EvaluationPeriods: 24,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmDescription: Match.stringLikeRegexp('npm run rebuild'),
    });
  });

  it('alarms once for the whole fleet when a status item write is refused for its size, naming the rebuild', () => {
    // Act
    const alarms = ofType('AWS::CloudWatch::Alarm')
      .map(([, a]) => a.Properties)
      .filter((a) => a.MetricName === METRICS.statusWriteFailed);

    // Assess
    expect(alarms).toHaveLength(1);
    expect(alarms[0]).toMatchObject({
      AlarmName: 'sbg-dev-status-write-failed',
      Namespace: NAMESPACE,
      Dimensions: [{ Name: 'service', Value: 'processor' }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(alarms[0]!.AlarmDescription).toMatch(/answer that customer from its facts/);
    expect(alarms[0]!.AlarmDescription).toMatch(/dead-lettered/);
    expect(alarms[0]!.AlarmDescription).toContain('npm run rebuild -- --customer <cus_...>');
  });

  it('creates no dashboard unless asked for, and no DashboardName output', () => {
    // Assess
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(stack.gate.monitoring.dashboard).toBeUndefined();
    expect(Object.keys(template.toJSON().Outputs as Json)).not.toContain('DashboardName');
  });
});

describe('the opt-in dashboard', () => {
  let body: string;
  let alarmIds: string[];
  beforeAll(() => {
    const app = new App({
      context: { 'aws:cdk:bundling-stacks': [] },
      builtinCloudFormationValidation: false,
    });
    const consumer = new Stack(app, 'ConsumerStack');
    const gate = new BillingGate(consumer, 'Billing', { dashboard: true });
    const json = Template.fromStack(consumer).toJSON();
    body = JSON.stringify(
      Object.values(json.Resources as Record<string, Json>).find(
        (r) => r.Type === 'AWS::CloudWatch::Dashboard',
      )!.Properties.DashboardBody,
    );
    alarmIds = consumer.node
      .findAll()
      .filter((c): c is cloudwatch.Alarm => c instanceof cloudwatch.Alarm)
      .filter((a) => a.node.path.startsWith(gate.node.path))
      .map((a) => consumer.getLogicalId(a.node.defaultChild as CfnResource));
  });

  it('shows the pipeline, built from the shared metric names', () => {
    // Assess
    for (const name of [
      METRICS.webhookRejected,
      METRICS.signatureFailure,
      METRICS.queueFailure,
      METRICS.applyLatencyMs,
      METRICS.eventApplied,
      METRICS.eventDuplicate,
      METRICS.parkedEvents,
      METRICS.statusItemsBehindRules,
      'Invocations',
      'ApproximateAgeOfOldestMessage',
      'ApproximateNumberOfMessagesVisible',
      'Throttles',
    ]) {
      expect(body).toContain(name);
    }
  });

  it('lists every alarm of the gate', () => {
    // Assess
    expect(alarmIds.length).toBeGreaterThan(REGISTRY.length);
    for (const id of alarmIds) expect(body).toContain(JSON.stringify(id));
  });
});
