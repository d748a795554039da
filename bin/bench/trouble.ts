// Section 12: who is in trouble, and due deadlines. What `GET /customers?state=...` (and
// `npm run status -- --blocked|--grace|--warned`) reads per listed customer, what the
// sweeper's search for due deadlines reads per run and what it then does per due customer,
// and what the sparse indexes add to each status write, on DynamoDB Local through the
// ordinary SDK and the production code, counted by the bench's meter.
//
// One table, created as the stack creates it, under a policy with a grace (a failed payment
// blocks after GRACE_SECONDS): many customers not in trouble (one paid charge each), then at
// each level L customers blocked (a failure older than the grace) and L in grace (a failure
// whose grace ends within the hour). At each level: every state listed page by page through
// `listingPage` (what the status API's handler calls) and `listCustomers` (the status
// command), the sweeper run as the stack runs it with nothing due, then an hour later, when
// every grace has ended, the sweep that settles them (they become blocked, so the next level
// adds fewer blocked customers). Time is a clock the bench moves, the same one every writer,
// reader and the sweeper are given. Before the levels, the event mix of section 4 applied
// through the processors' use case, under the default policy and under the grace policy:
// the index writes each status write pays.

import { DynamoDBClient, GetItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { FactStore, type StoredStatus } from '../../lambdas/adapters/fact-store';
import {
  DUE_INDEX,
  GRACE_INDEX,
  RULES_VERSION_INDEX,
  STATUS_ATTR,
  TROUBLE_INDEX,
  statusKey,
} from '../../lambdas/adapters/table-layout';
import type { Item } from '../../lambdas/adapters/status-item';
import { parsePolicyJson } from '../../lambdas/core/policy';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { makeLogger, makeMetrics } from '../../lambdas/observability';
import { applyEvent, type ApplyDeps } from '../../lambdas/processor/apply-event';
import {
  DEFAULT_GATE_SETTINGS,
  gateSettings,
  storeOptions,
  type GateSettings,
} from '../../lambdas/settings';
import { LIST_MAX_LIMIT, listingPage, type TroubleState } from '../../lambdas/status-api/listing';
import { makeSweeper } from '../../lambdas/sweeper/make-sweeper';
import { buildEvent, stripeId } from '../events/stripe-events';
import { startEmulators } from '../local/emulators';
import { LOCAL_AWS } from '../local/local-aws';
import { createBillingTable } from '../local/provision';
import { listCustomers } from '../status';
import {
  meterDiff,
  meterWeighted,
  meteredClient,
  type Meter,
  type MeteredClient,
} from './ddb-meter';
import { FAILED_HOUR_EVERY, billedHour, customerHistory } from './history';
import { progress } from './report';

/** The grace the bench's policy gives a failed payment before it blocks. */
export const GRACE_SECONDS = 3 * 86_400;
export const GRACE_POLICY = `{"payment_failed":{"action":"block","grace":"${GRACE_SECONDS / 86_400}d"}}`;
/** Page sizes the listing is read with: the API's default (and maximum), and a smaller one. */
export const PAGE_SIZES = [LIST_MAX_LIMIT, 100] as const;
export const STATES: readonly TroubleState[] = ['blocked', 'grace', 'warned'];
/** How far the clock moves between a level's listing and its due sweep (every grace ends). */
export const PAST_DEADLINES_MS = 2 * 3_600_000;
const SEEDERS = 8;

export interface TroubleOptions {
  /** Customers blocked, and as many in grace, at each level (increasing). */
  readonly levels: readonly number[];
  /** Customers not in trouble (one paid charge each). */
  readonly healthy: number;
}

export interface Listing {
  readonly limit: number;
  readonly pages: number;
  /** Calls and units of listing every customer in the state, page after page. */
  readonly meter: Meter;
  /** The same read units computed from the items' sizes as DynamoDB documents it. */
  readonly documented: { readonly index: number; readonly items: number };
}

export interface ListingRow {
  readonly level: number;
  readonly state: TroubleState;
  readonly listed: number;
  readonly api: readonly Listing[];
  /** `npm run status -- --<state>` (all of them: its settings read and its pages). */
  readonly cli: Meter;
}

export interface SweepRow {
  readonly level: number;
  /** The due index's Query as the sweeper makes it, with nothing due. */
  readonly quietQuery: Meter;
  /** A whole sweeper run with nothing due: a minute without and one with the parked work. */
  readonly quietMinute: Meter;
  readonly parkedMinute: Meter;
  /** The sweep once every grace has ended: customers settled, calls and units. */
  readonly due: number;
  readonly dueSweep: Meter;
  /** Index writes of the due sweep by AWS's rules, from each item before and after. */
  readonly dueByRule: Record<string, number>;
}

export interface WebhookMix {
  readonly policy: 'default' | 'grace';
  readonly events: number;
  /** Per event, weighted as section 4's mix. */
  readonly meter: Meter;
  /** Index writes per event by AWS's rules, from the status item before and after each event. */
  readonly byRule: Record<string, number>;
}

export interface TroubleResult {
  readonly healthy: number;
  readonly listings: readonly ListingRow[];
  readonly sweeps: readonly SweepRow[];
  readonly webhooks: readonly WebhookMix[];
  /** Bytes of one index entry, by index, as DynamoDB sizes them (a listed customer's share). */
  readonly entryBytes: Record<string, number>;
  /** Largest status item read, in bytes. */
  readonly largestStatusBytes: number;
}

// ---------------------------------------------------------------------------------------
// Item sizes, as DynamoDB documents them: an attribute is its name's UTF-8 bytes plus its
// value's (a string's UTF-8 bytes; a number about one byte per two significant digits, plus
// one; a map or list 3 bytes plus 1 per element plus the elements).

function valueBytes(v: AttributeValue): number {
  if (v.S !== undefined) return Buffer.byteLength(v.S);
  if (v.N !== undefined) {
    const digits = v.N.replace(/[-.]/g, '').replace(/^0+/, '').replace(/0+$/, '');
    return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
  }
  if (v.B !== undefined) return v.B.length;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.M) return 3 + Object.entries(v.M).reduce((s, [k, x]) => s + 1 + attrBytes(k, x), 0);
  if (v.L) return 3 + v.L.reduce((s, x) => s + 1 + valueBytes(x), 0);
  if (v.SS) return v.SS.reduce((s, x) => s + Buffer.byteLength(x), 0);
  if (v.NS) return v.NS.reduce((s, x) => s + valueBytes({ N: x }), 0);
  return 0;
}

