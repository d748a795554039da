// The stack's one configuration loader (lib/config.ts): defaults, parsing of `-c` strings
// and cdk.json values, and errors that name the context key and what it expects.

import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { addBillingGate } from '../../lib/billing-gate-app';
import { ContextConfigError, editDistance, loadConfig } from '../../lib/config';
import { stripeMode } from '../../lambdas/config';
import { HANDLED_TYPES } from '../../lambdas/core/registry';

const from =
  (context: Record<string, unknown>) =>
  (key: string): unknown =>
    context[key];

function problemsOf(context: Record<string, unknown>): readonly string[] {
  try {
    loadConfig(from(context), { presentKeys: Object.keys(context) });
  } catch (err) {
    if (err instanceof ContextConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('loadConfig', () => {
  it('gives the documented defaults when no context is set', () => {
    // Act
    const config = loadConfig(from({}));

    // Assess
    expect(config).toEqual({
      stage: 'dev',
      stackName: 'StripeBillingGate',
      queuePrefix: 'sbg-dev',
      stripeMode: null,
      webhookRateLimit: 100,
      webhookBurstLimit: 200,
      customerRateLimit: 100,
      customerBurstLimit: 200,
      maxReceiveCount: 5,
      processorMaxConcurrency: 5,
      alarmEmail: null,
      enabledEventTypes: HANDLED_TYPES,
      tracing: false,
      expiryWarningDays: 30,
      parkedAlarmHours: 24,
      sweepMinutes: 5,
      signatureToleranceSeconds: 300,
      ingress: 'webhook',
      eventBridgeSource: null,
      applicationLogLevel: 'INFO',
      systemLogLevel: 'WARN',
      policy: {},
      dashboard: false,
    });
  });

  it('parses the strings that `-c key=value` passes', () => {
    // Prepare
    const context = {
      stage: 'prod',
      stripeMode: 'live',
      webhookRateLimit: '12.5',
      webhookBurstLimit: '40',
      customerRateLimit: '30',
      customerBurstLimit: '60',
      maxReceiveCount: '3',
      processorMaxConcurrency: '20',
      alarmEmail: 'ops@example.com',
      enabledEventTypes: ' invoice.paid , charge.dispute.created ',
      tracing: 'true',
      expiryWarningDays: '14',
      parkedAlarmHours: '6',
      sweepMinutes: '15',
      signatureToleranceSeconds: '600',
      applicationLogLevel: 'debug',
      systemLogLevel: 'INFO',
      policy: '{"payment_failed": {"action": "block", "grace": "7d"}}',
      dashboard: 'true',
    };

    // Act
    const config = loadConfig(from(context));

    // Assess
    expect(config).toMatchObject({
      stage: 'prod',
      stripeMode: 'live',
      webhookRateLimit: 12.5,
      webhookBurstLimit: 40,
      customerRateLimit: 30,
      customerBurstLimit: 60,
      maxReceiveCount: 3,
      processorMaxConcurrency: 20,
      alarmEmail: 'ops@example.com',
      enabledEventTypes: ['invoice.paid', 'charge.dispute.created'],
      tracing: true,
      expiryWarningDays: 14,
      parkedAlarmHours: 6,
      sweepMinutes: 15,
      signatureToleranceSeconds: 600,
      applicationLogLevel: 'DEBUG',
      systemLogLevel: 'INFO',
      policy: { payment_failed: { action: 'block', grace: 7 * 86_400 } },
      dashboard: true,
    });
  });

  it('accepts JSON numbers and booleans as cdk.json holds them', () => {
    // Act
    const config = loadConfig(from({ maxReceiveCount: 8, tracing: true, webhookRateLimit: 7 }));

    // Assess
    expect(config).toMatchObject({ maxReceiveCount: 8, tracing: true, webhookRateLimit: 7 });
  });

  it('names the stack and the queues after a non-default stage', () => {
    // Act
    const config = loadConfig(from({ stage: 'staging' }));

    // Assess
    expect([config.stackName, config.queuePrefix]).toEqual([
      'StripeBillingGate-staging',
      'sbg-staging',
    ]);
  });

  it('treats stripeMode "both" and empty values as the defaults', () => {
    // Act
    const config = loadConfig(from({ stripeMode: 'both', alarmEmail: '', maxReceiveCount: ' ' }));

    // Assess
    expect([config.stripeMode, config.alarmEmail, config.maxReceiveCount]).toEqual([null, null, 5]);
  });

  it('keeps registry order for the enabled types, whatever order the list has', () => {
    // Act
    const config = loadConfig(from({ enabledEventTypes: 'customer.deleted,charge.failed' }));

    // Assess
    expect(config.enabledEventTypes).toEqual(['charge.failed', 'customer.deleted']);
  });

  it.each([
    ['stage', 'Prod', 'stage must be a lowercase name'],
    ['stage', 'a-stage-name-longer-than-twenty', 'stage must be a lowercase name'],
    ['stripeMode', 'production', 'stripeMode must be one of "live", "test", "both"'],
    ['stripeMode', 'unset', 'stripeMode must be one of "live", "test", "both"'],
    ['customerRateLimit', '0', 'customerRateLimit must be a number from 1 to 10000'],
    ['customerBurstLimit', '1.5', 'customerBurstLimit must be a whole number from 1 to 5000'],
    [
      'applicationLogLevel',
      'verbose',
      'applicationLogLevel must be one of "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", got "verbose"',
    ],
    ['systemLogLevel', 'ERROR', 'systemLogLevel must be one of "DEBUG", "INFO", "WARN"'],
    ['webhookRateLimit', '0', 'webhookRateLimit must be a number from 1 to 10000'],
    ['webhookBurstLimit', '2.5', 'webhookBurstLimit must be a whole number from 1 to 5000'],
    ['maxReceiveCount', 'five', 'maxReceiveCount must be a whole number from 1 to 1000'],
    [
      'processorMaxConcurrency',
      '1',
      'processorMaxConcurrency must be a whole number from 2 to 1000',
    ],
    ['alarmEmail', 'ops-at-example', 'alarmEmail must be one e-mail address'],
    [
      'enabledEventTypes',
      'invoice.paid,invoice.lost',
      'enabledEventTypes: unknown event type(s) invoice.lost',
    ],
    ['tracing', 'yes', 'tracing must be "true" or "false"'],
    ['expiryWarningDays', '-1', 'expiryWarningDays must be a whole number from 0 to 3650'],
    ['parkedAlarmHours', '0', 'parkedAlarmHours must be a whole number from 1 to 720'],
    ['sweepMinutes', '1441', 'sweepMinutes must be a whole number from 1 to 720'],
    [
      'signatureToleranceSeconds',
      '0',
      'signatureToleranceSeconds must be a whole number from 1 to 86400',
    ],
  ])('rejects %s=%j naming the key and what it expects', (key, value, message) => {
    // Act
    const problems = problemsOf({ [key]: value });

    // Assess
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(message);
  });

  it('reports every invalid key at once', () => {
    // Act
    const problems = problemsOf({ maxReceiveCount: '0', tracing: 'maybe', stage: 'PROD' });

    // Assess
    expect(problems.map((p) => p.split(' ')[0])).toEqual(['stage', 'maxReceiveCount', 'tracing']);
  });

  it('rejects a context value that is neither string, number nor boolean', () => {
    // Act
    const problems = problemsOf({ sweepMinutes: { minutes: 5 } });

    // Assess
    expect(problems).toEqual([
      'sweepMinutes must be a string, number or boolean, got {"minutes":5}',
    ]);
  });

  it('refuses a misspelled key, naming it and the closest known key', () => {
    // Act
    const problems = problemsOf({ maxRecieveCount: '3' });

    // Assess
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^unknown context key "maxRecieveCount": did you mean "maxReceiveCount"\?/,
    );
  });

  it('refuses a key that resembles none, listing the known ones', () => {
    // Act
    const problems = problemsOf({ colour: 'blue' });

    // Assess
    expect(problems).toEqual([
      expect.stringMatching(/^unknown context key "colour" \(known keys: stage, /),
    ]);
  });

  it("leaves the CDK's own keys alone: feature flags, CLI keys and cached lookups", () => {
    // Act
    const problems = problemsOf({
      '@aws-cdk/core:checkSecretUsage': true,
      'aws:cdk:enable-path-metadata': true,
      'cdk-something': 'x',
      'availability-zones:account=123456789012:region=eu-west-1': ['eu-west-1a'],
      'acknowledged-issue-numbers': [12345],
      stage: 'prod',
    });

    // Assess
    expect(problems).toEqual([]);
  });

  it('fails the app on a misspelled -c key, with cdk.json feature flags present', () => {
    // Prepare
    const app = new App({
      context: { '@aws-cdk/core:checkSecretUsage': true, webhookRateLimt: '50' },
    });

    // Act
    const build = () => addBillingGate(app);

    // Assess
    expect(build).toThrow(
      /unknown context key "webhookRateLimt": did you mean "webhookRateLimit"\?/,
    );
    expect(app.node.children).toHaveLength(0);
  });

  it('measures closeness with swapped letters costing one edit', () => {
    // Assess
    expect(editDistance('maxRecieveCount', 'maxReceiveCount')).toBe(1);
    expect(editDistance('stage', 'stage')).toBe(0);
    expect(editDistance('stag', 'stage')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('stops the app before any resource is built when the context is invalid', () => {
    // Prepare
    const app = new App({ context: { maxReceiveCount: 'lots' } });

    // Act
    const build = () => addBillingGate(app);

    // Assess
    expect(build).toThrow(/maxReceiveCount must be a whole number from 1 to 1000, got "lots"/);
    expect(app.node.children).toHaveLength(0);
  });
});

describe('STRIPE_MODE for the functions', () => {
  it('takes live, test and both, with both as the default', () => {
    // Assess
    expect(stripeMode({ STRIPE_MODE: 'live' })).toBe('live');
    expect(stripeMode({ STRIPE_MODE: 'test' })).toBe('test');
    expect(stripeMode({ STRIPE_MODE: 'both' })).toBeNull();
    expect(stripeMode({})).toBeNull();
  });

  it('names the default "both" in its error, as the stack context does', () => {
    // Act
    const read = () => stripeMode({ STRIPE_MODE: 'prod' });

    // Assess
    expect(read).toThrow(
      'STRIPE_MODE must be "live" or "test" or "both" (the default when unset), got "prod"',
    );
  });
});
