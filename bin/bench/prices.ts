// AWS list prices the cost sections use: us-east-1, on-demand, past every free tier, as
// published on each service's pricing page (API Gateway, Lambda, SQS, DynamoDB, CloudWatch,
// SNS, EventBridge, KMS). Re-read the pages and update the date when a price changes.

export const PRICES = {
  /** When the figures below were read from the pricing pages. */
  asOf: '2026-11',
  region: 'us-east-1',
  /** HTTP API, first 300 million requests a month; metered in 512 KB increments. */
  httpApiPerMillion: 1.0,
  /** Lambda requests. */
  lambdaRequestsPerMillion: 0.2,
  /** Lambda duration on arm64 (first tier), per GB-second; billed per 1 ms. */
  lambdaArmPerGbSecond: 0.0000133334,
  /** SQS standard queue requests, 64 KB chunks (SendMessage, ReceiveMessage, DeleteMessageBatch). */
  sqsRequestsPerMillion: 0.4,
  /** DynamoDB on-demand: per million write request units (1 KB each). */
  dynamoWritePerMillion: 0.625,
  /** DynamoDB on-demand: per million read request units (4 KB strongly consistent, 8 KB eventually). */
  dynamoReadPerMillion: 0.125,
  /** CloudWatch Logs ingestion (standard class), per GB. */
  logsIngestPerGb: 0.5,
  /** SNS standard topic publishes, 64 KB chunks. */
  snsPublishPerMillion: 0.5,
  /** KMS requests (an encrypted topic's publish may call GenerateDataKey). */
  kmsPerMillionRequests: 3.0,
  /** EventBridge partner events, 64 KB chunks; a rule's delivery to SQS in the account is free. */
  eventBridgePartnerPerMillion: 1.0,
  /** CloudWatch alarms, per metric an alarm reads (a metric-math alarm pays for each), a month. */
  alarmMetricStandard: 0.1,
  /** The same at high resolution (a period under 60 s). */
  alarmMetricHighResolution: 0.3,
  /** A Metrics Insights query alarm, per metric the query analyzes, a month; no free tier. */
  metricsInsightsAlarmPerMetric: 0.1,
  /** A custom dashboard a month (an account's first three of up to 50 metrics are free). */
  dashboard: 3.0,
  /** A custom metric a month (first 10,000; prorated by the hour it is published in). */
  customMetric: 0.3,
  /** A KMS customer managed key a month (each of its first two rotations adds as much). */
  kmsKey: 1.0,
  /** A Secrets Manager secret a month. */
  secret: 0.4,
} as const;

/**
 * ReceiveMessage calls Lambda's pollers make on one idle mapped queue in a 30-day month:
 * five pollers, each a 20-second long poll after the other (3 a minute).
 */
export const IDLE_RECEIVES_PER_QUEUE_MONTH = 5 * 3 * 60 * 24 * 30;

/** Minutes in the 30-day month the monthly figures use. */
export const MINUTES_PER_MONTH = 60 * 24 * 30;

/** The functions' memory (GateFunction's default) in GB. */
export const FUNCTION_GB = 256 / 1024;

/** Dollars per million invocations for `billedMs` of duration at FUNCTION_GB on arm64. */
export const lambdaDurationPerMillion = (billedMs: number) =>
  (billedMs / 1000) * FUNCTION_GB * PRICES.lambdaArmPerGbSecond * 1e6;

/** Dollars per million of `bytes` of log ingestion (GB read as 10^9 bytes, the higher reading). */
export const logsPerMillion = (bytes: number) => ((bytes * 1e6) / 1e9) * PRICES.logsIngestPerGb;

/**
 * CloudWatch Logs counts each log event's message plus 26 bytes (PutLogEvents' own size
 * rule); the bench adds the same to every line it measures.
 */
export const LOG_EVENT_OVERHEAD_BYTES = 26;
