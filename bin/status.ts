// `npm run status -- <cus_...|acct_...> [--json] [--local]`, `--blocked|--grace|--warned`
// and `--parked`: reads the table through the same store, the same reads and the same pure
// derivation as the status API, so it shows what the API answers. The reads (readStatus,
// listCustomers, listParked) are the only parts that know the table's layout.

import type { ParkedEvent } from '../lambdas/adapters/fact-store';
import type { BillingStatus, Condition, HistoryEntry, OverrideView } from '../lambdas/core/facts';
import { ACCOUNT_ID, CUSTOMER_ID } from '../lambdas/core/stripe-event';
import {
  customerOfId,
  LIST_MAX_LIMIT,
  listingPage,
  statusOfStored,
  type ListingEntry,
  type ListingPage,
  type TroubleState,
} from '../lambdas/status-api/listing';
import {
  defineCommand,
  EXIT_FAILURE,
  EXIT_OK,
  runIfEntryPoint,
  UsageError,
  type CommandDeps,
  type ParsedArgs,
} from './ops/command';
import { formatAge, formatUnix, renderTable } from './ops/table';
import { resolveTarget, storeOf, type Target, type TargetOptions } from './ops/target';

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
  /** How many recent events to return; 0 for all. */
  limit: number;
}

/**
 * One customer's billing status (its status item, as the status API reads it) and recent
 * events, by its `cus_` id or its Accounts v2 `acct_` id; null when no applied event has
 * mentioned the customer, or taught the account's customer (the API's 404).
 */
export async function readStatus(
  target: Pick<Target, 'ddb' | 'tableName'>,
  id: string,
  options: ReadOptions,
): Promise<CustomerReport | null> {
  const { store, settings } = await storeOf(target, () => options.now.getTime());
  const customerId = await customerOfId(store, id);
  if (!customerId) return null;
  const stored = await store.readStatus(customerId);
  if (!stored) return null;
  const now = Math.floor(options.now.getTime() / 1000);
  const status = await statusOfStored(store, customerId, stored, now, settings);
  const history = await store.history(customerId, stored, now);
  const events = options.limit > 0 ? history.slice(-options.limit) : history;
  return { status, events, totalEvents: history.length };
}

export interface CustomerListing {
  /** The entries `GET /customers?state=<state>` gives, page after page, up to the limit. */
  entries: ListingEntry[];
  /** Whether the state lists more customers than the limit let through. */
  more: boolean;
}

/**
 * The customers in `state` now, as the status API lists them (in the index's order: for
 * `grace` nearest deadline first), up to `limit` (0: all).
 */
export async function listCustomers(
  target: Pick<Target, 'ddb' | 'tableName'>,
  state: TroubleState,
  options: ReadOptions,
): Promise<CustomerListing> {
  const { store, settings } = await storeOf(target, () => options.now.getTime());
  const now = Math.floor(options.now.getTime() / 1000);
  const entries: ListingEntry[] = [];
  let start: ListingPage['next'] = null;
  do {
    // One more than still wanted, so that a full last page tells whether more follow.
    const wanted = options.limit > 0 ? options.limit - entries.length + 1 : LIST_MAX_LIMIT;
    const page = await listingPage(store, state, {
      limit: Math.min(wanted, LIST_MAX_LIMIT),
      start,
      now,
      settings,
    });
    entries.push(...page.entries);
    if (options.limit > 0 && entries.length > options.limit) {
      return { entries: entries.slice(0, options.limit), more: true };
    }
    start = page.next;
  } while (start);
  return { entries, more: false };
}

/** Every event waiting for an object that names its customer. */
export async function listParked(
  target: Pick<Target, 'ddb' | 'tableName'>,
): Promise<ParkedEvent[]> {
  return (await storeOf(target)).store.listParked();
}

// ---------------------------------------------------------------------------------------
// Rendering

/** A condition's deadline: when it blocks or blocked, while Stripe retries, or none. */
export function formatBlocksAt(blocksAt: number | null | undefined): string {
  if (blocksAt === undefined) return '-';
  return blocksAt === null ? 'after the retries' : formatUnix(blocksAt);
}

function conditionRows(conditions: readonly Condition<string>[]): string[] {
  if (conditions.length === 0) return ['  none'];
  return renderTable(
    ['REASON', 'OBJECT', 'SINCE', 'BLOCKS AT', 'EVENT'],
    conditions.map((c) => [
      c.reason,
      c.objectId,
      formatUnix(c.since),
      formatBlocksAt(c.blocksAt),
      c.eventId ?? '-',
    ]),
    { indent: '  ' },
  );
}

