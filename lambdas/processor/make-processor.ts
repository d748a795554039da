// The processor Lambda: an SQS batch in, partial batch failures out (Powertools batch), so
// one bad message never makes the good ones of its batch run again. Each record goes
// through applyEvent; any throw leaves that message for SQS to redeliver, then the DLQ.

import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { METRICS } from '../core/metric-names';
import { MetricUnit, since, type Logger, type Metrics } from '../observability';
import { MESSAGE_ATTRIBUTES, eventTextOf } from '../adapters/queue-layout';
import { StatusItemTooLargeError } from '../adapters/status-writer';
import { applyEvent, type ApplyDeps, type ApplyOutcome } from './apply-event';

export interface ProcessorDeps extends ApplyDeps {
  /** The one event type this processor's queue carries (null: any handled type). */
  eventType: string | null;
  /** Marks a customer's status item whose write failed for its size. */
  markOversize?: (customerId: string) => Promise<void>;
  logger: Logger;
  metrics: Metrics;
}

const OUTCOME_METRIC: Record<ApplyOutcome, string> = {
  applied: METRICS.eventApplied,
  duplicate: METRICS.eventDuplicate,
  no_customer: METRICS.eventNoCustomer,
  parked: METRICS.eventParked,
  unsupported: METRICS.eventUnsupported,
  refused: METRICS.eventRefused,
};

/** Acknowledged but not applied: worth a warning (the metric counts them too). */
const WARNED: Partial<Record<ApplyOutcome, string>> = {
  unsupported: 'event not applied: its owner is not a customer id',
  refused: 'event dropped: it holds an id or date Stripe never sends',
};

export function makeProcessorHandler(deps: ProcessorDeps) {
  const { logger, metrics } = deps;

  const processRecord = async (record: SQSRecord) => {
    const start = performance.now();
    try {
      const body = eventTextOf(
        record.body,
        record.messageAttributes?.[MESSAGE_ATTRIBUTES.encoding]?.stringValue,
      );
      const result = await applyEvent(body, deps.eventType, deps);
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
      const warning = WARNED[result.outcome];
      if (warning) logger.warn(warning, { ...line, reason: result.reason });
      else logger.debug('event processed', line);
    } catch (err) {
      if (err instanceof StatusItemTooLargeError) {
        // Loud: the item is marked so readers answer from the facts, the message retries and
        // dead-letters (the DLQ alarm), and the metric has an alarm of its own.
        metrics.addMetric(METRICS.statusWriteFailed, MetricUnit.Count, 1);
        await deps.markOversize?.(err.customerId).catch(() => undefined);
      }
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
