// The stack with Stripe's Amazon EventBridge destination as a way in: context validation
// (and the same validation of BillingGate's typed props), the partner event bus, one rule
// per enabled type whose pattern is exactly the one the local bus evaluates
// (lambdas/eventbridge/rules.ts), targets, dead letters, queue policies, alarms, what the
// webhook-less mode leaves out, the resource budget and cdk-nag.

import { App, Stack, type CfnResource } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { HANDLED_TYPES } from '../../lambdas/core/registry';
import { STRIPE_EVENT_INPUT_PATH, stripeRulePattern } from '../../lambdas/eventbridge/rules';
import { BillingGate } from '../../lib/billing-gate';
import type { BillingGateStack } from '../../lib/billing-gate-stack';
import { ContextConfigError, loadConfig } from '../../lib/config';
import { OUTPUT_KEYS } from '../../lib/stack-outputs';
import { reportedViolations, synthesizeBillingGate } from './synth-billing-gate';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const SOURCE = 'aws.partner/stripe.com/ed_test_61RcEXAMPLE0123456789abcdefghijk';

interface Synthesized {
  stack: BillingGateStack;
  resources: Record<string, Json>;
  outputs: Record<string, Json>;
  assembly: CloudAssembly;
}

function synth(context: Record<string, unknown>): Synthesized {
  const { stack, template, assembly } = synthesizeBillingGate(context);
  const json = template.toJSON();
  return {
    stack,
    resources: json.Resources as Record<string, Json>,
    outputs: (json.Outputs ?? {}) as Record<string, Json>,
    assembly,
  };
}

const ofType = (s: Synthesized, type: string) =>
  Object.entries(s.resources).filter(([, r]) => r.Type === type);

const logicalId = (c: IConstruct) => Stack.of(c).getLogicalId(c.node.defaultChild as CfnResource);

const getAtt = (c: IConstruct) => ({ 'Fn::GetAtt': [logicalId(c), 'Arn'] });

