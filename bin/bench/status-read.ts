// Section 3: reading one customer's billing status, old design and new side by side, at
// each history size. Old: the first version's read, a strongly consistent Query of the
// customer's whole fact partition and the full derivation over it (today's
// `allFacts` + `deriveBillingStatus` is exactly that read on today's data). New: one GetItem
// of the status item and `statusFromRecord`, as the status API and the client do, strongly
// and eventually consistent. Both must give the same status; the bench stops if not.

import { deepStrictEqual } from 'node:assert';
import { FactStore } from '../../lambdas/adapters/fact-store';
import { deriveBillingStatus, statusFromRecord } from '../../lambdas/core/billing-status';
import type { BillingStatus } from '../../lambdas/core/facts';
import { LOCAL_AWS } from '../local/local-aws';
import type { Dataset } from './dataset';
import { meterDiff, meteredClient, type Meter } from './ddb-meter';
import { median, percentile } from './stats';
import { DEFAULT_GATE_SETTINGS, storeOptions } from '../../lambdas/settings';

export type ReadDesign =
  'old: Query + full derivation' | 'new: GetItem, consistent' | 'new: GetItem, eventual';

export interface ReadRow {
  readonly size: number;
  readonly design: ReadDesign;
  /** DynamoDB calls and units of one read. */
  readonly meter: Meter;
  readonly medianMs: number;
  readonly p99Ms: number;
  readonly samples: number;
}

export interface ReadOptions {
  /** Timed reads per size of the new design (each consistency). */
  readonly newRounds: number;
  /** Timed reads per size of the old design (slow at 10,000 facts). */
  readonly oldRounds: number;
}

export async function measureStatusReads(data: Dataset, options: ReadOptions): Promise<ReadRow[]> {
  const metered = meteredClient({ ...LOCAL_AWS, endpoint: data.endpoint });
  const store = new FactStore(metered.ddb, data.tableName, storeOptions());
  const now = Math.floor(Date.now() / 1000);

  const reads: Record<ReadDesign, (customerId: string) => Promise<BillingStatus | null>> = {
    'old: Query + full derivation': async (customerId) =>
      deriveBillingStatus({
        customerId,
        ...(await store.allFacts(customerId)),
        overrides: [],
        now,
        settings: DEFAULT_GATE_SETTINGS,
      }),
    'new: GetItem, consistent': async (customerId) => {
      const stored = await store.readStatus(customerId, true);
      return stored && statusFromRecord(customerId, stored.record, now, DEFAULT_GATE_SETTINGS);
    },
    'new: GetItem, eventual': async (customerId) => {
      const stored = await store.readStatus(customerId, false);
      return stored && statusFromRecord(customerId, stored.record, now, DEFAULT_GATE_SETTINGS);
    },
  };
  const designs = Object.keys(reads) as ReadDesign[];

  try {
    // One counted read of each; the answers must agree.
    const meters = new Map<string, Meter>();
    for (const { size, customerId } of data.customers) {
      const answers: (BillingStatus | null)[] = [];
      for (const design of designs) {
        const before = metered.snapshot();
        answers.push(await reads[design](customerId));
        meters.set(`${size}:${design}`, meterDiff(before, metered.snapshot()));
      }
      if (answers[0] === null) throw new Error(`no status for the ${size}-fact customer`);
      for (const answer of answers.slice(1)) deepStrictEqual(answer, answers[0]);
    }

    // Timed rounds, interleaved so that the machine's noise hits every size and design alike.
    const samples = new Map<string, number[]>();
    const rounds = Math.max(options.newRounds, options.oldRounds);
    for (let round = 0; round < rounds; round++) {
      for (const { size, customerId } of data.customers) {
        for (const design of designs) {
          const wanted = design.startsWith('old') ? options.oldRounds : options.newRounds;
          if (round >= wanted) continue;
          const started = performance.now();
          await reads[design](customerId);
          const ms = performance.now() - started;
          const key = `${size}:${design}`;
          samples.set(key, [...(samples.get(key) ?? []), ms]);
        }
      }
    }

    return data.customers.flatMap(({ size }) =>
      designs.map((design) => {
        const key = `${size}:${design}`;
        const xs = samples.get(key) ?? [];
        return {
          size,
          design,
          meter: meters.get(key)!,
          medianMs: median(xs),
          p99Ms: percentile(xs, 99),
          samples: xs.length,
        };
      }),
    );
  } finally {
    metered.ddb.destroy();
  }
}
