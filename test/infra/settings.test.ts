// Every setting of lib/config.ts's one definition, set to a value other than its default,
// through context (the project's stack, as `npx cdk synth -c key=value` builds it) and through
// typed props (a consumer's own stack), arrives where it acts: a function's environment, the
// schedule, an alarm, the API's throttles. A setting added to the definition without a check
// here fails (CHECKS is typed by the definition's keys and the test walks the definition).
// And an invalid access policy stops the synth, naming the entry at fault.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, type CfnResource } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS, metricNamespace } from '../../lambdas/core/metric-names';
import { parsePolicy, type PolicyDocument } from '../../lambdas/core/policy';
import { HANDLED_TYPES } from '../../lambdas/core/registry';
import { ENV } from '../../lambdas/lambda-env';
import { gateSettings, settingsFromEnv } from '../../lambdas/settings';
import { addBillingGate } from '../../lib/billing-gate-app';
import { BillingGate, type BillingGateProps } from '../../lib/billing-gate';
import {
  CONFIG_DEFAULTS,
  CONTEXT_KEYS,
  ContextConfigError,
  SETTINGS,
  SETTING_KEYS,
  loadConfig,
  propsOf,
  type SettingKey,
} from '../../lib/config';
import type { BillingGateStack } from '../../lib/billing-gate-stack';
import { synthesizeBillingGate } from './synth-billing-gate';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** One synthesized gate, however it was configured. */
interface Synth {
  readonly gate: BillingGate;
  readonly template: Template;
}

const resourcesOf = (s: Synth) => s.template.toJSON().Resources as Record<string, Json>;
const ofType = (s: Synth, type: string) =>
  Object.values(resourcesOf(s)).filter((r) => r.Type === type);
const resourceOf = (s: Synth, construct: IConstruct): Json => {
  const id = Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnResource);
  const found = resourcesOf(s)[id];
  if (!found) throw new Error(`no resource for ${construct.node.path}`);
  return found;
};
const envOf = (s: Synth, fn: IConstruct): Record<string, string> =>
  resourceOf(s, fn).Properties.Environment.Variables;

/** The functions that derive a status: every processor, the status API, the sweeper, the notifier. */
const derivingFunctions = (s: Synth) => [
  ...s.gate.processing.processors.map((p) => p.function),
  s.gate.ingress.statusApi.function,
  s.gate.processing.sweeper.function,
  s.gate.notifier.handler.function,
];
const routeSettings = (s: Synth): Json =>
  ofType(s, 'AWS::ApiGatewayV2::Stage')[0]!.Properties as Json;
const customerRouteKeys = (s: Synth) =>
  ofType(s, 'AWS::ApiGatewayV2::Route')
    .map((r) => r.Properties.RouteKey as string)
    .filter((k) => k !== 'POST /webhook');

const SOURCE = 'aws.partner/stripe.com/ed_test_61RcSETTINGS0123456789';
const POLICY: PolicyDocument = {
  subscription_past_due: { action: 'warn' },
  payment_failed: { action: 'block', grace: '7d', whileRetrying: true },
};
/** What the functions are told: the canonical document (reason order, grace in seconds). */
const CANONICAL_POLICY = JSON.stringify({
  payment_failed: { action: 'block', grace: 7 * 86_400, whileRetrying: true },
  subscription_past_due: { action: 'warn' },
});

interface Check<K extends SettingKey> {
  /** A value other than the default, as `-c key=value` gives it. */
  readonly context: string;
  /** The same value as a typed prop. */
  readonly prop: NonNullable<BillingGateProps[K]>;
  /** Asserts the value acts where it should. */
  readonly acts: (s: Synth) => void;
}

