// `npm run status -- <cus_...> [--json] [--local]` and `--parked`: reads the table through
// the same store and pure derivation as the status API, so it shows what the API answers.

import { FactStore, type ParkedEvent } from '../lambdas/adapters/fact-store';
import { expiryWarningDays } from '../lambdas/config';
import { statusFromRecord } from '../lambdas/core/billing-status';
import { ConfigError } from '../lambdas/core/errors';
import type { BillingStatus, Condition, HistoryEntry } from '../lambdas/core/facts';
import { historyOf } from '../lambdas/core/history';
import {
  customerIdArg,
  EXIT_FAILURE,
  EXIT_OK,
  formatAge,
  formatUnix,
  parseCommand,
  processIo,
  renderTable,
  runCommand,
  runIfEntryPoint,
  TARGET_HELP,
  UsageError,
  type CommandIo,
  type CommandSpec,
} from './ops/args';
import { resolveTarget, type Target, type TargetOptions } from './ops/target';

export const DEFAULT_EVENT_LIMIT = 20;

export const STATUS: CommandSpec = {
  name: 'status',
  help: [
    'Usage: npm run status -- <cus_...> [--json] [--limit <n>] [--local]',
    '       npm run status -- --parked [--json] [--local]',
    '',
    "One customer's billing status (canAllocate, blockers, warnings, payment methods,",
    'override) and its most recent events, derived exactly as the status API derives them;',
    'or, with --parked, the events waiting for an object that names their customer.',
    '',
    '  --json              print JSON: {"status": ..., "events": [...]} (or the parked list)',
    `  --limit <n>         how many recent events to show (default ${DEFAULT_EVENT_LIMIT}; 0 for all)`,
    '  --parked            list parked events: id, type, the object ids it waits for, age',
    '',
    'EXPIRY_WARNING_DAYS (default 30) decides when a card counts as expiring, as in the stack.',
    '',
    "Exit codes: 0 shown; 1 no applied event has mentioned the customer (the API's 404),",
    'or the stack could not be read; 2 bad arguments (e.g. an id that is not cus_...).',
    '',
    TARGET_HELP,
  ].join('\n'),
  options: {
    json: { type: 'boolean' },
    parked: { type: 'boolean' },
    limit: { type: 'string' },
  },
  maxPositionals: 1,
};

export interface StatusDeps {
  io?: Partial<CommandIo>;
  connect?: (options: TargetOptions) => Promise<Target>;
}

export interface CustomerReport {
  status: BillingStatus;
  /** The most recent events (up to the limit), oldest first. */
  events: HistoryEntry[];
  /** How many events the customer has in all. */
  totalEvents: number;
}

/** The customer's status item and history; null when no event has named it (404). */
export async function customerReport(
  store: Pick<FactStore, 'readStatus' | 'allFacts' | 'overrides'>,
  customerId: string,
  options: { now: Date; expiryWarningDays: number; limit: number },
): Promise<CustomerReport | null> {
  const stored = await store.readStatus(customerId);
  if (!stored) return null;
  const status = statusFromRecord(
    customerId,
    stored.record,
    Math.floor(options.now.getTime() / 1000),
    options.expiryWarningDays,
  );
  const [facts, overrides] = await Promise.all([
    store.allFacts(customerId),
    store.overrides(customerId),
  ]);
  const history = historyOf(facts, overrides);
  const events = options.limit > 0 ? history.slice(-options.limit) : history;
  return { status, events, totalEvents: history.length };
}

function conditionRows(conditions: readonly Condition<string>[]): string[] {
  if (conditions.length === 0) return ['  none'];
  return renderTable(
    ['REASON', 'OBJECT', 'SINCE', 'EVENT'],
    conditions.map((c) => [c.reason, c.objectId, formatUnix(c.since), c.eventId ?? '-']),
  ).map((l) => `  ${l}`);
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
      ).map((l) => `  ${l}`),
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
      ).map((l) => `  ${l}`),
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

function limitArg(value: string | boolean | undefined): number {
  if (value === undefined) return DEFAULT_EVENT_LIMIT;
  if (typeof value !== 'string' || !/^\d+$/.test(value)) {
    throw new UsageError(`--limit must be a whole number (0 for all), got "${String(value)}"`);
  }
  return Number(value);
}

export async function runStatus(argv: readonly string[], deps: StatusDeps = {}): Promise<number> {
  const io = { ...processIo(), ...deps.io };
  return runCommand(STATUS, io, async () => {
    const { values, positionals, target: targetOptions } = parseCommand(argv, STATUS);
    const json = values.json === true;
    const parkedMode = values.parked === true;
    if (parkedMode && positionals.length > 0) {
      throw new UsageError('--parked lists every parked event: give no customer id with it');
    }
    if (parkedMode && values.limit !== undefined)
      throw new UsageError('--limit is not for --parked');
    const customerId = parkedMode ? null : customerIdArg(positionals[0]);
    const limit = limitArg(values.limit);
    let warningDays: number;
    try {
      warningDays = expiryWarningDays(io.env);
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(err.message);
      throw err;
    }

    const target = await (deps.connect ?? resolveTarget)(targetOptions);
    try {
      const store = new FactStore(target.ddb, target.tableName);
      io.err(`reading ${target.describe()}, table ${target.tableName}`);
      if (customerId === null) {
        const parked = await store.listParked();
        if (json) io.out(JSON.stringify(parked.map(parkedJson), null, 2));
        else renderParked(parked, io.now()).forEach((l) => io.out(l));
        return EXIT_OK;
      }
      const report = await customerReport(store, customerId, {
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
  });
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

runIfEntryPoint(import.meta.url, runStatus);
