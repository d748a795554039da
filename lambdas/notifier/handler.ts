// Lambda entry of the notifier: announcements go to the SNS topic.

import { SNSClient } from '@aws-sdk/client-sns';
import { requiredString } from '../config';
import { ENV } from '../lambda-env';
import { settingsFromEnv } from '../settings';
import { withLambdaContext, makeLogger } from '../observability';
import { makeNotifierHandler } from './make-notifier';
import { publishAnnouncement } from './sns-announcer';

const sns = new SNSClient({});
const topicArn = requiredString(process.env, ENV.topicArn);

const logger = makeLogger('notifier');

export const handler = withLambdaContext(
  logger,
  makeNotifierHandler({
    settings: settingsFromEnv(process.env),
    clock: () => new Date(),
    logger,
    announce: (a) => publishAnnouncement(sns, topicArn, a),
  }),
);
