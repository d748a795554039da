// Two stages of the gate in one account: each function, alarm and dashboard widget uses
// its own stage's metrics namespace, so one stage's failures never fire the other's alarms.
// And the synth-time warnings: a non-dev stage nobody hears, a log level that drops metrics.

import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { METRIC_NAMESPACE, metricNamespace } from '../../lambdas/core/metric-names';
import { BillingGate, WARNINGS } from '../../lib/billing-gate';
import type { BillingGateStack } from '../../lib/billing-gate-stack';
import { synthesizeBillingGate } from './synth-billing-gate';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const FEW_TYPES = 'invoice.payment_failed,charge.dispute.created';

interface Synthesized {
  stack: BillingGateStack;
  template: Template;
  /** The same stage embedded with its opt-in dashboard. */
  withDashboard: Template;
}

/** The stage as a consumer embeds it, with the dashboard asked for. */
function withDashboard(stage: string): Template {
  const app = new App({
    context: { 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: false,
  });
  const consumer = new Stack(app, `Consumer-${stage}`);
  new BillingGate(consumer, 'Gate', {
    stage,
    enabledEventTypes: FEW_TYPES.split(','),
    dashboard: true,
  });
  return Template.fromStack(consumer);
}

let dev: Synthesized;
let prod: Synthesized;

beforeAll(() => {
  dev = {
    ...synthesizeBillingGate({ enabledEventTypes: FEW_TYPES }),
    withDashboard: withDashboard('dev'),
  };
  prod = {
    ...synthesizeBillingGate({
      stage: 'prod',
      enabledEventTypes: FEW_TYPES,
      alarmEmail: 'oncall@example.com',
    }),
    withDashboard: withDashboard('prod'),
  };
});

/** Every namespace of the gate's own metrics that the template names, anywhere. */
function ownNamespaces(value: unknown): Set<string> {
  const text = JSON.stringify(value);
  return new Set(text.match(new RegExp(`${METRIC_NAMESPACE}[^"\\\\]*`, 'g')) ?? []);
}

describe.each([
  ['dev', () => dev],
  ['prod', () => prod],
])('the %s stage', (stage, synthesized) => {
  const namespace = metricNamespace(stage);

  it('tells every function its own namespace', () => {
    // Act
    const namespaces = Object.values(
      synthesized().template.findResources('AWS::Lambda::Function'),
    ).map((fn) => fn.Properties.Environment.Variables.POWERTOOLS_METRICS_NAMESPACE);

    // Assess
    expect(namespaces.length).toBeGreaterThan(4);
    expect(new Set(namespaces)).toEqual(new Set([namespace]));
  });

  it('alarms on business metrics of its own namespace only', () => {
    // Act
    const alarms = Object.values(synthesized().template.findResources('AWS::CloudWatch::Alarm'));
    const business = alarms.filter(
      (a) => !String(a.Properties.Namespace ?? 'AWS/').startsWith('AWS/'),
    );

    // Assess
    expect(business.length).toBeGreaterThanOrEqual(3);
    expect(ownNamespaces(alarms)).toEqual(new Set([namespace]));
  });

  it('draws every dashboard widget from its own namespace', () => {
    // Act
    const dashboards = Object.values(
      synthesized().withDashboard.findResources('AWS::CloudWatch::Dashboard'),
    );

    // Assess
    expect(dashboards).toHaveLength(1);
    expect(ownNamespaces(dashboards[0]!.Properties.DashboardBody)).toEqual(new Set([namespace]));
  });
});

describe('two stages side by side', () => {
  it('share no namespace, alarm name, queue name or dashboard name', () => {
    // Prepare
    const names = (s: Synthesized, type: string, prop: string) =>
      Object.values(s.template.findResources(type)).map((r: Json) => r.Properties[prop] as string);

    // Act
    const overlap = (type: string, prop: string) =>
      names(dev, type, prop).filter((n) => names(prod, type, prop).includes(n));

    // Assess
    expect(metricNamespace('dev')).not.toBe(metricNamespace('prod'));
    expect(overlap('AWS::CloudWatch::Alarm', 'AlarmName')).toEqual([]);
    expect(overlap('AWS::SQS::Queue', 'QueueName')).toEqual([]);
    expect(
      [dev, prod].map((s) =>
        Object.values(s.withDashboard.findResources('AWS::CloudWatch::Dashboard')).map(
          (d: Json) => d.Properties.DashboardName as string,
        ),
      ),
    ).toEqual([['sbg-dev'], ['sbg-prod']]);
  });
});

describe('synth-time warnings', () => {
  const subscriberWarning = Match.stringLikeRegexp('no subscriber on its alerts topic');

  it('warn when a non-dev stage has no alarm subscriber', () => {
    // Act
    const { stack } = synthesizeBillingGate({ stage: 'staging', enabledEventTypes: FEW_TYPES });

    // Assess
    Annotations.fromStack(stack).hasWarning(
      `/${stack.stackName}/Gate`,
      Match.stringLikeRegexp(
        `stage "staging" has no subscriber.*\\[ack: ${WARNINGS.noAlarmSubscriber}\\]`,
      ),
    );
  });

  it('stay quiet for the dev stage and for a stage with an alarm e-mail', () => {
    // Assess
    expect(Annotations.fromStack(dev.stack).findWarning('*', subscriberWarning)).toEqual([]);
    expect(Annotations.fromStack(prod.stack).findWarning('*', subscriberWarning)).toEqual([]);
  });

  it('warn when the application log level would drop the metric lines', () => {
    // Act
    const { stack } = synthesizeBillingGate({
      enabledEventTypes: FEW_TYPES,
      applicationLogLevel: 'WARN',
    });

    // Assess
    Annotations.fromStack(stack).hasWarning(
      `/${stack.stackName}/Gate`,
      Match.stringLikeRegexp('applicationLogLevel WARN: .*EMF'),
    );
    expect(
      Annotations.fromStack(dev.stack).findWarning('*', Match.stringLikeRegexp('EMF')),
    ).toEqual([]);
  });
});
