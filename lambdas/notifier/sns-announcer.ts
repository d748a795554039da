// How an announcement is published on the SNS topic: one definition for the notifier Lambda
// and for `npm run redrive -- --announcements`, so a replayed change reads like any other.

import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Announcement } from './make-notifier';

/** Publishes `a` on `topicArn` with the subject and attributes subscribers filter on. */
export async function publishAnnouncement(
  sns: SNSClient,
  topicArn: string,
  a: Announcement,
): Promise<void> {
  await sns.send(
    new PublishCommand({
      TopicArn: topicArn,
      Subject: `${a.customerId}: canAllocate ${a.canAllocate}`,
      Message: JSON.stringify(a),
      MessageAttributes: {
        kind: { DataType: 'String', StringValue: 'canAllocate' },
        canAllocate: { DataType: 'String', StringValue: String(a.canAllocate) },
        cause: { DataType: 'String', StringValue: a.cause || 'unknown' },
      },
    }),
  );
}
