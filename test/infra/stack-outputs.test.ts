// The outputs of the default stack that the operator commands and integrations read.

import { describe, expect, it } from 'vitest';
import { logicalId, ref, stack, template, useDefaultStack, type Json } from './default-stack';

useDefaultStack();

describe('outputs', () => {
  it('publishes the outputs the operator commands read, under their plain keys', () => {
    // Act
    const outputs = Object.keys(template.toJSON().Outputs as Json);

    // Assess
    expect(outputs).toEqual(
      expect.arrayContaining([
        'WebhookUrl',
        'ApiUrl',
        'TableName',
        'WebhookSecretArn',
        'ApiKeySecretArn',
        'AlertsTopicArn',
        'AnnouncementsTopicArn',
        'ApiReadPolicyArn',
        'ApiOverridePolicyArn',
        'StatusReaderPolicyArn',
        'QueueUrlPrefix',
        'EnabledEventTypes',
      ]),
    );
    expect(outputs).not.toContain('TopicArn');
  });

  it('points each topic and policy output at its resource', () => {
    // Assess
    const gate = stack.gate;
    template.hasOutput('AlertsTopicArn', { Value: ref(gate.notifications.alertsTopic.topicArn) });
    template.hasOutput('AnnouncementsTopicArn', {
      Value: ref(gate.notifications.announcementsTopic.topicArn),
    });
    template.hasOutput('ApiReadPolicyArn', { Value: ref(gate.apiReadPolicy.managedPolicyArn) });
    template.hasOutput('ApiOverridePolicyArn', {
      Value: ref(gate.apiOverridePolicy.managedPolicyArn),
    });
    template.hasOutput('StatusReaderPolicyArn', {
      Value: ref(gate.statusReaderPolicy.managedPolicyArn),
    });
  });

  it('points WebhookUrl at the /webhook route of the default stage', () => {
    // Assess
    template.hasOutput('WebhookUrl', {
      Value: {
        'Fn::Join': [
          '',
          [
            'https://',
            { Ref: logicalId(stack.gate.ingress.api) },
            '.execute-api.',
            { Ref: 'AWS::Region' },
            '.',
            { Ref: 'AWS::URLSuffix' },
            '/webhook',
          ],
        ],
      },
    });
  });
});