function problemsOf(context: Record<string, unknown>): readonly string[] {
  try {
    loadConfig((key) => context[key]);
  } catch (err) {
    if (err instanceof ContextConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('ingress context', () => {
  it('defaults to the webhook alone, with no event source', () => {
    // Act
    const config = loadConfig(() => undefined);

    // Assess
    expect(config).toMatchObject({ ingress: 'webhook', eventBridgeSource: null });
  });

  it('accepts eventbridge and both with a partner event source name', () => {
    // Act
    const eventbridge = loadConfig(
      (k) => ({ ingress: 'eventbridge', eventBridgeSource: SOURCE })[k],
    );
    const both = loadConfig((k) => ({ ingress: 'both', eventBridgeSource: ` ${SOURCE} ` })[k]);

    // Assess
    expect(eventbridge).toMatchObject({ ingress: 'eventbridge', eventBridgeSource: SOURCE });
    expect(both).toMatchObject({ ingress: 'both', eventBridgeSource: SOURCE });
  });

  it.each(['eventbridge', 'both'])('requires eventBridgeSource with ingress %s', (ingress) => {
    // Act
    const problems = problemsOf({ ingress });

    // Assess
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^eventBridgeSource is required with ingress/);
    expect(problems[0]).toContain('npm run register-endpoint -- --eventbridge');
  });

  it.each([
    ['aws.partner/example.com/ed_123', /must start with "aws.partner\/stripe.com\/"/],
    ['aws.partner/stripe.com/we_123', /followed by the event destination id/],
    ['aws.partner/stripe.com/ed_12 3', /followed by the event destination id/],
    [`aws.partner/stripe.com/ed_${'a'.repeat(240)}`, /at most 256 characters/],
  ])('refuses the malformed source %s', (source, message) => {
    // Act
    const problems = problemsOf({ ingress: 'both', eventBridgeSource: source });

    // Assess
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^eventBridgeSource /);
    expect(problems[0]).toMatch(message);
  });

  it('refuses an event source the webhook-only ingress would ignore', () => {
    // Act
    const problems = problemsOf({ eventBridgeSource: SOURCE });

    // Assess
    expect(problems).toEqual([
      'eventBridgeSource is only used with ingress "eventbridge" or "both" (ingress is "webhook"): add -c ingress=eventbridge (or both), or remove eventBridgeSource',
    ]);
  });

  it('refuses an event source that is not a string', () => {
    // Act
    const problems = problemsOf({ ingress: 'eventbridge', eventBridgeSource: 42 });

    // Assess
    expect(problems).toEqual([
      'eventBridgeSource must be a partner event source name (aws.partner/stripe.com/ed_...), got 42',
    ]);
  });

  it('refuses an unknown ingress', () => {
    // Act
    const problems = problemsOf({ ingress: 'sns' });

    // Assess
    expect(problems).toEqual([
      'ingress must be one of "webhook", "eventbridge", "both", got "sns"',
    ]);
  });
});

describe('with ingress=eventbridge (every registry type, live mode)', () => {
  let s: Synthesized;
  /** The same ingress embedded with the opt-in dashboard. */
  let dashboard: { body: string; lostEventsAlarm: string };
  beforeAll(() => {
    s = synth({ ingress: 'eventbridge', eventBridgeSource: SOURCE, stripeMode: 'live' });
    const app = new App({
      context: { 'aws:cdk:bundling-stacks': [] },
      builtinCloudFormationValidation: false,
    });
    const consumer = new Stack(app, 'ConsumerStack');
    const gate = new BillingGate(consumer, 'Billing', {
      ingress: 'eventbridge',
      eventBridgeSource: SOURCE,
      dashboard: true,
    });
    dashboard = {
      body: JSON.stringify(
        Object.values(Template.fromStack(consumer).findResources('AWS::CloudWatch::Dashboard'))[0]!
          .Properties.DashboardBody,
      ),
      lostEventsAlarm: logicalId(gate.eventBridge!.lostEventsAlarm),
    };
  }, 300_000);

  it('creates the partner event bus for the source, which associates it', () => {
    // Act
    const buses = ofType(s, 'AWS::Events::EventBus').map(([, b]) => b.Properties);

    // Assess
    expect(buses).toEqual([expect.objectContaining({ Name: SOURCE, EventSourceName: SOURCE })]);
    expect(s.outputs[OUTPUT_KEYS.eventBusName]?.Value).toEqual({
      Ref: logicalId(s.stack.gate.eventBridge!.bus),
    });
  });

  it('has one rule per enabled type, on that bus, with exactly the pattern the local bus evaluates', () => {
    // Act
    const rules = s.stack.gate.eventBridge!.rules.map((r) => s.resources[logicalId(r)]!.Properties);

    // Assess
    expect(rules).toHaveLength(HANDLED_TYPES.length);
    rules.forEach((rule, i) => {
      const type = HANDLED_TYPES[i]!;
      expect(rule.EventBusName).toEqual({ Ref: logicalId(s.stack.gate.eventBridge!.bus) });
      expect(rule.EventPattern).toEqual(
        stripeRulePattern(type, { source: SOURCE, stripeMode: 'live' }),
      );
    });
  });

  it("targets each type's queue with $.detail, its own DLQ and a retry policy", () => {
    // Act
    const byType = new Map(
      s.stack.gate.eventBridge!.rules.map((r, i) => [
        HANDLED_TYPES[i]!,
        s.resources[logicalId(r)]!.Properties.Targets as Json[],
      ]),
    );

    // Assess
    for (const p of s.stack.gate.processing.processors) {
      expect(byType.get(p.eventType)).toEqual([
        {
          Id: 'Target0',
          Arn: getAtt(p.queue),
          InputPath: STRIPE_EVENT_INPUT_PATH,
          DeadLetterConfig: { Arn: getAtt(p.deadLetterQueue) },
          RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
        },
      ]);
    }
  });

  it('admits events.amazonaws.com to every queue and DLQ, with SendMessage only, for the rules of the partner bus only (aws:SourceArn)', () => {
    // Prepare
    const policies = ofType(s, 'AWS::SQS::QueuePolicy')
      .map(([, p]) => p.Properties)
      .filter((p) => (p.PolicyDocument.Statement as Json[]).some((st) => st.Effect === 'Allow'));
    const queueArnPattern = {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':sqs:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':sbg-dev-*',
        ],
      ],
    };
    const rulesOfTheBus = {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':events:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          `:rule/${SOURCE}/*`,
        ],
      ],
    };

    // Assess
    expect(policies).toHaveLength(1);
    const listed = new Set((policies[0].Queues as Json[]).map((q) => q.Ref));
    for (const p of s.stack.gate.processing.processors) {
      expect(listed.has(logicalId(p.queue)) && listed.has(logicalId(p.deadLetterQueue))).toBe(true);
      expect(s.resources[logicalId(p.queue)]!.Properties.QueueName).toMatch(/^sbg-dev-/);
    }
    const statements = policies[0].PolicyDocument.Statement as Json[];
    expect(statements.filter((st) => st.Effect === 'Allow')).toEqual([
      {
        Sid: 'EventBridgeRules',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: queueArnPattern,
        Condition: { ArnLike: { 'aws:SourceArn': rulesOfTheBus } },
      },
    ]);
    for (const rule of s.stack.gate.eventBridge!.rules) {
      expect(s.resources[logicalId(rule)]!.Properties.EventBusName).toEqual({
        Ref: logicalId(s.stack.gate.eventBridge!.bus),
      });
    }
    // SQS caps a queue policy at 20 statements: one TLS deny and one for every rule here.
    expect(statements).toHaveLength(2);
  });

  it('alarms on every dead-letter queue a rule uses, from its first message', () => {
    // Act
    const alarmed = ofType(s, 'AWS::CloudWatch::Alarm')
      .map(([, a]) => a.Properties)
      .filter((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible' && a.Threshold === 1)
      .map((a) => JSON.stringify(a.Dimensions));

    // Assess
    for (const p of s.stack.gate.processing.processors) {
      expect(alarmed).toContain(
        JSON.stringify([
          {
            Name: 'QueueName',
            Value: { 'Fn::GetAtt': [logicalId(p.deadLetterQueue), 'QueueName'] },
          },
        ]),
      );
    }
  });

  it('alarms, to the alerts topic, when EventBridge cannot even dead-letter an event', () => {
    // Act
    const alarm = s.resources[logicalId(s.stack.gate.eventBridge!.lostEventsAlarm)]!.Properties;

    // Assess
    expect(alarm.Metrics[0].Expression).toBe(
      `SELECT SUM(InvocationsFailedToBeSentToDlq) FROM SCHEMA("AWS/Events", EventBusName, RuleName) WHERE EventBusName = '${SOURCE}'`,
    );
    expect(alarm.Threshold).toBe(1);
    expect(alarm.AlarmActions).toEqual([
      { Ref: logicalId(s.stack.gate.notifications.alertsTopic) },
    ]);
    expect(alarm.AlarmDescription).toContain('npm run reconcile');
  });

  it('shows the lost-events alarm among the monitored alarms on the opt-in dashboard', () => {
    // Assess
    expect(dashboard.body).toContain(JSON.stringify(dashboard.lostEventsAlarm));
    expect(dashboard.body).not.toContain('Webhooks received');
  });

  it("tells, in each dead-letter alarm's runbook, that EventBridge's failures land there too", () => {
    // Act
    const descriptions = s.stack.gate.processing.processors.map(
      (p) => s.resources[logicalId(p.alarms[0]!)]!.Properties.AlarmDescription as string,
    );

    // Assess
    expect(descriptions).toHaveLength(HANDLED_TYPES.length);
    for (const d of descriptions) {
      expect(d).toContain('EventBridge could not deliver them');
      expect(d).toContain('ERROR_CODE');
      expect(d).toMatch(/npm run redrive -- --queue [a-z_.]+/);
    }
  });

  it('throttles only the routes that exist (no POST /webhook setting without its route)', () => {
    // Act
    const [[, stage]] = ofType(s, 'AWS::ApiGatewayV2::Stage') as [[string, Json]];
    const routes = ofType(s, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey);

    // Assess
    expect(Object.keys(stage.Properties.RouteSettings).sort()).toEqual([...routes].sort());
  });

  it('has no public webhook route, verifier or signing secret, and keeps the status API', () => {
    // Act
    const routes = ofType(s, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
    const functions = ofType(s, 'AWS::Lambda::Function').map(([, f]) => f.Properties.Description);
    const secrets = ofType(s, 'AWS::SecretsManager::Secret').map(([, x]) => x.Properties);

    // Assess
    expect(routes.map((r) => [r.RouteKey, r.AuthorizationType]).sort()).toEqual([
      ['DELETE /customers/{customerId}/override', 'AWS_IAM'],
      ['GET /customers', 'AWS_IAM'],
      ['GET /customers/{customerId}/billing-status', 'AWS_IAM'],
      ['GET /customers/{customerId}/events', 'AWS_IAM'],
      ['PUT /customers/{customerId}/override', 'AWS_IAM'],
    ]);
    expect(functions.filter((d: string) => /webhook/i.test(d))).toEqual([]);
    expect(s.stack.gate.ingress.webhookVerifier).toBeUndefined();
    expect(secrets).toHaveLength(1);
    expect(secrets[0].Description).toMatch(/^Optional Stripe API key/);
    expect(Object.keys(s.outputs).filter((k) => /Webhook/.test(k))).toEqual([]);
  });

  it('leaves no unacknowledged cdk-nag finding', () => {
    // Assess
    expect(reportedViolations(s.assembly)).toEqual([]);
  });
});

describe('with ingress=both (every registry type)', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synth({ ingress: 'both', eventBridgeSource: SOURCE });
  });

  it('keeps the webhook route, verifier and signing secret beside the rules', () => {
    // Act
    const routes = ofType(s, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey);

    // Assess
    expect(routes).toContain('POST /webhook');
    expect(s.stack.gate.ingress.webhookVerifier).toBeDefined();
    expect(s.stack.gate.secrets.signingSecret).toBeDefined();
    expect(s.stack.gate.eventBridge!.rules).toHaveLength(HANDLED_TYPES.length);
  });

  it('filters neither mode when stripeMode is unset, Connect events always', () => {
    // Act
    const pattern =
      s.resources[logicalId(s.stack.gate.eventBridge!.rules[0]!)]!.Properties.EventPattern;

    // Assess
    expect(pattern.detail).toEqual({
      $or: [{ account: [null] }, { account: [{ exists: false }] }],
    });
  });

  it('adds only the bus, a rule per type and the lost-events alarm to the webhook stack', () => {
    // Act
    const count = Object.keys(s.resources).length;

    // Assess: the DLQs are reused and the queue policy is shared (test/infra/room.test.ts
    // holds every configuration to the resource budget).
    expect(count - Object.keys(synth({}).resources).length).toBe(HANDLED_TYPES.length + 2);
  });

  it('leaves no unacknowledged cdk-nag finding', () => {
    // Assess
    expect(reportedViolations(s.assembly)).toEqual([]);
  });
});

