// The processor Lambda: an SQS batch in, partial batch failures out, so one bad message
// never makes the good ones of its batch run again. The batch goes through applyEvents (each
// event's fact on its own, each customer's status item written once for the batch); an event
// that fails is reported as a batch item failure, which leaves its message for SQS to
// redeliver, then the DLQ.

import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { METRICS } from '../core/metric-names';
import { MetricUnit, since, type Logger, type Metrics } from '../observability';
import { MESSAGE_ATTRIBUTES, eventTextOf } from '../adapters/queue-layout';
import { StatusItemTooLargeError } from '../adapters/status-writer';
import { applyEvents, type ApplyDeps, type ApplyOutcome, type ApplyResult } from './apply-event';

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

  const recorded = (record: SQSRecord, result: ApplyResult, latencyMs: number) => {
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
  };

  const failed = (record: SQSRecord, err: Error) => {
    logger.error('event failed; left for redelivery', {
      messageId: record.messageId,
      eventId: record.messageAttributes?.eventId?.stringValue,
      receiveCount: record.attributes.ApproximateReceiveCount,
      error: err.message,
      errorName: err.name,
    });
  };

  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const start = performance.now();
    const records = event.Records;
    try {
      const bodies: (string | Error)[] = records.map((record) => {
        try {
          return eventTextOf(
            record.body,
            record.messageAttributes?.[MESSAGE_ATTRIBUTES.encoding]?.stringValue,
          );
        } catch (err) {
          return err as Error;
        }
      });
      const applied = await applyEvents(
        bodies.filter((b): b is string => typeof b === 'string'),
        deps.eventType,
        deps,
      );
      let next = 0;
      const outcomes = bodies.map((b) => (typeof b === 'string' ? applied[next++]! : b));
      const latencyMs = since(start);
      // Loud: an item a write could not hold is marked so readers answer from the facts, its
      // events retry and dead-letter (the DLQ alarm), and the metric has an alarm of its own.
      const oversize = new Set<string>();
      const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
      outcomes.forEach((outcome, i) => {
        const record = records[i]!;
        if (outcome instanceof Error) {
          if (outcome instanceof StatusItemTooLargeError) {
            metrics.addMetric(METRICS.statusWriteFailed, MetricUnit.Count, 1);
            oversize.add(outcome.customerId);
          }
          failed(record, outcome);
          batchItemFailures.push({ itemIdentifier: record.messageId });
        } else {
          recorded(record, outcome, latencyMs);
        }
      });
      for (const customerId of oversize) {
        await deps.markOversize?.(customerId).catch(() => undefined);
      }
      return { batchItemFailures };
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}
