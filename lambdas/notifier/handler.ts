// Lambda entry of the notifier: announcements go to the SNS topic.

import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { expiryWarningDays, requiredString } from '../config';
import { ENV } from '../lambda-env';
import { withLambdaContext, makeLogger } from '../observability';
import { makeNotifierHandler } from './make-notifier';

const sns = new SNSClient({});
const topicArn = requiredString(process.env, ENV.topicArn);

const logger = makeLogger('notifier');

export const handler = withLambdaContext(
  logger,
  makeNotifierHandler({
    expiryWarningDays: expiryWarningDays(process.env),
    clock: () => new Date(),
    logger,
    announce: async (a) => {
      await sns.send(
        new PublishCommand({
          TopicArn: topicArn,
          Subject: `${a.customerId}: canAllocate ${a.canAllocate}`,
          Message: JSON.stringify(a),
          MessageAttributes: {
            kind: { DataType: 'String', StringValue: 'canAllocate' },
            canAllocate: { DataType: 'String', StringValue: String(a.canAllocate) },
          },
        }),
      );
    },
  }),
);
