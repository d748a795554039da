// The notifier's on-failure queue and its alarm: the runbook in the alarm's description names
// the replay command and the stream's 24-hour retention (docs/behaviour.md#guarantees).

import { describe, expect, it } from 'vitest';
import { notifierFailureQueueName, queuePrefixOf } from '../../bin/ops/announcement-replay';
import { alarmsOn, resourceOf, stack, useDefaultStack } from './default-stack';

useDefaultStack();

describe('the notifier-failures alarm', () => {
  it("names the replay and the stream's retention in its description", () => {
    // Act
    const alarms = alarmsOn(
      'ApproximateNumberOfMessagesVisible',
      stack.resolve(stack.gate.notifier.failureQueue.queueName),
    );

    // Assess
    expect(alarms).toHaveLength(1);
    const description = String(alarms[0]!.AlarmDescription);
    expect(description).toContain('`npm run redrive -- --announcements`');
    expect(description).toMatch(/stream keeps a record 24 hours/);
    expect(description.length).toBeLessThanOrEqual(1024);
  });

  it("is on the queue the replay reads: the processor queues' prefix + -notifier-failures", () => {
    // Prepare: the replay finds the queue by the prefix of a processor queue's name
    const p = stack.gate.processing.processors[0]!;
    const prefix = queuePrefixOf({
      type: p.eventType,
      queueUrl: String(resourceOf(p.queue).Properties.QueueName),
    });

    // Assess
    expect(resourceOf(stack.gate.notifier.failureQueue).Properties.QueueName).toBe(
      notifierFailureQueueName(prefix),
    );
  });
});
