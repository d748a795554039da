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
  parkedEvents: 'ParkedEvents',
  oldestParkedAgeSeconds: 'OldestParkedAgeSeconds',
  applyLatencyMs: 'ApplyLatencyMs',
  announcement: 'CanAllocateAnnounced',
} as const;
