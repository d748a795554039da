// Structured logs and business metrics for every function (Powertools for AWS Lambda).
// Logs carry ids, types, outcomes and latencies, never payload bodies or secrets. Locally
// (`npm start`, tests) metrics are disabled with POWERTOOLS_METRICS_DISABLED.

import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { METRIC_NAMESPACE } from './core/metric-names';

export { MetricUnit };
export type { Logger, Metrics };

// The stack sets POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE per stage, so two
// stages in one account keep their metrics (and alarms) apart; code gives the defaults.
const env = process.env;

type LogLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'CRITICAL' | 'SILENT';

/**
 * A logger for one function. In Lambda the function's application log level (Lambda
 * sets AWS_LAMBDA_LOG_LEVEL from its logging configuration) decides, and no level is
 * passed, so Powertools follows it without a mismatch warning; elsewhere LOG_LEVEL
 * decides (default INFO).
 */
export function makeLogger(serviceName: string): Logger {
  const lambdaLevel = env.AWS_LAMBDA_LOG_LEVEL?.trim();
  return new Logger({
    serviceName: env.POWERTOOLS_SERVICE_NAME ?? serviceName,
    ...(lambdaLevel ? {} : { logLevel: (env.LOG_LEVEL ?? 'INFO') as LogLevel }),
  });
}

export function makeMetrics(serviceName: string): Metrics {
  return new Metrics({
    namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? METRIC_NAMESPACE,
    serviceName: env.POWERTOOLS_SERVICE_NAME ?? serviceName,
  });
}

/**
 * Wraps a handler so every line its logger writes during an invocation carries the
 * Lambda context: `function_request_id`, `cold_start`, the function's name, version and
 * memory. Keys appended for one invocation (`appendKeys`) are dropped when it ends.
 * Callers without a context (tests, the local twin) get the handler's own behaviour.
 *
 *     export const handler = withLambdaContext(logger, makeThingHandler({ logger, ... }));
 */
export function withLambdaContext<E, R>(
  logger: Logger,
  handler: (event: E, context?: Context) => Promise<R>,
): (event: E, context?: Context) => Promise<R> {
  return async (event, context) => {
    if (context) logger.addContext(context);
    try {
      return await handler(event, context);
    } finally {
      logger.resetKeys();
    }
  };
}

/** Milliseconds since `start` (from performance.now()), rounded for logs. */
export function since(start: number): number {
  return Math.round((performance.now() - start) * 10) / 10;
}