describe('with the default ingress', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synth({ enabledEventTypes: 'invoice.paid' });
  });

  it('creates no event bus and no Stripe rule', () => {
    // Assess
    expect(ofType(s, 'AWS::Events::EventBus')).toEqual([]);
    expect(
      ofType(s, 'AWS::Events::Rule').filter(([, r]) => r.Properties.EventPattern !== undefined),
    ).toEqual([]);
    expect(s.stack.gate.eventBridge).toBeUndefined();
    expect(s.outputs[OUTPUT_KEYS.eventBusName]).toBeUndefined();
  });

  it("keeps the dead-letter alarm's runbook about the processor alone", () => {
    // Act
    const [processor] = s.stack.gate.processing.processors;
    const description = s.resources[logicalId(processor!.alarms[0]!)]!.Properties
      .AlarmDescription as string;

    // Assess
    expect(description).toMatch(/^invoice\.paid events failed 5 times/);
    expect(description).not.toContain('EventBridge');
  });
});

describe('BillingGate embedded with the EventBridge ingress', () => {
  const embed = (props: ConstructorParameters<typeof BillingGate>[2]) => {
    const app = new App({
      context: { 'aws:cdk:bundling-stacks': [] },
      builtinCloudFormationValidation: false,
    });
    const stack = new Stack(app, 'ConsumerStack');
    const gate = new BillingGate(stack, 'Billing', props);
    return { stack, gate };
  };

  it('takes ingress and eventBridgeSource as typed props', () => {
    // Act
    const { stack, gate } = embed({
      ingress: 'eventbridge',
      eventBridgeSource: SOURCE,
      enabledEventTypes: ['invoice.paid', 'invoice.payment_failed'],
    });
    const template = Template.fromStack(stack);

    // Assess
    expect(gate.config).toMatchObject({ ingress: 'eventbridge', eventBridgeSource: SOURCE });
    expect(gate.eventBridge!.rules).toHaveLength(2);
    expect(gate.ingress.webhookVerifier).toBeUndefined();
    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.resourceCountIs('AWS::Events::Rule', 2 + 1); // + the sweeper's schedule
  });

  it.each([
    [{ ingress: 'eventbridge' as const }, /eventBridgeSource is required with ingress/],
    [{ eventBridgeSource: SOURCE }, /eventBridgeSource is only used with ingress/],
    [
      { ingress: 'both' as const, eventBridgeSource: 'aws.partner/stripe.com/x' },
      /eventBridgeSource must be aws.partner\/stripe.com\/ followed by/,
    ],
  ])('refuses props the context would refuse (%#), before adding anything', (props, message) => {
    // Prepare
    const app = new App();
    const stack = new Stack(app, 'ConsumerStack');

    // Act
    const build = () => new BillingGate(stack, 'Billing', props);

    // Assess
    expect(build).toThrow(ContextConfigError);
    expect(build).toThrow(message);
    expect(stack.node.tryFindChild('Billing')).toBeUndefined();
  });
});
