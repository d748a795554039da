// The one SNS topic for alarms and canAllocate announcements, encrypted with its own KMS
// key, and the alarm action every alarm of the stack shares.

import { Aws } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface NotificationsProps {
  /** Subscribed by e-mail (the recipient confirms once). @default - no subscription */
  readonly alarmEmail?: string | null;
}

export class Notifications extends Construct {
  readonly topic: sns.Topic;
  readonly key: kms.Key;
  /** Shared by every alarm: one action object, no per-alarm resources. */
  readonly alarmAction: cloudwatch.IAlarmAction;

  constructor(scope: Construct, id: string, props: NotificationsProps = {}) {
    super(scope, id);
    // A customer managed key, because CloudWatch cannot publish alarms to a topic
    // encrypted with the AWS managed aws/sns key (its policy cannot be changed).
    this.key = new kms.Key(this, 'Key', {
      description: 'Encrypts the billing gate alerts topic',
      enableKeyRotation: true,
    });
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'Stripe billing gate alerts and announcements',
      masterKey: this.key,
      enforceSSL: true,
    });

    // Alarms publish as the CloudWatch service: the topic admits it for this account's
    // alarms only; the key grant stays unconditioned, as AWS documents it (condition keys
    // on this key policy statement have been seen to break alarm delivery).
    const cloudwatch = 'cloudwatch.amazonaws.com';
    this.key.grant(new iam.ServicePrincipal(cloudwatch), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic.grants.publish(
      new iam.ServicePrincipal(cloudwatch, {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );

    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    this.alarmAction = new SnsAction(this.topic);
  }
}