const CHECKS: { readonly [K in SettingKey]: Check<K> } = {
  stage: {
    context: 'qa',
    prop: 'qa',
    acts: (s) => {
      const queues = ofType(s, 'AWS::SQS::Queue').map((q) => q.Properties.QueueName as string);
      expect(queues.length).toBeGreaterThan(0);
      for (const name of queues) expect(name).toMatch(/^sbg-qa-/);
      const namespaces = ofType(s, 'AWS::Lambda::Function').map(
        (fn) => fn.Properties.Environment.Variables.POWERTOOLS_METRICS_NAMESPACE,
      );
      expect(new Set(namespaces)).toEqual(new Set([metricNamespace('qa')]));
    },
  },
  stripeMode: {
    context: 'live',
    prop: 'live',
    acts: (s) => expect(envOf(s, s.gate.ingress.verifier.function)[ENV.stripeMode]).toBe('live'),
  },
  webhookRateLimit: {
    context: '25',
    prop: 25,
    acts: (s) =>
      expect(routeSettings(s).RouteSettings['POST /webhook'].ThrottlingRateLimit).toBe(25),
  },
  webhookBurstLimit: {
    context: '50',
    prop: 50,
    acts: (s) =>
      expect(routeSettings(s).RouteSettings['POST /webhook'].ThrottlingBurstLimit).toBe(50),
  },
  customerRateLimit: {
    context: '7',
    prop: 7,
    acts: (s) => {
      const stage = routeSettings(s);
      expect(customerRouteKeys(s)).toContain('GET /customers');
      for (const key of customerRouteKeys(s)) {
        expect(stage.RouteSettings[key].ThrottlingRateLimit, key).toBe(7);
      }
      expect(stage.DefaultRouteSettings.ThrottlingRateLimit).toBe(7);
    },
  },
  customerBurstLimit: {
    context: '9',
    prop: 9,
    acts: (s) => {
      const stage = routeSettings(s);
      for (const key of customerRouteKeys(s)) {
        expect(stage.RouteSettings[key].ThrottlingBurstLimit, key).toBe(9);
      }
      expect(stage.DefaultRouteSettings.ThrottlingBurstLimit).toBe(9);
    },
  },
  maxReceiveCount: {
    context: '3',
    prop: 3,
    acts: (s) => {
      for (const p of s.gate.processing.processors) {
        expect(resourceOf(s, p.queue).Properties.RedrivePolicy.maxReceiveCount).toBe(3);
      }
    },
  },
  processorMaxConcurrency: {
    context: '10',
    prop: 10,
    acts: (s) => {
      const caps = ofType(s, 'AWS::Lambda::EventSourceMapping')
        .filter((m) => m.Properties.ScalingConfig)
        .map((m) => m.Properties.ScalingConfig.MaximumConcurrency);
      expect(caps).toEqual(s.gate.processing.processors.map(() => 10));
    },
  },
  alarmEmail: {
    context: 'ops@example.com',
    prop: 'ops@example.com',
    acts: (s) =>
      s.template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: 'ops@example.com',
        TopicArn: Stack.of(s.gate).resolve(s.gate.notifications.alertsTopic.topicArn),
      }),
  },
  enabledEventTypes: {
    context: 'charge.dispute.created,invoice.paid',
    prop: ['charge.dispute.created', 'invoice.paid'],
    acts: (s) => {
      const registryOrder = HANDLED_TYPES.filter(
        (t) => t === 'invoice.paid' || t === 'charge.dispute.created',
      );
      expect(s.gate.processing.processors.map((p) => p.eventType)).toEqual(registryOrder);
      expect(envOf(s, s.gate.ingress.verifier.function)[ENV.enabledEventTypes]).toBe(
        registryOrder.join(','),
      );
      expect(ofType(s, 'AWS::Events::Rule').filter((r) => r.Properties.EventPattern)).toHaveLength(
        2,
      );
    },
  },
  tracing: {
    context: 'true',
    prop: true,
    acts: (s) => {
      const modes = ofType(s, 'AWS::Lambda::Function').map(
        (fn) => fn.Properties.TracingConfig?.Mode,
      );
      expect(new Set(modes)).toEqual(new Set(['Active']));
    },
  },
  expiryWarningDays: {
    context: '14',
    prop: 14,
    acts: (s) => {
      for (const fn of derivingFunctions(s)) {
        expect(envOf(s, fn)[ENV.expiryWarningDays], fn.node.path).toBe('14');
        expect(settingsFromEnv(envOf(s, fn)).expiryWarningDays).toBe(14);
      }
    },
  },
  parkedAlarmHours: {
    context: '6',
    prop: 6,
    acts: (s) => {
      const parked = ofType(s, 'AWS::CloudWatch::Alarm').filter(
        (a) => a.Properties.MetricName === METRICS.oldestParkedAgeSeconds,
      );
      expect(parked.map((a) => a.Properties.Threshold)).toEqual([6 * 3600]);
    },
  },
  sweepMinutes: {
    context: '15',
    prop: 15,
    acts: (s) => {
      expect(envOf(s, s.gate.processing.sweeper.function)[ENV.sweepMinutes]).toBe('15');
      // The interval of parked retries only: the sweeper itself still runs every minute.
      s.template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(1 minute)',
      });
    },
  },
  signatureToleranceSeconds: {
    context: '600',
    prop: 600,
    acts: (s) => expect(envOf(s, s.gate.ingress.verifier.function)[ENV.tolerance]).toBe('600'),
  },
  ingress: {
    context: 'both',
    prop: 'both',
    acts: (s) => {
      expect(s.gate.eventBridge?.rules).toHaveLength(s.gate.processing.processors.length);
      expect(s.gate.ingress.webhookVerifier).toBeDefined();
    },
  },
  eventBridgeSource: {
    context: SOURCE,
    prop: SOURCE,
    acts: (s) =>
      expect(ofType(s, 'AWS::Events::EventBus').map((b) => b.Properties.EventSourceName)).toEqual([
        SOURCE,
      ]),
  },
  applicationLogLevel: {
    context: 'DEBUG',
    prop: 'DEBUG',
    acts: (s) => {
      const levels = ofType(s, 'AWS::Lambda::Function').map(
        (fn) => fn.Properties.LoggingConfig.ApplicationLogLevel,
      );
      expect(new Set(levels)).toEqual(new Set(['DEBUG']));
    },
  },
  systemLogLevel: {
    context: 'INFO',
    prop: 'INFO',
    acts: (s) => {
      const levels = ofType(s, 'AWS::Lambda::Function').map(
        (fn) => fn.Properties.LoggingConfig.SystemLogLevel,
      );
      expect(new Set(levels)).toEqual(new Set(['INFO']));
    },
  },
  policy: {
    context: JSON.stringify(POLICY),
    prop: POLICY,
    acts: (s) => {
      const expected = gateSettings(parsePolicy(POLICY), 14).hash;
      for (const fn of derivingFunctions(s)) {
        const env = envOf(s, fn);
        expect(env[ENV.policy], fn.node.path).toBe(CANONICAL_POLICY);
        // The function reads it back to the settings (and hash) the deployment states.
        expect(settingsFromEnv(env).hash, fn.node.path).toBe(expected);
      }
      expect(envOf(s, s.gate.ingress.verifier.function)[ENV.policy]).toBeUndefined();
    },
  },
  dashboard: {
    context: 'true',
    prop: true,
    acts: (s) => {
      expect(ofType(s, 'AWS::CloudWatch::Dashboard')).toHaveLength(1);
      expect(s.gate.monitoring.dashboard).toBeDefined();
    },
  },
};