const attrBytes = (name: string, v: AttributeValue) => Buffer.byteLength(name) + valueBytes(v);

export const itemBytes = (item: Item) =>
  Object.entries(item).reduce((s, [k, v]) => s + attrBytes(k, v), 0);

/** The attributes a KEYS_ONLY index entry holds: the table's keys and the index's. */
const ENTRY_ATTRS: Record<TroubleState, readonly string[]> = {
  blocked: ['pk', 'sk', STATUS_ATTR.trouble],
  warned: ['pk', 'sk', STATUS_ATTR.trouble],
  grace: ['pk', 'sk', STATUS_ATTR.gracePartition, STATUS_ATTR.graceDeadline],
};

const entryBytes = (item: Item, state: TroubleState) =>
  ENTRY_ATTRS[state].reduce((s, a) => s + (item[a] ? attrBytes(a, item[a]) : 0), 0);

/** Read units of a Query page of entries (always eventually consistent on an index). */
const pageUnits = (bytes: number) => 0.5 * Math.max(1, Math.ceil(bytes / 4096));

// ---------------------------------------------------------------------------------------
// Index writes by AWS's rules: a KEYS_ONLY entry is written when it appears or goes (1), and
// deleted and written again when its key changes (2); a write that leaves it alone costs none.

function indexKeys(s: StoredStatus | null): Record<string, string | null> {
  const d = s?.derived;
  return {
    [RULES_VERSION_INDEX]: s ? String(s.rulesVersion) : null,
    [DUE_INDEX]: d?.nextChangeAt == null ? null : String(d.nextChangeAt),
    [TROUBLE_INDEX]: d?.trouble ?? null,
    [GRACE_INDEX]: d?.graceDeadline == null ? null : String(d.graceDeadline),
  };
}

export function indexWritesByRule(
  before: StoredStatus | null,
  after: StoredStatus | null,
  into: Record<string, number> = {},
): Record<string, number> {
  const a = indexKeys(before);
  const b = indexKeys(after);
  for (const index of Object.keys(a)) {
    const n = a[index] === b[index] ? 0 : a[index] === null || b[index] === null ? 1 : 2;
    if (n) into[index] = (into[index] ?? 0) + n;
  }
  return into;
}

// ---------------------------------------------------------------------------------------

async function pool<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: SEEDERS }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

async function apply(deps: ApplyDeps, event: StripeEvent): Promise<void> {
  const result = await applyEvent(JSON.stringify(event), event.type, deps);
  if (result.outcome !== 'applied') throw new Error(`${event.type} was ${result.outcome}`);
}

