// Environment variable names the Lambda functions read, set by the CDK stack and by the
// local twin. The README's configuration table names the user-facing ones; secrets are never values here,
// only Secrets Manager ids.

export const ENV = {
  tableName: 'TABLE_NAME',
  queueUrlPrefix: 'QUEUE_URL_PREFIX',
  enabledEventTypes: 'ENABLED_EVENT_TYPES',
  eventType: 'EVENT_TYPE',
  topicArn: 'TOPIC_ARN',
  webhookSecretArn: 'STRIPE_WEBHOOK_SECRET_ARN',
  apiKeySecretArn: 'STRIPE_API_KEY_SECRET_ARN',
  webhookSecret: 'STRIPE_WEBHOOK_SECRET',
  apiKey: 'STRIPE_API_KEY',
  apiBase: 'STRIPE_API_BASE',
  stripeMode: 'STRIPE_MODE',
  tolerance: 'STRIPE_SIGNATURE_TOLERANCE_SECONDS',
  expiryWarningDays: 'EXPIRY_WARNING_DAYS',
  /** The access policy: JSON (in Lambda, the canonical document), or locally a file path. */
  policy: 'GATE_POLICY',
  /** How often the sweeper retries parked events, in minutes (it runs every minute). */
  sweepMinutes: 'SWEEP_MINUTES',
} as const;