const CONTEXT = Object.fromEntries(SETTING_KEYS.map((k) => [k, CHECKS[k].context]));
const PROPS = Object.fromEntries(SETTING_KEYS.map((k) => [k, CHECKS[k].prop])) as BillingGateProps;

let viaContext: Synth & { stack: BillingGateStack };
let viaProps: Synth;

beforeAll(() => {
  const synthesized = synthesizeBillingGate(CONTEXT);
  viaContext = { ...synthesized, gate: synthesized.stack.gate };
  const consumer = new Stack(
    new App({ context: { 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false }),
    'Consumer',
  );
  const gate = new BillingGate(consumer, 'Gate', PROPS);
  viaProps = { gate, template: Template.fromStack(consumer) };
});

describe('one definition of every setting', () => {
  it('has a check, with a non-default value, for every setting it defines and no other', () => {
    // Assess
    expect(Object.keys(CHECKS).sort()).toEqual([...SETTING_KEYS].sort());
    expect(Object.keys(CONTEXT_KEYS)).toEqual(SETTING_KEYS);
    const config = loadConfig((key) => CONTEXT[key]);
    for (const key of SETTING_KEYS) {
      expect(config[key], key).not.toEqual(CONFIG_DEFAULTS[key]);
      expect(CONFIG_DEFAULTS[key], key).toEqual(SETTINGS[key].default);
    }
  });

  it('reads the same configuration from the context strings and from the typed props', () => {
    // Assess
    expect(viaProps.gate.config).toEqual(viaContext.gate.config);
    expect(viaContext.gate.config).toEqual(loadConfig((key) => CONTEXT[key]));
  });

  it('passes every setting from the stack to its construct, and the props give it back', () => {
    // Prepare
    const config = loadConfig((key) => CONTEXT[key]);
    const props = propsOf(config) as Record<string, unknown>;

    // Assess
    expect(Object.keys(props).sort()).toEqual([...SETTING_KEYS].sort());
    expect(loadConfig((key) => props[key])).toEqual(config);
    expect(viaContext.stack.stackName).toBe('StripeBillingGate-qa');
  });

  describe.each([
    ['through context', () => viaContext],
    ['through props', () => viaProps],
  ])('%s', (_, synthesized) => {
    it.each(SETTING_KEYS)('%s arrives where it acts', (key) => {
      // Assess
      const check = CHECKS[key] as Check<SettingKey> | undefined;
      expect(check, `no check for the setting ${key}`).toBeDefined();
      check!.acts(synthesized());
    });
  });
});

describe('the access policy at synth', () => {
  const dir = mkdtempSync(join(tmpdir(), 'billing-gate-policy-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The problems `addBillingGate` stops with, and whether it built anything. */
  function synthWith(policy: unknown): { problems: readonly string[]; built: number } {
    const app = new App({ context: { policy } });
    try {
      addBillingGate(app);
    } catch (err) {
      if (err instanceof ContextConfigError) {
        return { problems: err.problems, built: app.node.children.length };
      }
      throw err;
    }
    return { problems: [], built: app.node.children.length };
  }

  it.each([
    [
      'a JSON document',
      '{"payment_failed": {"action": "deny"}}',
      'policy: invalid policy: "payment_failed".action must be "block", "warn" or "ignore", got "deny"',
    ],
    [
      'a cdk.json object',
      { dispute_open: { action: 'warn', grace: '1d' } },
      'policy: invalid policy: "dispute_open".grace applies only with action "block" (action is "warn")',
    ],
    [
      'a document with an unknown reason',
      '{"operator_deny": {"action": "ignore"}, "payment_failed": {"action": "block", "grace": "91d"}}',
      `policy: invalid policy: "operator_deny": an operator's deny always blocks and is not configurable; "payment_failed".grace must be`,
    ],
  ])('stops the synth on %s, naming every entry at fault', (_, policy, message) => {
    // Act
    const { problems, built } = synthWith(policy);

    // Assess
    expect(problems).toEqual([expect.stringContaining(message)]);
    expect(built).toBe(0);
  });

  it('reads a policy file given by its path, and stops on a bad one naming the file or the entry', () => {
    // Prepare
    const good = join(dir, 'good.json');
    const bad = join(dir, 'bad.json');
    writeFileSync(good, JSON.stringify(POLICY));
    writeFileSync(bad, '{"subscription_unpaid": {"action": "block", "whileRetrying": true}}');

    // Act
    const config = loadConfig((key) => ({ policy: good })[key]);

    // Assess
    expect(JSON.stringify(config.policy)).toBe(CANONICAL_POLICY);
    expect(synthWith(bad).problems).toEqual([
      'policy: invalid policy: "subscription_unpaid".whileRetrying applies only to "payment_failed"',
    ]);
    expect(synthWith(join(dir, 'missing.json')).problems).toEqual([
      expect.stringMatching(/^policy: cannot read the policy file ".*missing\.json" \(ENOENT\)/),
    ]);
  });

  it('refuses an invalid typed prop before anything is created', () => {
    // Prepare
    const other = new Stack(new App(), 'Other');

    // Act
    const build = () =>
      new BillingGate(other, 'Gate', {
        policy: { customer_deleted: { action: 'ignore', grace: '2d' } },
      });

    // Assess
    expect(build).toThrow(
      'policy: invalid policy: "customer_deleted".grace applies only with action "block" (action is "ignore")',
    );
    expect(other.node.children).toHaveLength(0);
  });

  it('stops `cdk synth` (bin/app.ts) with the message and exit code 1, writing no assembly', () => {
    // Prepare
    const outdir = join(dir, 'cdk.out');

    // Act
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
      cwd: new URL('../..', import.meta.url).pathname,
      encoding: 'utf8',
      env: {
        ...process.env,
        CDK_OUTDIR: outdir,
        CDK_CONTEXT_JSON: JSON.stringify({ policy: '{"invoice_overdue": {"action": "later"}}' }),
      },
      timeout: 120_000,
    });

    // Assess
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      'policy: invalid policy: "invoice_overdue".action must be "block", "warn" or "ignore", got "later"',
    );
    expect(existsSync(join(outdir, 'manifest.json'))).toBe(false);
  });
});