export async function measureTrouble(options: TroubleOptions): Promise<TroubleResult> {
  const grace: GateSettings = gateSettings(parsePolicyJson(GRACE_POLICY), 30);
  progress('trouble: starting DynamoDB Local');
  const emulators = await startEmulators();
  const metered: MeteredClient = meteredClient({
    ...LOCAL_AWS,
    endpoint: emulators.dynamoEndpoint,
  });
  // Unmetered: the bench's own look at the items (sizes, the state before and after a write).
  const plain = new DynamoDBClient({ ...LOCAL_AWS, endpoint: emulators.dynamoEndpoint });
  const tableName = `bench-trouble-${Date.now()}`;
  let nowMs = Date.now();
  const clock = () => nowMs;
  const nowSec = () => Math.floor(nowMs / 1000);
  try {
    await createBillingTable(plain, tableName);
    const store = new FactStore(metered.ddb, tableName, storeOptions(grace, clock));
    const inspect = new FactStore(plain, tableName, storeOptions(grace, clock));
    const deps: ApplyDeps = { store, stripe: null, clock: () => new Date(nowMs) };
    // The deployment's settings item, as the sweeper leaves it once settled.
    await inspect.writeSettings({
      policy: grace.policyDocument as Record<string, unknown>,
      expiryWarningDays: grace.expiryWarningDays,
      hash: grace.hash,
      settled: true,
    });

    progress(`trouble: ${options.healthy.toLocaleString('en-US')} customers not in trouble`);
    await pool(
      Array.from({ length: options.healthy }, () => stripeId('cus')),
      async (customer) =>
        apply(
          deps,
          buildEvent('charge.succeeded', {
            customer,
            created: nowSec() - 3_600,
            object: { id: stripeId('ch') },
          }),
        ),
    );

    progress('trouble: the event mix of section 4 under each policy');
    const webhooks: WebhookMix[] = [];
    for (const [policy, settings] of [
      ['default', DEFAULT_GATE_SETTINGS],
      ['grace', grace],
    ] as const) {
      webhooks.push(await webhookMix(metered, plain, tableName, settings, policy, clock));
    }

    const listings: ListingRow[] = [];
    const sweeps: SweepRow[] = [];
    const sizes = new Map<string, Item>();
    let largestStatusBytes = 0;
    const rawItem = async (customer: string): Promise<Item> => {
      let item = sizes.get(customer);
      if (!item) {
        const got = await plain.send(
          new GetItemCommand({ TableName: tableName, Key: keyOf(customer), ConsistentRead: true }),
        );
        item = got.Item!;
        sizes.set(customer, item);
        largestStatusBytes = Math.max(largestStatusBytes, itemBytes(item));
      }
      return item;
    };
    const entry: Record<string, number> = {};
    let blockedNow = 0;
    for (const level of options.levels) {
      if (level < blockedNow) {
        throw new Error(`trouble levels: ${level} is fewer than the ${blockedNow} blocked already`);
      }
      progress(`trouble: ${level} blocked and ${level} in grace`);
      const blockedAt = nowSec() - GRACE_SECONDS - 86_400;
      const graceIds = Array.from({ length: level }, () => stripeId('cus'));
      await pool(
        Array.from({ length: level - blockedNow }, () => stripeId('cus')),
        async (customer) =>
          apply(
            deps,
            buildEvent('charge.failed', {
              customer,
              created: blockedAt,
              object: { id: stripeId('ch') },
            }),
          ),
      );
      // Deadlines spread over the coming hour, from a minute on.
      const start = nowSec();
      await pool(
        graceIds.map((customer, i) => ({ customer, i })),
        async ({ customer, i }) =>
          apply(
            deps,
            buildEvent('charge.failed', {
              customer,
              created: start + 60 + Math.floor((i * 3_540) / level) - GRACE_SECONDS,
              object: { id: stripeId('ch') },
            }),
          ),
      );
      blockedNow = level;
      sizes.clear();

      for (const state of STATES) {
        const api: Listing[] = [];
        let listed: string[] = [];
        for (const limit of PAGE_SIZES) {
          const before = metered.snapshot();
          const ids: string[] = [];
          let next: Item | null = null;
          let pages = 0;
          do {
            const page = await listingPage(store, state, {
              limit,
              start: next,
              now: nowSec(),
              settings: grace,
            });
            pages += 1;
            ids.push(...page.entries.map((e) => e.customerId));
            next = page.next;
          } while (next);
          const meter = meterDiff(before, metered.snapshot());
          if (ids.length !== level) {
            throw new Error(`listing ${state}: ${ids.length} customers, ${level} expected`);
          }
          listed = ids;
          // What DynamoDB documents for the same reads: pages of entries, then the items.
          const items = await Promise.all(ids.map(rawItem));
          let index = 0;
          for (let i = 0; i < items.length; i += limit) {
            index += pageUnits(
              items.slice(i, i + limit).reduce((s, it) => s + entryBytes(it, state), 0),
            );
          }
          index += 0.5 * (pages - Math.ceil(items.length / limit));
          const itemUnits = items.reduce((s, it) => s + Math.ceil(itemBytes(it) / 4096), 0);
          if (items[0])
            entry[state === 'grace' ? GRACE_INDEX : TROUBLE_INDEX] = entryBytes(items[0], state);
          api.push({ limit, pages, meter, documented: { index, items: itemUnits } });
        }
        const before = metered.snapshot();
        const cli = await listCustomers({ ddb: metered.ddb, tableName }, state, {
          now: new Date(nowMs),
          limit: 0,
        });
        if (cli.entries.length !== level) {
          throw new Error(`status --${state}: ${cli.entries.length} customers, ${level} expected`);
        }
        listings.push({
          level,
          state,
          listed: listed.length,
          api,
          cli: meterDiff(before, metered.snapshot()),
        });
      }

      // The sweeper as the stack runs it, every minute; parked work every SWEEP_MINUTES.
      const sweeper = (parked: boolean) =>
        makeSweeper({
          store,
          settings: grace,
          stripe: null,
          clock: () => new Date(nowMs),
          logger: makeLogger('sweeper'),
          metrics: makeMetrics('sweeper'),
          sweepParked: () => parked,
        });
      let before = metered.snapshot();
      const dueNow = await store.dueCustomers(nowSec());
      const quietQuery = meterDiff(before, metered.snapshot());
      if (dueNow.length > 0) throw new Error(`${dueNow.length} customers due before any deadline`);
      before = metered.snapshot();
      const quiet = await sweeper(false)();
      const quietMinute = meterDiff(before, metered.snapshot());
      before = metered.snapshot();
      await sweeper(true)();
      const parkedMinute = meterDiff(before, metered.snapshot());
      if (quiet.due !== 0) throw new Error(`a quiet sweep settled ${quiet.due} customers`);

      const graceBefore = await Promise.all(graceIds.map((id) => inspect.readStatus(id)));
      nowMs += PAST_DEADLINES_MS;
      before = metered.snapshot();
      const swept = await sweeper(false)();
      const dueSweep = meterDiff(before, metered.snapshot());
      if (swept.due !== level) throw new Error(`the due sweep settled ${swept.due}, not ${level}`);
      const dueByRule: Record<string, number> = {};
      const graceAfter = await Promise.all(graceIds.map((id) => inspect.readStatus(id)));
      graceIds.forEach((_, i) => indexWritesByRule(graceBefore[i]!, graceAfter[i]!, dueByRule));
      if (graceAfter.some((s) => s?.derived.canAllocate !== false)) {
        throw new Error('a customer whose grace ended was not blocked by the sweep');
      }
      blockedNow += level;
      sweeps.push({
        level,
        quietQuery,
        quietMinute,
        parkedMinute,
        due: swept.due,
        dueSweep,
        dueByRule,
      });
    }
    return {
      healthy: options.healthy,
      listings,
      sweeps,
      webhooks,
      entryBytes: entry,
      largestStatusBytes,
    };
  } finally {
    metered.ddb.destroy();
    plain.destroy();
    await emulators.stop();
  }
}

