// The parked-event sweeper (scheduled): retries the owner lookup of every parked event,
// applies those whose customer is now known, and reports how many wait and for how long, and
// how many status items were computed with older rules than the running ones.

import type { FactStore } from '../adapters/fact-store';
import { METRICS } from '../core/metric-names';
import { MetricUnit, type Logger, type Metrics } from '../observability';
import { retryParked, type ApplyDeps, type ApplyStore } from '../processor/apply-event';

export interface SweeperDeps extends ApplyDeps {
  store: ApplyStore & Pick<FactStore, 'listParked' | 'countStatusItemsBehind'>;
  logger: Logger;
  metrics: Metrics;
}

export interface SweepReport {
  applied: number;
  noCustomer: number;
  stillParked: number;
  failed: number;
  oldestAgeSeconds: number;
  /** Status items computed with rules older than the running ones (`npm run rebuild`). */
  behindRules: number;
}

export function makeSweeper(deps: SweeperDeps) {
  return async (): Promise<SweepReport> => {
    const report: SweepReport = {
      applied: 0,
      noCustomer: 0,
      stillParked: 0,
      failed: 0,
      oldestAgeSeconds: 0,
      behindRules: 0,
    };
    const now = deps.clock().getTime();
    for (const parked of await deps.store.listParked()) {
      try {
        const outcome = await retryParked(parked, deps);
        if (outcome === 'applied') report.applied += 1;
        else if (outcome === 'no_customer') report.noCustomer += 1;
        else {
          report.stillParked += 1;
          report.oldestAgeSeconds = Math.max(
            report.oldestAgeSeconds,
            Math.floor((now - parked.parkedAt) / 1000),
          );
        }
      } catch (err) {
        report.failed += 1;
        report.stillParked += 1;
        deps.logger.error('parked event retry failed', {
          eventId: parked.eventId,
          error: (err as Error).message,
        });
      }
    }
    deps.metrics.addMetric(METRICS.parkedEvents, MetricUnit.Count, report.stillParked);
    deps.metrics.addMetric(
      METRICS.oldestParkedAgeSeconds,
      MetricUnit.Seconds,
      report.oldestAgeSeconds,
    );
    report.behindRules = await deps.store.countStatusItemsBehind();
    deps.metrics.addMetric(METRICS.statusItemsBehindRules, MetricUnit.Count, report.behindRules);
    deps.metrics.publishStoredMetrics();
    if (report.applied + report.stillParked + report.noCustomer > 0) {
      deps.logger.info('parked events swept', { ...report });
    }
    return report;
  };
}
