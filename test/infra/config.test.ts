// The stack's one configuration loader (lib/config.ts): defaults, parsing of `-c` strings
// and cdk.json values, and errors that name the context key and what it expects.

import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { addBillingGate } from '../../lib/billing-gate-app';
import { ContextConfigError, loadConfig } from '../../lib/config';
import { HANDLED_TYPES } from '../../lambdas/core/registry';

const from =
  (context: Record<string, unknown>) =>
  (key: string): unknown =>
    context[key];

function problemsOf(context: Record<string, unknown>): readonly string[] {
  try {
    loadConfig(from(context));
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
    });
  });

  it('parses the strings that `-c key=value` passes', () => {
    // Prepare
    const context = {
      stage: 'prod',
      stripeMode: 'live',
      webhookRateLimit: '12.5',
      webhookBurstLimit: '40',
      maxReceiveCount: '3',
      processorMaxConcurrency: '20',
      alarmEmail: 'ops@example.com',
      enabledEventTypes: ' invoice.paid , charge.dispute.created ',
      tracing: 'true',
      expiryWarningDays: '14',
      parkedAlarmHours: '6',
      sweepMinutes: '15',
      signatureToleranceSeconds: '600',
    };

    // Act
    const config = loadConfig(from(context));

    // Assess
    expect(config).toMatchObject({
      stage: 'prod',
      stripeMode: 'live',
      webhookRateLimit: 12.5,
      webhookBurstLimit: 40,
      maxReceiveCount: 3,
      processorMaxConcurrency: 20,
      alarmEmail: 'ops@example.com',
      enabledEventTypes: ['invoice.paid', 'charge.dispute.created'],
      tracing: true,
      expiryWarningDays: 14,
      parkedAlarmHours: 6,
      sweepMinutes: 15,
      signatureToleranceSeconds: 600,
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

  it('treats stripeMode "unset" and empty values as not set', () => {
    // Act
    const config = loadConfig(from({ stripeMode: 'unset', alarmEmail: '', maxReceiveCount: ' ' }));

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
    ['stripeMode', 'production', 'stripeMode must be one of "live", "test", "unset"'],
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
