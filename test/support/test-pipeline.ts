// The local pipeline as `npm start` runs it (processors on the queues, the stream-fed
// notifier, the sweeper, the status API) over a fresh table and fresh queues in the shared
// emulators, for the integration tests that drive it directly.
import { inject } from 'vitest';
import { startLocalPipeline, type LocalPipeline } from '../../bin/local/pipeline';
import type { QueueOptions } from '../../bin/local/provision';
import type { Announcement } from '../../lambdas/notifier/make-notifier';
import type { GateSettings } from '../../lambdas/settings';
import { freshQueues, freshTable } from './local-stack';

export interface TestPipelineOptions {
  /** The event types that get a queue (and its dead-letter queue). */
  readonly types: readonly string[];
  readonly queues?: QueueOptions;
  /** Where the notifier's announcements go; dropped unless given. */
  readonly announce?: (announcement: Announcement) => Promise<void>;
  /** The access policy and warning window. @default the defaults */
  readonly settings?: GateSettings;
  /** The functions' clock (tests move it). @default the system clock */
  readonly clock?: () => Date;
}

/** Starts the pipeline; `pipeline.stop()` stops it. Sweeps every half second. */
export async function startTestPipeline({
  types,
  queues,
  announce,
  settings,
  clock,
}: TestPipelineOptions) {
  const table = await freshTable(undefined, {
    ...(settings ? { settings } : {}),
    ...(clock ? { clock: () => clock().getTime() } : {}),
  });
  const fresh = await freshQueues(types, queues);
  const pipeline: LocalPipeline = await startLocalPipeline({
    dynamoEndpoint: inject('dynamoEndpoint'),
    sqsEndpoint: inject('sqsEndpoint'),
    tableName: table.tableName,
    streamArn: table.streamArn,
    queues: fresh.queues,
    ...(settings ? { settings } : {}),
    ...(clock ? { clock } : {}),
    sweepIntervalMs: 500,
    announce: announce ?? (async () => undefined),
  });
  return { ...table, ...fresh, pipeline };
}
