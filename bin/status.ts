// `npm run status -- <cus_...> [--json] [--local]` and `--parked`: reads the table through
// the same store and pure derivation as the status API, so it shows what the API answers.
// The two reads (readStatus, listParked) are the only parts that know the table's layout.

import { FactStore, type ParkedEvent } from '../lambdas/adapters/fact-store';
import { expiryWarningDays } from '../lambdas/config';
import { statusFromRecord } from '../lambdas/core/billing-status';
import { ConfigError } from '../lambdas/core/errors';
import type { BillingStatus, Condition, HistoryEntry } from '../lambdas/core/facts';
import {
  customerIdArg,
  defineCommand,
  EXIT_FAILURE,
  EXIT_OK,
  runIfEntryPoint,
  UsageError,
  type CommandDeps,
} from './ops/command';
import { formatAge, formatUnix, renderTable } from './ops/table';
import { resolveTarget, type Target, type TargetOptions } from './ops/target';

export const DEFAULT_EVENT_LIMIT = 20;

export interface StatusDeps extends CommandDeps {
  /** Reaches the target stack; `npm start`'s or the deployed one by default. */
  connect?: (options: TargetOptions) => Promise<Target>;
}

export interface CustomerReport {
  status: BillingStatus;
  /** The most recent events (up to the limit), oldest first. */
  events: HistoryEntry[];
  /** How many events the customer has in all. */
  totalEvents: number;
}

// ---------------------------------------------------------------------------------------
// Reading the table (the only part that knows its layout)

export interface ReadOptions {
  now: Date;
  expiryWarningDays: number;
  /** How many recent events to return; 0 for all. */
  limit: number;
}

/**
 * One customer's billing status (its status item, as the status API reads it) and recent
 * events; null when no applied event has mentioned the customer (the API's 404).
 */
export async function readStatus(
  target: Pick<Target, 'ddb' | 'tableName'>,
  customerId: string,
  options: ReadOptions,
): Promise<CustomerReport | null> {
  const store = new FactStore(target.ddb, target.tableName);
  const stored = await store.readStatus(customerId);
  if (!stored) return null;
  const status = statusFromRecord(
    customerId,
    stored.record,
    Math.floor(options.now.getTime() / 1000),
    options.expiryWarningDays,
  );
  const history = await store.history(customerId, stored);
  const events = options.limit > 0 ? history.slice(-options.limit) : history;
  return { status, events, totalEvents: history.length };
}

/** Every event waiting for an object that names its customer. */
export async function listParked(
  target: Pick<Target, 'ddb' | 'tableName'>,
): Promise<ParkedEvent[]> {
  return new FactStore(target.ddb, target.tableName).listParked();
}

// ---------------------------------------------------------------------------------------
// Rendering

function conditionRows(conditions: readonly Condition<string>[]): string[] {
  if (conditions.length === 0) return ['  none'];
  return renderTable(
    ['REASON', 'OBJECT', 'SINCE', 'EVENT'],
    conditions.map((c) => [c.reason, c.objectId, formatUnix(c.since), c.eventId ?? '-']),
    { indent: '  ' },
  );
}

/** An override's reason and actor; nothing for a Stripe event. */
function noteOf(e: HistoryEntry): string {
  const parts: string[] = [];
  if (e.reason) parts.push(`"${e.reason}"`);
  if (e.actor) parts.push(`by ${e.actor}`);
  return parts.join(' ');
}

/** The readable view of a billing status and its recent events. */
export function renderReport(report: CustomerReport): string[] {
  const { status, events, totalEvents } = report;
  const lines = [
    `customer      ${status.customerId}${status.livemode ? ' (live mode)' : ' (test mode)'}`,
    `canAllocate   ${status.canAllocate}`,
    `override      ${
      status.override
        ? `${status.override.mode}, "${status.override.reason}" (set ${status.override.setAt})`
        : 'none'
    }`,
    `last event    ${status.lastEventId ?? '-'}`,
    `updated       ${status.updatedAt}`,
    '',
    `blockers (${status.blockers.length})`,
    ...conditionRows(status.blockers),
    '',
    `warnings (${status.warnings.length})`,
    ...conditionRows(status.warnings),
    '',
    `payment methods (${status.paymentMethods.length})`,
  ];
  if (status.paymentMethods.length === 0) lines.push('  none');
  else {
    lines.push(
      ...renderTable(
        ['ID', 'TYPE', 'STATUS', 'BRAND', 'LAST4', 'EXPIRES'],
        status.paymentMethods.map((m) => [
          m.id,
          m.type,
          m.status,
          m.brand ?? '-',
          m.last4 ?? '-',
          m.expMonth !== null && m.expYear !== null
            ? `${String(m.expMonth).padStart(2, '0')}/${m.expYear}`
            : '-',
        ]),
        { indent: '  ' },
      ),
    );
  }
  lines.push(
    '',
    events.length === totalEvents
      ? `events (${totalEvents})`
      : `events (last ${events.length} of ${totalEvents})`,
  );
  if (events.length === 0) lines.push('  none');
  else {
    // The NOTE column (an override's reason and actor) only when an override is listed.
    const withNotes = events.some((e) => noteOf(e) !== '');
    lines.push(
      ...renderTable(
        ['CREATED', 'ID', 'TYPE', 'APPLIED', ...(withNotes ? ['NOTE'] : [])],
        events.map((e) => [
          formatUnix(e.created),
          e.id,
          e.type,
          e.appliedAt,
          ...(withNotes ? [noteOf(e)] : []),
        ]),
        { indent: '  ' },
      ),
    );
  }
  return lines;
}

