// What each function of the default stack is told in its environment, and that no secret
// value is anywhere in the template.

import { describe, expect, it } from 'vitest';
import { REGISTRY } from '../../lambdas/core/registry';
import { ENV } from '../../lambdas/lambda-env';
import { asksStripe, envOf, ofType, ref, stack, useDefaultStack, type Json } from './default-stack';

useDefaultStack();

describe('environment', () => {
  it('tells the verifier where the queues are, which types, which secret and the tolerance', () => {
    // Act
    const env = envOf(stack.gate.ingress.verifier.function);

    // Assess
    expect(env).toMatchObject({
      [ENV.queueUrlPrefix]: ref(stack.gate.processing.queueUrlPrefix),
      [ENV.enabledEventTypes]: REGISTRY.map((e) => e.type).join(','),
      [ENV.webhookSecretArn]: ref(stack.gate.secrets.webhookSecret.secretArn),
      [ENV.tolerance]: '300',
    });
    expect(env[ENV.stripeMode]).toBeUndefined();
  });

  it('builds the queue URL prefix from region, URL suffix, account and the queue prefix', () => {
    // Assess
    expect(ref(stack.gate.processing.queueUrlPrefix)).toEqual({
      'Fn::Join': [
        '',
        [
          'https://sqs.',
          { Ref: 'AWS::Region' },
          '.',
          { Ref: 'AWS::URLSuffix' },
          '/',
          { Ref: 'AWS::AccountId' },
          '/sbg-dev-',
        ],
      ],
    });
  });

  it('gives each processor its type and the table, and the API key secret only where allowed', () => {
    for (const p of stack.gate.processing.processors) {
      // Act
      const env = envOf(p.function);

      // Assess
      expect(env[ENV.eventType]).toBe(p.eventType);
      expect(env[ENV.tableName]).toEqual(ref(stack.gate.store.table.tableName));
      expect(env[ENV.apiKeySecretArn]).toEqual(
        asksStripe(p.eventType) ? ref(stack.gate.secrets.apiKeySecret.secretArn) : undefined,
      );
    }
  });

  it('gives the status API the table and the warning window, the notifier the announcements topic and no table', () => {
    // Act
    const status = envOf(stack.gate.ingress.statusApi.function);
    const notifier = envOf(stack.gate.notifier.handler.function);

    // Assess
    expect(status).toMatchObject({
      [ENV.tableName]: ref(stack.gate.store.table.tableName),
      [ENV.expiryWarningDays]: '30',
    });
    expect(notifier).toMatchObject({
      [ENV.expiryWarningDays]: '30',
      [ENV.topicArn]: ref(stack.gate.notifications.announcementsTopic.topicArn),
    });
    expect(notifier[ENV.tableName]).toBeUndefined();
  });

  it('gives every function that derives a status the canonical policy and the warning window, the verifier neither', () => {
    // Act
    const deriving = [
      ...stack.gate.processing.processors.map((p) => p.function),
      stack.gate.ingress.statusApi.function,
      stack.gate.processing.sweeper.function,
      stack.gate.notifier.handler.function,
    ].map(envOf);
    const verifier = envOf(stack.gate.ingress.verifier.function);

    // Assess: no policy set is the empty document (every reason keeps its default)
    expect(deriving).toHaveLength(REGISTRY.length + 3);
    for (const env of deriving) {
      expect(env).toMatchObject({ [ENV.policy]: '{}', [ENV.expiryWarningDays]: '30' });
    }
    expect(verifier[ENV.policy]).toBeUndefined();
    expect(verifier[ENV.expiryWarningDays]).toBeUndefined();
  });

  it('gives the sweeper the table and the API key secret, not the queue prefix', () => {
    // Act
    const env = envOf(stack.gate.processing.sweeper.function);

    // Assess
    expect(env).toMatchObject({
      [ENV.tableName]: ref(stack.gate.store.table.tableName),
      [ENV.apiKeySecretArn]: ref(stack.gate.secrets.apiKeySecret.secretArn),
    });
    expect(env[ENV.queueUrlPrefix]).toBeUndefined();
  });

  it('never holds a secret value, in the environment or anywhere in the template', () => {
    // Act
    const secrets = ofType('AWS::SecretsManager::Secret').map(([, s]) => s.Properties);
    const envNames = ofType('AWS::Lambda::Function').flatMap(([, fn]) =>
      Object.keys(fn.Properties.Environment.Variables as Json),
    );

    // Assess
    expect(secrets).toHaveLength(2);
    for (const s of secrets) {
      expect(s.SecretString).toBeUndefined();
      expect(s.GenerateSecretString).toBeDefined();
    }
    expect(envNames).not.toContain(ENV.webhookSecret);
    expect(envNames).not.toContain(ENV.apiKey);
  });
});
