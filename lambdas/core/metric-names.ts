// Names of the business metrics (Powertools EMF in AWS), shared by the handlers that emit
// them and by the CDK dashboard and alarms that read them.

/** The namespace's root; each stage publishes under its own (see metricNamespace). */
export const METRIC_NAMESPACE = 'StripeBillingGate';

/**
 * The namespace of one stage's metrics, `StripeBillingGate/<stage>`: two stages in one
 * account and region never count into each other's metrics, alarms or dashboards.
 */
export function metricNamespace(stage: string): string {
  return `${METRIC_NAMESPACE}/${stage}`;
}

export const METRICS = {
  webhookReceived: 'WebhookReceived',
  webhookQueued: 'WebhookQueued',
  webhookIgnored: 'WebhookIgnored',
  webhookRejected: 'WebhookRejected',
  signatureFailure: 'SignatureFailure',
  queueFailure: 'QueueFailure',
  eventApplied: 'EventApplied',
  eventDuplicate: 'EventDuplicate',
  eventNoCustomer: 'EventNoCustomer',
  eventParked: 'EventParked',
  /** Events whose owner is not a customer id (acknowledged, not applied). */
  eventUnsupported: 'EventUnsupported',
  /** Events with ids or dates Stripe never sends, dropped by a processor (EventBridge path). */
  eventRefused: 'EventRefused',
  /** Status item writes DynamoDB refused for the item's size (the customer answers from facts). */
  statusWriteFailed: 'StatusWriteFailed',
  /** canAllocate changes found due by time (grace ended, override or card expired). */
  timeChangesDue: 'TimeChangesDue',
  parkedEvents: 'ParkedEvents',
  oldestParkedAgeSeconds: 'OldestParkedAgeSeconds',
  applyLatencyMs: 'ApplyLatencyMs',
  announcement: 'CanAllocateAnnounced',
  /** Status items computed with older rules than the running ones (the sweeper counts them). */
  statusItemsBehindRules: 'StatusItemsBehindRules',
} as const;
