// Names of the business metrics (Powertools EMF in AWS), shared by the handlers that emit
// them and by the CDK dashboard and alarms that read them.

export const METRIC_NAMESPACE = 'StripeBillingGate';

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
  /** Status items computed with older rules than the running ones (until `npm run rebuild`). */
  statusItemsBehindRules: 'StatusItemsBehindRules',
} as const;
