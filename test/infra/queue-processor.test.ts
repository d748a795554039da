// Each enabled registry type's queue, dead-letter queue and processor in the default stack
// (all types): names, sizes, encryption, TLS, visibility, redrive, retention, the mapping.

import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import {
  DLQ_RETENTION_SECONDS,
  MAX_MESSAGE_BYTES,
  deadLetterQueueName,
  queueName,
} from '../../lambdas/adapters/queue-layout';
import { REGISTRY } from '../../lambdas/core/registry';
import { ENV } from '../../lambdas/lambda-env';
import {
  envOf,
  logicalId,
  ofType,
  resourceOf,
  stack,
  template,
  useDefaultStack,
  type Json,
} from './default-stack';

useDefaultStack();

describe('queues and processors', () => {
  it('creates one processor, queue and dead-letter queue per registry entry', () => {
    // Act
    const queueNames = ofType('AWS::SQS::Queue').map(([, q]) => q.Properties.QueueName);
    const processorTypes = stack.gate.processing.processors.map(
      (p) => envOf(p.function)[ENV.eventType],
    );

    // Assess
    const expected = REGISTRY.flatMap((e) => [
      queueName('sbg-dev', e.type),
      deadLetterQueueName('sbg-dev', e.type),
    ]);
    expect(queueNames.filter((n) => n !== 'sbg-dev-notifier-failures').sort()).toEqual(
      expected.sort(),
    );
    expect(processorTypes).toEqual(REGISTRY.map((e) => e.type));
  });

  it('states MaximumMessageSize 1048576 on every queue', () => {
    // Act
    const sizes = ofType('AWS::SQS::Queue').map(([, q]) => q.Properties.MaximumMessageSize);

    // Assess
    expect(sizes).toHaveLength(2 * REGISTRY.length + 1);
    expect(new Set(sizes)).toEqual(new Set([MAX_MESSAGE_BYTES]));
  });

  it('encrypts every queue at rest', () => {
    // Act
    const unencrypted = ofType('AWS::SQS::Queue').filter(
      ([, q]) => q.Properties.SqsManagedSseEnabled !== true && !q.Properties.KmsMasterKeyId,
    );

    // Assess
    expect(unencrypted.map(([id]) => id)).toEqual([]);
  });

  it('denies every non-TLS request on every queue', () => {
    // Prepare
    const sslOnly = ofType('AWS::SQS::QueuePolicy').filter(([, p]) =>
      (p.Properties.PolicyDocument.Statement as Json[]).some(
        (s) =>
          s.Effect === 'Deny' &&
          s.Action === 'sqs:*' &&
          s.Condition?.Bool?.['aws:SecureTransport'] === 'false',
      ),
    );
    const covered = new Set(
      sslOnly.flatMap(([, p]) => p.Properties.Queues.map((q: Json) => q.Ref)),
    );

    // Act
    const uncovered = ofType('AWS::SQS::Queue').filter(([id]) => !covered.has(id));

    // Assess
    expect(uncovered.map(([id]) => id)).toEqual([]);
  });

  it('gives each source queue a visibility timeout of at least six processor timeouts', () => {
    // Act
    const ratios = stack.gate.processing.processors.map(
      (p) =>
        resourceOf(p.queue).Properties.VisibilityTimeout /
        resourceOf(p.function).Properties.Timeout,
    );

    // Assess
    expect(Math.min(...ratios)).toBeGreaterThanOrEqual(6);
  });

  it('redrives each source queue to its own dead-letter queue after 5 receives', () => {
    for (const p of stack.gate.processing.processors) {
      // Act
      const redrive = resourceOf(p.queue).Properties.RedrivePolicy;

      // Assess
      expect(redrive).toEqual({
        deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(p.deadLetterQueue), 'Arn'] },
        maxReceiveCount: 5,
      });
    }
  });

  it('keeps dead letters 14 days and queued events at least 4 days', () => {
    // Act
    const dlqRetention = stack.gate.processing.processors.map(
      (p) => resourceOf(p.deadLetterQueue).Properties.MessageRetentionPeriod,
    );
    const sourceRetention = stack.gate.processing.processors.map(
      (p) => resourceOf(p.queue).Properties.MessageRetentionPeriod,
    );

    // Assess
    expect(new Set(dlqRetention)).toEqual(new Set([DLQ_RETENTION_SECONDS]));
    expect(Math.min(...sourceRetention)).toBeGreaterThanOrEqual(4 * 24 * 3600);
  });

  it('maps each queue to its processor with partial batch failures, a batching window and a concurrency cap', () => {
    for (const p of stack.gate.processing.processors) {
      // Assess
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [logicalId(p.queue), 'Arn'] },
        FunctionName: { Ref: logicalId(p.function) },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        MaximumBatchingWindowInSeconds: Match.anyValue(),
        ScalingConfig: { MaximumConcurrency: 5 },
      });
    }
  });
});
