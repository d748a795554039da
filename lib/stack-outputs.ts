// Names shared by the CDK stack and the operator commands: the stack's name per stage and
// its CloudFormation output keys. Plain constants (no CDK import), so bin/ops can load them
// without loading aws-cdk-lib.

/** The stack of the default stage; other stages deploy `StripeBillingGate-<stage>`. */
export const BASE_STACK_NAME = 'StripeBillingGate';
/** The stage whose stack is named BASE_STACK_NAME. */
export const DEFAULT_STAGE = 'dev';

export function stackNameFor(stage: string): string {
  return stage === DEFAULT_STAGE ? BASE_STACK_NAME : `${BASE_STACK_NAME}-${stage}`;
}

/**
 * CloudFormation output keys. There is no output per queue: a command finds each type's
 * queue and dead-letter queue by name, QueueUrlPrefix + the type slug (+ `-dlq`), the
 * naming of lambdas/adapters/queue-layout.ts; EnabledEventTypes says which types exist.
 */
export const OUTPUT_KEYS = {
  /** Absent when the stack takes events through EventBridge only (ingress `eventbridge`). */
  webhookUrl: 'WebhookUrl',
  apiUrl: 'ApiUrl',
  tableName: 'TableName',
  /** Absent, like WebhookUrl, without the webhook. */
  webhookSecretArn: 'WebhookSecretArn',
  apiKeySecretArn: 'ApiKeySecretArn',
  /** Alarms (people). */
  alertsTopicArn: 'AlertsTopicArn',
  /** canAllocate changes (integrations). */
  announcementsTopicArn: 'AnnouncementsTopicArn',
  /** Managed policy: invoke the read routes. */
  apiReadPolicyArn: 'ApiReadPolicyArn',
  /** Managed policy: invoke the override routes. */
  apiOverridePolicyArn: 'ApiOverridePolicyArn',
  /** Managed policy: GetItem of status items, the settings item and `acct_` aliases only. */
  statusReaderPolicyArn: 'StatusReaderPolicyArn',
  queueUrlPrefix: 'QueueUrlPrefix',
  enabledEventTypes: 'EnabledEventTypes',
  /** Present only with the opt-in dashboard. */
  dashboardName: 'DashboardName',
  /** The partner event bus of Stripe's EventBridge destination; present with ingress `eventbridge` or `both`. */
  eventBusName: 'EventBusName',
} as const;
