// The stack under non-default context: a subset of event types, another stage, live mode,
// tracing, an alarm e-mail and tuned limits. Only enabled types get queues and processors.

import { Stack, type CfnResource } from 'aws-cdk-lib';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { METRICS } from '../../lambdas/core/metric-names';
import { ENV } from '../../lambdas/lambda-env';
import type { BillingGateStack } from '../../lib/billing-gate-stack';
import { reportedViolations, synthesizeBillingGate } from './synth-billing-gate';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ENABLED = ['invoice.paid', 'charge.dispute.created'];

let stack: BillingGateStack;
let template: Template;
let assembly: CloudAssembly;

beforeAll(() => {
  ({ stack, template, assembly } = synthesizeBillingGate({
    stage: 'prod',
    enabledEventTypes: 'charge.dispute.created,invoice.paid',
    stripeMode: 'live',
    tracing: 'true',
    alarmEmail: 'ops@example.com',
    maxReceiveCount: '3',
    processorMaxConcurrency: '10',
    webhookRateLimit: '25',
    webhookBurstLimit: '50',
    customerRateLimit: '7',
    customerBurstLimit: '9',
    applicationLogLevel: 'DEBUG',
    systemLogLevel: 'INFO',
    parkedAlarmHours: '6',
    sweepMinutes: '15',
    expiryWarningDays: '14',
  }));
});

function resourceOf(construct: IConstruct): Json {
  const id = Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnResource);
  return (template.toJSON().Resources as Record<string, Json>)[id]!;
}

describe('with a subset of event types and tuned context', () => {
  it('names the stack after the stage', () => {
    // Assess
    expect(stack.stackName).toBe('StripeBillingGate-prod');
  });

  it('creates queues and processors for the enabled types only', () => {
    // Act
    const queueNames = Object.values(template.findResources('AWS::SQS::Queue')).map(
      (q) => q.Properties.QueueName as string,
    );

    // Assess
    expect(queueNames.sort()).toEqual([
      'sbg-prod-charge-dispute-created',
      'sbg-prod-charge-dispute-created-dlq',
      'sbg-prod-invoice-paid',
      'sbg-prod-invoice-paid-dlq',
      'sbg-prod-notifier-failures',
    ]);
    expect(stack.gate.processing.processors.map((p) => p.eventType)).toEqual(ENABLED);
    template.resourceCountIs('AWS::Lambda::Function', 2 + 4);
  });

  it('tells the verifier the enabled types and the Stripe mode', () => {
    // Act
    const env = resourceOf(stack.gate.ingress.verifier.function).Properties.Environment.Variables;

    // Assess
    expect(env[ENV.enabledEventTypes]).toBe(ENABLED.join(','));
    expect(env[ENV.stripeMode]).toBe('live');
  });

  it('lists the enabled types in the EnabledEventTypes output', () => {
    // Assess
    template.hasOutput('EnabledEventTypes', { Value: ENABLED.join(',') });
  });

  it('dead-letters after the configured receive count', () => {
    for (const p of stack.gate.processing.processors) {
      // Assess
      expect(resourceOf(p.queue).Properties.RedrivePolicy.maxReceiveCount).toBe(3);
    }
  });

  it('caps each processor at the configured concurrency', () => {
    // Act
    const caps = Object.values(template.findResources('AWS::Lambda::EventSourceMapping'))
      .filter((m) => m.Properties.ScalingConfig)
      .map((m) => m.Properties.ScalingConfig.MaximumConcurrency);

    // Assess
    expect(caps).toEqual([10, 10]);
  });

  it('throttles the webhook and the customer routes at their own configured limits', () => {
    // Act
    const settings = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0]!
      .Properties.RouteSettings as Json;

    // Assess
    expect(settings['POST /webhook']).toEqual({
      ThrottlingRateLimit: 25,
      ThrottlingBurstLimit: 50,
    });
    for (const key of [
      'GET /customers/{customerId}/billing-status',
      'GET /customers/{customerId}/events',
      'GET /customers',
      'PUT /customers/{customerId}/override',
      'DELETE /customers/{customerId}/override',
    ]) {
      expect(settings[key]).toEqual({ ThrottlingRateLimit: 7, ThrottlingBurstLimit: 9 });
    }
  });

  it('sets the configured application and system log levels on every function', () => {
    // Act
    const levels = Object.values(template.findResources('AWS::Lambda::Function')).map((fn) => [
      fn.Properties.LoggingConfig.ApplicationLogLevel,
      fn.Properties.LoggingConfig.SystemLogLevel,
    ]);

    // Assess
    expect(new Set(levels.map((l) => l.join('/')))).toEqual(new Set(['DEBUG/INFO']));
  });

  it('does not warn about alarm subscribers when the alarm e-mail is set', () => {
    // Act
    const warnings = Annotations.fromStack(stack).findWarning(
      '*',
      Match.stringLikeRegexp('alerts topic'),
    );

    // Assess
    expect(warnings).toEqual([]);
  });

  it('traces every function with X-Ray', () => {
    // Act
    const modes = Object.values(template.findResources('AWS::Lambda::Function')).map(
      (fn) => fn.Properties.TracingConfig?.Mode,
    );

    // Assess
    expect(new Set(modes)).toEqual(new Set(['Active']));
  });

  it('subscribes the alarm e-mail to the alerts topic', () => {
    // Assess
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: Stack.of(stack).resolve(stack.gate.notifications.alertsTopic.topicArn),
    });
  });

  it('alarms on parked events older than the configured hours', () => {
    // Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: METRICS.oldestParkedAgeSeconds,
      Threshold: 6 * 3600,
      AlarmDescription: Match.stringLikeRegexp('over 6 hours'),
    });
  });

  it('retries parked events at the configured interval, the sweeper still running every minute', () => {
    // Act
    const env = resourceOf(stack.gate.processing.sweeper.function).Properties.Environment.Variables;

    // Assess
    expect(env[ENV.sweepMinutes]).toBe('15');
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
  });

  it('passes the expiry warning window to every function that derives a status', () => {
    for (const fn of [
      ...stack.gate.processing.processors.map((p) => p.function),
      stack.gate.ingress.statusApi.function,
      stack.gate.processing.sweeper.function,
      stack.gate.notifier.handler.function,
    ]) {
      // Assess
      expect(resourceOf(fn).Properties.Environment.Variables[ENV.expiryWarningDays]).toBe('14');
    }
  });

  it('still has no unacknowledged cdk-nag finding (the X-Ray wildcard is acknowledged)', () => {
    // Act
    const violations = reportedViolations(assembly);

    // Assess
    expect(violations).toEqual([]);
  });
});
