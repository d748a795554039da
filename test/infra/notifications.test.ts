// The two topics of the default stack: encryption with the customer managed key, CloudWatch
// publishing to alerts only, and no subscription unless alarmEmail is set.

import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import {
  logicalId,
  ofType,
  ref,
  stack,
  template,
  useDefaultStack,
  type Json,
} from './default-stack';

useDefaultStack();

describe('notifications', () => {
  it('encrypts both topics with a rotating customer managed key that CloudWatch may use', () => {
    // Assess
    const topics = ofType('AWS::SNS::Topic');
    expect(topics).toHaveLength(2);
    for (const [, topic] of topics) {
      expect(topic.Properties.KmsMasterKeyId).toEqual({
        'Fn::GetAtt': [logicalId(stack.gate.notifications.key), 'Arn'],
      });
    }
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
  });

  it('lets CloudWatch publish to the alerts topic only, never to the announcements topic', () => {
    // Act
    const cloudwatchTopics = ofType('AWS::SNS::TopicPolicy')
      .filter(([, p]) =>
        (p.Properties.PolicyDocument.Statement as Json[]).some(
          (st) => st.Principal?.Service === 'cloudwatch.amazonaws.com',
        ),
      )
      .flatMap(([, p]) => p.Properties.Topics);

    // Assess
    expect(cloudwatchTopics).toEqual([ref(stack.gate.notifications.alertsTopic.topicArn)]);
  });

  it('has no e-mail subscription unless alarmEmail is set', () => {
    // Assess
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });
});
