// `npm run reconcile -- --since <ISO time | 6h | 3d> [--dry-run] [--local]`: lists the Stripe
// events of the handled and enabled types since then (Events API, at most 20 types per
// request) and queues, straight to the processors' queues, every one the store never applied.

import type Stripe from 'stripe';
import type { FactStore } from '../lambdas/adapters/fact-store';
import { HANDLED_TYPES } from '../lambdas/core/registry';
import { ruleForType } from '../lambdas/core/rules';
import { idOf, stripeEventProblem, type StripeEvent } from '../lambdas/core/stripe-event';
import { forEachConcurrently, type EventSender } from './ops/enqueue';
import { defineCommand, EXIT_OK, runIfEntryPoint, UsageError } from './ops/command';
import { explainStripeError } from './ops/stripe-client';
import {
  connectStack,
  STRIPE_ENVIRONMENT,
  stripeFor,
  type StripeCommandDeps,
} from './ops/stripe-command';
import { renderTable } from './ops/table';

/** Stripe's Events API keeps 30 days of events. */
export const EVENTS_RETENTION_DAYS = 30;
/** The Events API's cap on the `types` filter: at most 20 types per request. */
export const MAX_TYPES_PER_REQUEST = 20;
const PAGE_SIZE = 100;
const CHECK_CONCURRENCY = 16;

/** What reconcile reads in the store: whether (and where) an event was received. */
export type AppliedLookup = Pick<FactStore, 'hasFact' | 'ownerOf' | 'parkedEvent'>;

export interface ReconcilePorts {
  /** The event types the target stack processes (one queue each). */
  enabledTypes: readonly string[];
  store: AppliedLookup;
  queue: EventSender;
  close(): Promise<void> | void;
}

export type ReconcileDeps = StripeCommandDeps<ReconcilePorts>;

// ---------------------------------------------------------------------------------------
// --since

