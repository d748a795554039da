// The processor Lambda: an SQS batch in, partial batch failures out (Powertools batch), so
// one bad message never makes the good ones of its batch run again. Each record goes
// through applyEvent; any throw leaves that message for SQS to redeliver, then the DLQ.

import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { METRICS } from '../core/metric-names';
import { MetricUnit, since, type Logger, type Metrics } from '../observability';
import { applyEvent, type ApplyDeps, type ApplyOutcome } from './apply-event';

export interface ProcessorDeps extends ApplyDeps {
  /** The one event type this processor's queue carries (null: any handled type). */
  eventType: string | null;
  logger: Logger;
  metrics: Metrics;
}

const OUTCOME_METRIC: Record<ApplyOutcome, string> = {
  applied: METRICS.eventApplied,
  duplicate: METRICS.eventDuplicate,
  no_customer: METRICS.eventNoCustomer,
  parked: METRICS.eventParked,
  unsupported: METRICS.eventUnsupported,
};

export function makeProcessorHandler(deps: ProcessorDeps) {
  const { logger, metrics } = deps;

  const processRecord = async (record: SQSRecord) => {
    const start = performance.now();
    try {
      const result = await applyEvent(record.body, deps.eventType, deps);
      const latencyMs = since(start);
      metrics.addMetric(OUTCOME_METRIC[result.outcome], MetricUnit.Count, 1);
      metrics.addMetric(METRICS.applyLatencyMs, MetricUnit.Milliseconds, latencyMs);
      const line = {
        eventId: result.eventId,
        type: result.type,
        customerId: result.customerId,
        outcome: result.outcome,
        unparked: result.unparked,
        latencyMs,
        receiveCount: record.attributes.ApproximateReceiveCount,
      };
      // Acknowledged but not applied: worth a warning (the metric counts them too).
      if (result.outcome === 'unsupported') {
        logger.warn('event not applied: its owner is not a customer id', {
          ...line,
          reason: result.reason,
        });
      } else {
        logger.debug('event processed', line);
      }
    } catch (err) {
      logger.error('event failed; left for redelivery', {
        messageId: record.messageId,
        eventId: record.messageAttributes?.eventId?.stringValue,
        receiveCount: record.attributes.ApproximateReceiveCount,
        error: (err as Error).message,
        errorName: (err as Error).name,
      });
      throw err;
    }
  };

  return async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
    // One BatchProcessor per invocation: it keeps per-batch state.
    const processor = new BatchProcessor(EventType.SQS);
    try {
      return await processPartialResponse(event, processRecord, processor, {
        ...(context ? { context } : {}),
        throwOnFullBatchFailure: false,
      });
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}
