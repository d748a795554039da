// Two SNS topics, both encrypted with one customer managed key: alerts for humans (every
// alarm, the optional e-mail subscription) and announcements for integrations (the
// notifier publishes each canAllocate change there). Keeping them apart means an
// integration never receives an alarm and an on-call inbox never receives a customer's
// status change.

import { Aws } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface NotificationsProps {
  /** Subscribed by e-mail to the alerts topic (the recipient confirms once). @default - no subscription */
  readonly alarmEmail?: string | null;
}

export class Notifications extends Construct {
  /** Alarms: for the people who operate the gate. */
  readonly alertsTopic: sns.Topic;
  /** canAllocate changes: for integrations (provisioning, CRM, ...). */
  readonly announcementsTopic: sns.Topic;
  readonly key: kms.Key;
  /** Shared by every alarm: one action object, no per-alarm resources. */
  readonly alarmAction: cloudwatch.IAlarmAction;

  constructor(scope: Construct, id: string, props: NotificationsProps = {}) {
    super(scope, id);
    // A customer managed key, because CloudWatch cannot publish alarms to a topic
    // encrypted with the AWS managed aws/sns key (its policy cannot be changed).
    this.key = new kms.Key(this, 'Key', {
      description: 'Encrypts the billing gate alerts and announcements topics',
      enableKeyRotation: true,
    });
    this.alertsTopic = new sns.Topic(this, 'Topic', {
      displayName: 'Stripe billing gate alerts',
      masterKey: this.key,
      enforceSSL: true,
    });
    this.announcementsTopic = new sns.Topic(this, 'Announcements', {
      displayName: 'Stripe billing gate canAllocate announcements',
      masterKey: this.key,
      enforceSSL: true,
    });

    // Alarms publish as the CloudWatch service: the alerts topic admits it for this
    // account's alarms only; the key grant stays unconditioned, as AWS documents it
    // (condition keys on this key policy statement have been seen to break alarm delivery).
    const cloudwatchService = 'cloudwatch.amazonaws.com';
    this.key.grant(
      new iam.ServicePrincipal(cloudwatchService),
      'kms:Decrypt',
      'kms:GenerateDataKey*',
    );
    this.alertsTopic.grants.publish(
      new iam.ServicePrincipal(cloudwatchService, {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );

    if (props.alarmEmail) this.alertsTopic.addSubscription(new EmailSubscription(props.alarmEmail));
    this.alarmAction = new SnsAction(this.alertsTopic);
  }
}
