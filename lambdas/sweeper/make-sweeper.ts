// The sweeper (scheduled, and every few seconds under `npm start`): what changes with no
// event. It settles the status items whose answer changes by time (a grace ending, an
// override or a card expiring: found by the due index, never a Scan), so each change of
// canAllocate is announced with its cause; after a deployment that changed the settings, it
// writes the settings item and settles every item under the new policy (cause
// `policy_changed`); it retries parked events (asking Stripe for an Accounts v2 id's customer
// when a key is set); and it reports parked events and items behind the running rules.

import type { FactStore, StoredSettings } from '../adapters/fact-store';
import type { FlipCause } from '../adapters/status-writer';
import { METRICS } from '../core/metric-names';
import type { StatusRecord } from '../core/status-record';
import { statusFromRecord } from '../core/billing-status';
import { MetricUnit, type Logger, type Metrics } from '../observability';
import { retryParked, type ApplyDeps, type ApplyStore } from '../processor/apply-event';
import type { GateSettings } from '../settings';

export interface SweeperDeps extends ApplyDeps {
  store: ApplyStore &
    Pick<
      FactStore,
      | 'listParked'
      | 'countStatusItemsBehind'
      | 'dueCustomers'
      | 'readStatus'
      | 'readSettings'
      | 'writeSettings'
      | 'statusCustomers'
      | 'status'
    >;
  settings: GateSettings;
  logger: Logger;
  metrics: Metrics;
  /** Retry parked events and count them this run (the local twin does it every run). @default true */
  sweepParked?: (now: Date) => boolean;
  /** How long one run may spend settling items under a new policy. @default 60 s */
  policyBudgetMs?: number;
}

export interface SweepReport {
  applied: number;
  noCustomer: number;
  stillParked: number;
  failed: number;
  oldestAgeSeconds: number;
  /** Status items computed with rules older than the running ones (`npm run rebuild`). */
  behindRules: number;
  /** Status items settled because their answer changed by time, and how many flipped. */
  due: number;
  /** Status items settled under a new policy this run. */
  policy: number;
}

/** What made a due change: the kind of the moment that passed (the item's next change). */
export function causeAt(
  record: StatusRecord,
  moment: number,
  deps: Pick<SweeperDeps, 'settings'>,
): FlipCause {
  if (record.override?.expiresAt === moment) return 'override_expired';
  const before = statusFromRecord('', record, moment - 1, deps.settings);
  const graceEnds = before.warnings.some((w) => w.blocksAt === moment);
  return graceEnds ? 'grace_ended' : 'card_expired';
}

export function makeSweeper(deps: SweeperDeps) {
  const settled = async (customerId: string, cause: (record: StatusRecord) => FlipCause) => {
    const item = await deps.store.readStatus(customerId);
    if (!item) return;
    await deps.store.status.settle(customerId, item, cause(item.record));
  };

  /** Items whose answer changes by now: settled with the cause of the moment that passed. */
  const sweepDue = async (now: Date): Promise<number> => {
    const seconds = Math.floor(now.getTime() / 1000);
    let count = 0;
    for (let page = 0; page < 50; page++) {
      const due = await deps.store.dueCustomers(seconds);
      if (due.length === 0) break;
      for (const customerId of due) {
        const item = await deps.store.readStatus(customerId);
        const moment = item?.derived.nextChangeAt;
        if (!item || moment === null || moment === undefined) continue;
        await deps.store.status.settle(customerId, item, causeAt(item.record, moment, deps));
        count += 1;
      }
    }
    return count;
  };

  /** After a change of settings: the settings item, then every item under the new policy. */
  const sweepPolicy = async (): Promise<number> => {
    const stored = await deps.store.readSettings();
    const current: StoredSettings = {
      policy: deps.settings.policyDocument as Record<string, unknown>,
      expiryWarningDays: deps.settings.expiryWarningDays,
      hash: deps.settings.hash,
    };
    if (stored?.hash === current.hash && stored.settled === true) return 0;
    if (stored?.hash !== current.hash)
      await deps.store.writeSettings({ ...current, settled: false });
    const started = Date.now();
    let count = 0;
    for await (const customerId of deps.store.statusCustomers()) {
      const item = await deps.store.readStatus(customerId);
      if (!item || item.derived.settingsHash === current.hash) continue;
      await settled(customerId, () => 'policy_changed');
      count += 1;
      // The next run goes on where this one stopped (the hash tells which are done).
      if (Date.now() - started > (deps.policyBudgetMs ?? 60_000)) return count;
    }
    await deps.store.writeSettings({ ...current, settled: true });
    return count;
  };

  return async (): Promise<SweepReport> => {
    const report: SweepReport = {
      applied: 0,
      noCustomer: 0,
      stillParked: 0,
      failed: 0,
      oldestAgeSeconds: 0,
      behindRules: 0,
      due: 0,
      policy: 0,
    };
    const now = deps.clock();
    report.due = await sweepDue(now);
    report.policy = await sweepPolicy();
    deps.metrics.addMetric(METRICS.timeChangesDue, MetricUnit.Count, report.due);
    if (deps.sweepParked?.(now) ?? true) {
      for (const parked of await deps.store.listParked()) {
        try {
          const outcome = await retryParked(parked, deps);
          if (outcome === 'applied') report.applied += 1;
          else if (outcome === 'no_customer') report.noCustomer += 1;
          else {
            report.stillParked += 1;
            report.oldestAgeSeconds = Math.max(
              report.oldestAgeSeconds,
              Math.floor((now.getTime() - parked.parkedAt) / 1000),
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
    }
    deps.metrics.publishStoredMetrics();
    if (report.applied + report.stillParked + report.noCustomer + report.due + report.policy > 0) {
      deps.logger.info('swept', { ...report });
    }
    return report;
  };
}