export function renderParked(parked: readonly ParkedEvent[], now: Date): string[] {
  if (parked.length === 0) return ['no parked events'];
  return [
    ...renderTable(
      ['EVENT', 'TYPE', 'WAITING FOR', 'AGE', 'PARKED AT'],
      parked.map((p) => [
        p.eventId,
        p.type,
        p.keys.join(', '),
        formatAge(now.getTime() - p.parkedAt),
        new Date(p.parkedAt).toISOString(),
      ]),
    ),
    `${parked.length} parked event${parked.length === 1 ? '' : 's'}`,
  ];
}

/** A parked event without its raw body (payloads hold personal data). */
function parkedJson(p: ParkedEvent) {
  return {
    eventId: p.eventId,
    type: p.type,
    waitingFor: p.keys,
    parkedAt: new Date(p.parkedAt).toISOString(),
  };
}

/** EXPIRY_WARNING_DAYS as the stack reads it; a bad value is a usage error. */
export function warningDaysOf(env: Readonly<Record<string, string | undefined>>): number {
  try {
    return expiryWarningDays(env);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

export const EXPIRY_WARNING_DAYS_ENV = {
  name: 'EXPIRY_WARNING_DAYS',
  description: 'days before its expiry a card counts as expiring (default 30), as in the stack',
};

export const command = defineCommand<StatusDeps>({
  name: 'status',
  summary:
    "Shows one customer's billing status (canAllocate, blockers, warnings, payment methods, " +
    'override) and its most recent events, exactly as the status API answers; or, with ' +
    '--parked, the events waiting for an object that names their customer.',
  positionals: {
    customer: { value: 'cus_...', description: 'the Stripe customer id' },
  },
  options: {
    json: {
      type: 'boolean',
      description: 'print JSON: {"status": ..., "events": [...]} (with --parked: the list)',
    },
    limit: {
      type: 'integer',
      value: 'n',
      default: DEFAULT_EVENT_LIMIT,
      description: 'how many recent events to show; 0 for all',
    },
    parked: {
      type: 'boolean',
      description: 'list parked events: id, type, the object ids each waits for, its age',
    },
  },
  usage: [
    ['customer', '[json]', '[limit]'],
    ['parked', '[json]'],
  ],
  environment: [EXPIRY_WARNING_DAYS_ENV],
  failure:
    "no applied event has mentioned the customer (the API's 404; a new customer's first " +
    'event may still be queued), or the stack could not be read',
  examples: [
    { args: 'cus_123 --local', note: "cus_123's status on the stack `npm start` runs" },
    { args: 'cus_123 --json --limit 0 --local', note: 'the same as JSON, with every event' },
    { args: '--parked --local', note: 'the events waiting for their customer' },
    { args: 'cus_123 --stack StripeBillingGate-prod', note: 'on a deployed stack' },
  ],
  async run({ args, target: targetOptions, io, deps }) {
    const json = args.flag('json');
    const parkedMode = args.flag('parked');
    if (parkedMode && args.positionals.length > 0) {
      throw new UsageError('--parked lists every parked event: give no customer id with it');
    }
    if (parkedMode && args.given('limit')) throw new UsageError('--limit is not for --parked');
    const customerId = parkedMode ? null : customerIdArg(args.positional('customer'));
    const limit = args.integer('limit') ?? DEFAULT_EVENT_LIMIT;
    const warningDays = warningDaysOf(io.env);

    const target = await (deps.connect ?? resolveTarget)(targetOptions);
    try {
      io.err(`reading ${target.describe()}, table ${target.tableName}`);
      if (customerId === null) {
        const parked = await listParked(target);
        if (json) io.out(JSON.stringify(parked.map(parkedJson), null, 2));
        else renderParked(parked, io.now()).forEach((l) => io.out(l));
        return EXIT_OK;
      }
      const report = await readStatus(target, customerId, {
        now: io.now(),
        expiryWarningDays: warningDays,
        limit,
      });
      if (!report) {
        io.err(
          `status: no applied event has mentioned ${customerId} (the API would answer 404; ` +
            "a new customer's first event may still be queued)",
        );
        return EXIT_FAILURE;
      }
      if (json) io.out(JSON.stringify({ status: report.status, events: report.events }, null, 2));
      else renderReport(report).forEach((l) => io.out(l));
      return EXIT_OK;
    } finally {
      target.close();
    }
  },
});

export const run = command.run;

runIfEntryPoint(import.meta.url, command);