/** `allow, "reason" (set <time>, expires <time>)`, or `none`. */
export function formatOverride(override: OverrideView | null): string {
  if (!override) return 'none';
  const expiry =
    override.expiresAt === null ? 'no expiry' : `expires ${formatUnix(override.expiresAt)}`;
  return `${override.mode}, "${override.reason}" (set ${override.setAt}, ${expiry})`;
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
    ...(status.customerAccount ? [`account       ${status.customerAccount}`] : []),
    `canAllocate   ${status.canAllocate}`,
    `override      ${formatOverride(status.override)}`,
    `next change   ${status.nextChangeAt === null ? 'none' : formatUnix(status.nextChangeAt)}`,
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

const STATE_NOUNS: Readonly<Record<TroubleState, [one: string, many: string]>> = {
  blocked: ['blocked customer', 'blocked customers'],
  grace: ['customer in grace', 'customers in grace'],
  warned: ['warned customer', 'warned customers'],
};

/**
 * The customers in a state, one row per condition (a customer without a listed condition
 * gets one row of dashes), then a count line.
 */
export function renderListing(state: TroubleState, listing: CustomerListing): string[] {
  const { entries, more } = listing;
  const rows = entries.flatMap((e) => {
    const head = [e.customerId, String(e.canAllocate)];
    if (e.conditions.length === 0) return [[...head, '-', '-', '-', '-']];
    return e.conditions.map((c) => [
      ...head,
      c.reason,
      c.objectId,
      formatUnix(c.since),
      c.blocksAt === null ? '-' : formatUnix(c.blocksAt),
    ]);
  });
  const [one, many] = STATE_NOUNS[state];
  const count = `${entries.length} ${entries.length === 1 ? one : many}`;
  return [
    ...(entries.length > 0
      ? renderTable(['CUSTOMER', 'CAN ALLOCATE', 'REASON', 'OBJECT', 'SINCE', 'BLOCKS AT'], rows)
      : []),
    more ? `${count} shown; there are more: --limit 0 lists them all` : count,
  ];
}

export function renderParked(parked: readonly ParkedEvent[], now: Date): string[] {
  if (parked.length === 0) return ['no parked events'];
  return [
    ...renderTable(
      ['EVENT', 'TYPE', 'WAITING FOR', 'ACCOUNT', 'AGE', 'PARKED AT'],
      parked.map((p) => [
        p.eventId,
        p.type,
        p.keys.join(', '),
        p.accountId ?? '-',
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
    accountId: p.accountId ?? null,
    parkedAt: new Date(p.parkedAt).toISOString(),
  };
}

/** A customer id, or an Accounts v2 id naming one; else a usage error. */
export function customerOrAccountArg(value: string | undefined): string {
  if (value === undefined) throw new UsageError('a customer id is required (cus_... or acct_...)');
  if (!CUSTOMER_ID.test(value) && !ACCOUNT_ID.test(value)) {
    throw new UsageError(
      `"${value}" is not a customer id: expected cus_ (or an Accounts v2 acct_) followed by ` +
        'letters and digits',
    );
  }
  return value;
}

/** What a status command line asks for. */
export type StatusRequest =
  | { kind: 'customer'; id: string; limit: number }
  | { kind: 'list'; state: TroubleState; limit: number }
  | { kind: 'parked' };

const MODES = ['blocked', 'grace', 'warned', 'parked'] as const;

/** Checks the mode flags, the customer id and --limit against each other. */
export function requestOf(args: ParsedArgs): StatusRequest {
  const modes = MODES.filter((m) => args.flag(m));
  if (modes.length > 1) {
    throw new UsageError(
      `give one of --blocked, --grace, --warned or --parked, not ${modes.map((m) => `--${m}`).join(' and ')}`,
    );
  }
  const mode = modes[0];
  if (mode === undefined) {
    const id = customerOrAccountArg(args.positional('customer'));
    return { kind: 'customer', id, limit: args.integer('limit') ?? DEFAULT_EVENT_LIMIT };
  }
  if (args.positionals.length > 0) {
    throw new UsageError(
      mode === 'parked'
        ? '--parked lists every parked event: give no customer id with it'
        : `--${mode} lists every ${STATE_NOUNS[mode][0]}: give no customer id with it`,
    );
  }
  if (mode === 'parked') {
    if (args.given('limit')) throw new UsageError('--limit is not for --parked');
    return { kind: 'parked' };
  }
  return { kind: 'list', state: mode, limit: args.integer('limit') ?? 0 };
}

export const command = defineCommand<StatusDeps>({
  name: 'status',
  summary:
    "Shows one customer's billing status (canAllocate, blockers and warnings with their " +
    'deadlines, payment methods, override, next change) and its most recent events, exactly ' +
    'as the status API answers; or lists the customers blocked, in grace or warned, as ' +
    '`GET /customers?state=...` does; or, with --parked, the events waiting for an object ' +
    'that names their customer.',
  description: [
    "An Accounts v2 id (acct_...) shows the status of the customer it names, once an event has named both ids (the status shows it as account). BLOCKS AT is when a condition in its grace blocks or blocked ('after the retries' while only Stripe's retries hold it); next change is when the answer changes with no further event (a grace ending, an override expiring, a card expiring).",
    '--blocked lists the customers that cannot allocate, --grace those allowed with a condition that will block at a deadline (nearest deadline first), --warned those allowed with a warning; one row per condition, then a count.',
  ],
  positionals: {
    customer: {
      value: 'cus_...|acct_...',
      description: 'the Stripe customer id, or its Accounts v2 id',
    },
  },
  options: {
    json: {
      type: 'boolean',
      description:
        'print JSON: {"status": ..., "events": [...]}; with --blocked, --grace or --warned ' +
        "the API's listing entries; with --parked the list",
    },
    limit: {
      type: 'integer',
      value: 'n',
      description:
        `how many recent events to show (default ${DEFAULT_EVENT_LIMIT}); with --blocked, ` +
        '--grace or --warned how many customers (default all); 0 for all',
    },
    blocked: { type: 'boolean', description: 'list the customers that cannot allocate' },
    grace: {
      type: 'boolean',
      description: 'list the customers in grace: allowed, blocked at a deadline unless paid',
    },
    warned: { type: 'boolean', description: 'list the customers allowed with a warning' },
    parked: {
      type: 'boolean',
      description:
        'list parked events: id, type, the object ids each waits for, the Accounts v2 id it ' +
        'waits on, its age',
    },
  },
  usage: [
    ['customer', '[json]', '[limit]'],
    ['blocked|grace|warned', '[json]', '[limit]'],
    ['parked', '[json]'],
  ],
  failure:
    "no applied event has mentioned the customer, or no event has named the account's " +
    "customer (the API's 404; a new customer's first event may still be queued), or the " +
    'stack could not be read',
  examples: [
    { args: 'cus_123 --local', note: "cus_123's status on the stack `npm start` runs" },
    { args: 'cus_123 --json --limit 0 --local', note: 'the same as JSON, with every event' },
    { args: '--blocked --local', note: 'every customer that cannot allocate' },
    { args: '--grace --json --local', note: 'the customers in grace, nearest deadline first' },
    { args: '--parked --local', note: 'the events waiting for their customer' },
    { args: 'cus_123 --stack StripeBillingGate-prod', note: 'on a deployed stack' },
    {
      args: 'acct_123 --stack StripeBillingGate-prod',
      note: 'the customer of an Accounts v2 id, on a deployed stack',
    },
  ],
  async run({ args, target: targetOptions, io, deps }) {
    const json = args.flag('json');
    const request = requestOf(args);

    const target = await (deps.connect ?? resolveTarget)(targetOptions);
    try {
      io.err(`reading ${target.describe()}, table ${target.tableName}`);
      if (request.kind === 'parked') {
        const parked = await listParked(target);
        if (json) io.out(JSON.stringify(parked.map(parkedJson), null, 2));
        else renderParked(parked, io.now()).forEach((l) => io.out(l));
        return EXIT_OK;
      }
      if (request.kind === 'list') {
        const listing = await listCustomers(target, request.state, {
          now: io.now(),
          limit: request.limit,
        });
        if (json) io.out(JSON.stringify(listing.entries, null, 2));
        else renderListing(request.state, listing).forEach((l) => io.out(l));
        if (json && listing.more) {
          io.err(`status: the first ${request.limit} shown; --limit 0 lists them all`);
        }
        return EXIT_OK;
      }
      const report = await readStatus(target, request.id, { now: io.now(), limit: request.limit });
      if (!report) {
        io.err(`status: ${unknownCustomerMessage(request.id)}`);
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

/** Why an id has no status: the API's 404, in the operator's words. */
export function unknownCustomerMessage(id: string): string {
  return CUSTOMER_ID.test(id)
    ? `no applied event has mentioned ${id} (the API would answer 404; a new customer's ` +
        'first event may still be queued)'
    : `unknown customer: no applied event has named ${id}'s customer (the API would answer ` +
        '404; an event naming both ids may still be queued)';
}

export const run = command.run;

runIfEntryPoint(import.meta.url, command);
