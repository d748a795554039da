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
  /** Events whose owner this gate cannot key a record by (Accounts v2 customer_account). */
  eventUnsupported: 'EventUnsupported',
  parkedEvents: 'ParkedEvents',
  oldestParkedAgeSeconds: 'OldestParkedAgeSeconds',
  applyLatencyMs: 'ApplyLatencyMs',
  announcement: 'CanAllocateAnnounced',
  /** Status items computed with older rules than the running ones (the sweeper counts them). */
  statusItemsBehindRules: 'StatusItemsBehindRules',
} as const;