const keyOf = (customer: string) => {
  const k = statusKey(customer);
  return { pk: { S: k.pk }, sk: { S: k.sk } };
};

/**
 * Section 4's mix through the processors' use case, for two customers with a card and a
 * subscription: a day of billed hours, the last one failing first (one failing hour in
 * FAILED_HOUR_EVERY), every status write's index writes counted by the meter and by the rule.
 */
async function webhookMix(
  metered: MeteredClient,
  plain: DynamoDBClient,
  tableName: string,
  settings: GateSettings,
  policy: WebhookMix['policy'],
  clock: () => number,
): Promise<WebhookMix> {
  const store = new FactStore(metered.ddb, tableName, storeOptions(settings, clock));
  const inspect = new FactStore(plain, tableName, storeOptions(settings, clock));
  const deps: ApplyDeps = { store, stripe: null, clock: () => new Date(clock()) };
  const parts: Meter[] = [];
  const byRule: Record<string, number> = {};
  for (let c = 0; c < 2; c++) {
    const customer = stripeId('cus');
    const history = customerHistory(customer, 10, Math.floor(clock() / 1000) - 3 * 86_400);
    for (const e of history) await apply(deps, e);
    const last = history.at(-1)!.created;
    for (let hour = 1; hour <= FAILED_HOUR_EVERY; hour++) {
      for (const e of billedHour(customer, last + hour * 3_600, hour === FAILED_HOUR_EVERY)) {
        const before = await inspect.readStatus(customer);
        const snap = metered.snapshot();
        await apply(deps, e);
        parts.push(meterDiff(snap, metered.snapshot()));
        indexWritesByRule(before, await inspect.readStatus(customer), byRule);
      }
    }
  }
  const events = parts.length;
  for (const k of Object.keys(byRule)) byRule[k] = (byRule[k] ?? 0) / events;
  return {
    policy,
    events,
    meter: meterWeighted(parts.map((meter) => ({ meter, weight: 1 / events }))),
    byRule,
  };
}
