// Structured logs and business metrics for every function (Powertools for AWS Lambda).
// Logs carry ids, types, outcomes and latencies, never payload bodies or secrets. Locally
// (`npm start`, tests) metrics are disabled with POWERTOOLS_METRICS_DISABLED.

import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { METRIC_NAMESPACE } from './core/metric-names';

export { MetricUnit };
export type { Logger, Metrics };

// The stack sets POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE per stage, so two
// stages in one account keep their metrics (and alarms) apart; code gives the defaults.
const env = process.env;

export function makeLogger(serviceName: string): Logger {
  return new Logger({
    serviceName: env.POWERTOOLS_SERVICE_NAME ?? serviceName,
    logLevel: (env.LOG_LEVEL ?? 'INFO') as 'INFO',
  });
}

export function makeMetrics(serviceName: string): Metrics {
  return new Metrics({
    namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? METRIC_NAMESPACE,
    serviceName: env.POWERTOOLS_SERVICE_NAME ?? serviceName,
  });
}

/** Milliseconds since `start` (from performance.now()), rounded for logs. */
export function since(start: number): number {
  return Math.round((performance.now() - start) * 10) / 10;
}