const DURATION_UNITS: Readonly<Record<string, number>> = { m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * `--since` as unix seconds: an ISO 8601 time (`2026-05-01T00:00:00Z`) or a duration back
 * from now (`90m`, `6h`, `3d`, `1w`). Rejects the future and more than 30 days back, which
 * the Events API no longer has.
 */
export function parseSince(value: string, now: Date): number {
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const duration = /^(\d+)\s*([mhdw])$/i.exec(value.trim());
  let since: number;
  if (duration) {
    since = nowSeconds - Number(duration[1]) * DURATION_UNITS[duration[2]!.toLowerCase()]!;
  } else if (/^\d{4}-\d{2}-\d{2}/.test(value.trim()) && !Number.isNaN(Date.parse(value))) {
    since = Math.floor(Date.parse(value) / 1000);
  } else {
    throw new UsageError(
      `--since must be an ISO 8601 time (2026-05-01T00:00:00Z) or a duration such as 90m, 6h, 3d, got "${value}"`,
    );
  }
  if (since > nowSeconds) {
    throw new UsageError(`--since ${value} is in the future`);
  }
  if (nowSeconds - since > EVENTS_RETENTION_DAYS * 86_400) {
    throw new UsageError(
      `--since ${value} reaches back more than ${EVENTS_RETENTION_DAYS} days: Stripe's Events API only keeps ${EVENTS_RETENTION_DAYS} days of events (use \`npm run backfill\` for older state)`,
    );
  }
  return since;
}

/** Types in chunks the Events API accepts, in registry order. */
export function typeChunks(types: readonly string[], size = MAX_TYPES_PER_REQUEST): string[][] {
  const chunks: string[][] = [];
  for (let i = 0; i < types.length; i += size) chunks.push(types.slice(i, i + size));
  return chunks;
}

// ---------------------------------------------------------------------------------------
// Was it applied?

export type Verdict = 'applied' | 'parked' | 'no_customer' | 'missing';

/**
 * Where the store would have this event: the customer's fact, found with the event's own
 * rule; for disputes and detaches, through the owner an earlier event revealed, or else in
 * the park (already received). A dispute whose charge is unknown to the store is looked up
 * in Stripe, as the processor does.
 */
export async function verdictFor(
  event: StripeEvent,
  store: AppliedLookup,
  stripe: Stripe,
): Promise<Verdict> {
  const rule = ruleForType(event.type);
  if (!rule) return 'missing';
  const resolution = rule.resolveCustomer(event);
  // An owner the gate does not key records by changes no record, as the processor says.
  if (resolution.kind === 'none' || resolution.kind === 'unsupported') return 'no_customer';
  const objectId = rule.toFact(event).objectId;
  const applied = (customerId: string) => store.hasFact(customerId, objectId, event.id);
  if (resolution.kind === 'customer') {
    return (await applied(resolution.customerId)) ? 'applied' : 'missing';
  }
  const owner = await store.ownerOf(resolution.keys);
  if (owner && (await applied(owner))) return 'applied';
  if (await store.parkedEvent(event.id)) return 'parked';
  if (owner || !resolution.chargeId) return 'missing';
  const charge = await stripe.charges.retrieve(resolution.chargeId);
  const customer = idOf(charge as unknown as Record<string, unknown>, 'customer');
  if (!customer) return 'no_customer';
  return (await applied(customer)) ? 'applied' : 'missing';
}

// ---------------------------------------------------------------------------------------
// The command

interface TypeCounts {
  found: number;
  applied: number;
  parked: number;
  noCustomer: number;
  queued: number;
}

const emptyCounts = (): TypeCounts => ({
  found: 0,
  applied: 0,
  parked: 0,
  noCustomer: 0,
  queued: 0,
});

export interface ReconcileResult {
  total: TypeCounts;
  byType: Map<string, TypeCounts>;
  /** Ids queued (or, on a dry run, that would be). */
  queuedIds: string[];
}

export interface ReconcileOptions {
  since: number;
  dryRun: boolean;
  types: readonly string[];
  progress: (line: string) => void;
}

/** Lists, checks and queues; throws on any failure (already queued events stay queued). */
export async function reconcile(
  stripe: Stripe,
  ports: Pick<ReconcilePorts, 'store' | 'queue'>,
  options: ReconcileOptions,
): Promise<ReconcileResult> {
  const total = emptyCounts();
  const byType = new Map<string, TypeCounts>(options.types.map((t) => [t, emptyCounts()]));
  const queuedIds: string[] = [];
  const wanted = new Set(options.types);
  const seen = new Set<string>();

  const handle = async (event: StripeEvent) => {
    const counts = byType.get(event.type)!;
    const verdict = await verdictFor(event, ports.store, stripe);
    const bump = (key: keyof TypeCounts) => {
      counts[key] += 1;
      total[key] += 1;
    };
    if (verdict === 'applied') return bump('applied');
    if (verdict === 'parked') return bump('parked');
    if (verdict === 'no_customer') return bump('noCustomer');
    if (!options.dryRun) await ports.queue.send(event);
    queuedIds.push(event.id);
    bump('queued');
  };

  const chunks = typeChunks(options.types);
  for (const [index, chunk] of chunks.entries()) {
    let batch: StripeEvent[] = [];
    const flush = async () => {
      await forEachConcurrently(batch, CHECK_CONCURRENCY, handle);
      batch = [];
      options.progress(
        `  listed ${total.found} events (request group ${index + 1}/${chunks.length}), ${total.queued} ${options.dryRun ? 'to queue' : 'queued'} so far`,
      );
    };
    for await (const item of stripe.events.list({
      types: chunk,
      created: { gte: options.since },
      limit: PAGE_SIZE,
    })) {
      const event = item as unknown as StripeEvent;
      const problem = stripeEventProblem(event);
      if (problem) throw new Error(`Stripe's Events API answered a malformed event: ${problem}`);
      // The filter should make these impossible; a connected account's event is ignored
      // by the verifier too.
      if (!wanted.has(event.type) || event.account || seen.has(event.id)) continue;
      seen.add(event.id);
      byType.get(event.type)!.found += 1;
      total.found += 1;
      batch.push(event);
      if (batch.length >= PAGE_SIZE) await flush();
    }
    await flush();
  }
  return { total, byType, queuedIds };
}

function summary(result: ReconcileResult, dryRun: boolean): string[] {
  const { total } = result;
  const verb = dryRun ? 'would queue' : 'queued';
  const lines = [
    `found ${total.found} events: ${total.applied} already applied, ${total.parked} already received and parked (waiting for their customer), ${total.noCustomer} without a customer (nothing to apply), ${total.queued} ${verb}`,
  ];
  const rows = [...result.byType].filter(([, c]) => c.found > 0);
  if (rows.length > 0) {
    lines.push(
      ...renderTable(
        ['type', 'found', 'applied', 'parked', 'no-customer', dryRun ? 'to-queue' : 'queued'],
        rows.map(([type, c]) =>
          [type, c.found, c.applied, c.parked, c.noCustomer, c.queued].map(String),
        ),
        { align: ['left', 'right', 'right', 'right', 'right', 'right'] },
      ),
    );
  }
  return lines;
}

export const command = defineCommand<ReconcileDeps>({
  name: 'reconcile',
  summary:
    'Lists the Stripe events of the handled and enabled types created since then and ' +
    'queues, straight to the processors, every one that was never applied. Reports found, ' +
    'already applied and queued events per type.',
  description: [
    'Stripe keeps 30 days of events; older state is what `npm run backfill` brings in.',
  ],
  options: {
    since: {
      type: 'string',
      value: 'when',
      description:
        'an ISO 8601 time (2026-05-01T00:00:00Z) or a duration back from now: 90m, 6h, 3d, 1w (at most 30 days)',
    },
    'dry-run': { type: 'boolean', description: 'list what would be queued; queue nothing' },
  },
  usage: [['since', '[dry-run]']],
  environment: STRIPE_ENVIRONMENT,
  failure: 'Stripe or the stack could not be read, or an event could not be queued',
  explainError: explainStripeError,
  examples: [
    { args: '--since 3d', note: 'after an outage: queue what the deployed stack missed' },
    { args: '--since 1h --dry-run --local', note: 'what `npm start` missed in the last hour' },
  ],
  async run({ args, target, io, deps }) {
    const sinceArg = args.string('since');
    if (sinceArg === undefined) throw new UsageError('--since is required');
    const since = parseSince(sinceArg, io.now());
    const dryRun = args.flag('dry-run');
    const stripe = stripeFor(deps, io);
    const ports = await (deps.connect ?? connectStack)(target);
    try {
      const types = HANDLED_TYPES.filter((t) => ports.enabledTypes.includes(t));
      const chunks = typeChunks(types);
      io.err(
        `reconcile: events since ${new Date(since * 1000).toISOString()} of ${types.length} handled types (${chunks.length} listing${chunks.length === 1 ? '' : 's'} of at most ${MAX_TYPES_PER_REQUEST} types)${dryRun ? '; dry run: nothing will be queued' : ''}`,
      );
      const result = await reconcile(stripe, ports, {
        since,
        dryRun,
        types,
        progress: (line) => io.err(line),
      });
      if (dryRun) for (const id of result.queuedIds) io.out(`would queue ${id}`);
      for (const line of summary(result, dryRun)) io.out(line);
      return EXIT_OK;
    } finally {
      await ports.close();
    }
  },
});

export const run = command.run;

runIfEntryPoint(import.meta.url, command);
