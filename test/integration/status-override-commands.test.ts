// `npm run status` and `npm run override` through the real store on DynamoDB Local: the
// listings of --blocked, --grace and --warned are the status API's `GET /customers?state=`
// (same entries, grace nearest deadline first), an Accounts v2 id answers for its customer,
// an override set --for a while expires by itself, and a parked event shows the account it
// waits on. The table is written by the processor's own applyEvent under a grace policy
// stored in the table's settings item, as a deployment does.
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEvent, stripeId } from '../../bin/events/stripe-events';
import type { Target } from '../../bin/ops/target';
import { run as runOverride } from '../../bin/override';
import { run as runStatus } from '../../bin/status';
import type { FactStore } from '../../lambdas/adapters/fact-store';
import type { BillingStatus, HistoryEntry } from '../../lambdas/core/facts';
import { parsePolicy } from '../../lambdas/core/policy';
import { applyEvent } from '../../lambdas/processor/apply-event';
import type { ListingEntry } from '../../lambdas/status-api/listing';
import { makeStatusApiHandler } from '../../lambdas/status-api/make-status-api';
import { gateSettings, type GateSettings } from '../../lambdas/settings';
import { freshTable } from '../support/local-stack';
import { capture } from '../support/stripe-commands';
import { testLogger } from '../support/telemetry';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const NOW_S = NOW.getTime() / 1000;
const DAY = 86_400;
const SETTINGS: GateSettings = gateSettings(
  parsePolicy({ payment_failed: { action: 'block', grace: '7d' } }),
  30,
);

let table: Awaited<ReturnType<typeof freshTable>>;
let store: FactStore;

/** The test table as a command's target; closing it leaves the shared client open. */
const target = (): Target =>
  ({
    kind: 'local',
    region: 'us-east-1',
    ddb: table.ddb,
    tableName: table.tableName,
    queues: [],
    webhookUrl: '',
    apiUrl: '',
    describe: () => `the test table ${table.tableName}`,
    close: () => {},
  }) as unknown as Target;

async function cli(
  run: typeof runStatus,
  argv: string[],
  at: Date = NOW,
): Promise<{ code: number; out: string; err: string }> {
  const out = capture();
  const code = await run([...argv, '--local'], {
    ...out.io,
    now: () => at,
    connect: async () => target(),
    actor: async () => 'test:operator',
  } as Parameters<typeof runStatus>[1]);
  return { code, out: out.out.join('\n'), err: out.err.join('\n') };
}

const apply = async (type: string, options: Parameters<typeof buildEvent>[1]) => {
  const event = buildEvent(type, options);
  await applyEvent(JSON.stringify(event), event.type, { store, stripe: null, clock: () => NOW });
  return event;
};

/** `GET /customers?state=<state>` of the status API on the same table, page by page. */
async function apiListing(state: string): Promise<ListingEntry[]> {
  const api = makeStatusApiHandler({
    store,
    settings: SETTINGS,
    clock: () => NOW,
    logger: testLogger,
    trustActorHeader: false,
  });
  const entries: ListingEntry[] = [];
  let query: Record<string, string> = { state, limit: '2' };
  for (let page = 0; page < 20; page++) {
    const res = await api({
      rawPath: '/customers',
      rawQueryString: new URLSearchParams(query).toString(),
      queryStringParameters: query,
      headers: {},
      isBase64Encoded: false,
      requestContext: { http: { method: 'GET' } },
    } as unknown as APIGatewayProxyEventV2);
    expect(res.statusCode).toBe(200);
    entries.push(...(JSON.parse(res.body!) as ListingEntry[]));
    const link = res.headers?.link as string | undefined;
    if (!link) return entries;
    query = Object.fromEntries(new URLSearchParams(/\?([^>]*)>/.exec(link)![1]!));
  }
  throw new Error('the listing did not end');
}

// The customers, each in one state at NOW under a 7-day grace for payment_failed.
const soon = stripeId('cus'); // failed 5 days ago: blocks in 2 days
const later = stripeId('cus'); // failed 1 day ago: blocks in 6 days
const lapsed = stripeId('cus'); // failed 8 days ago: its grace has ended
const deleted = stripeId('cus'); // deleted: blocked, no grace
const action = stripeId('cus'); // an invoice needs the customer's action: warned
const fine = stripeId('cus'); // nothing wrong
const account = stripeId('acct');
const aliased = stripeId('cus'); // named beside `account`
const waitingAccount = stripeId('acct'); // no event names its customer

beforeAll(async () => {
  table = await freshTable(undefined, { settings: SETTINGS, clock: () => NOW.getTime() });
  store = table.store;
  await store.writeSettings({
    policy: SETTINGS.policyDocument as Record<string, unknown>,
    expiryWarningDays: SETTINGS.expiryWarningDays,
    hash: SETTINGS.hash,
  });
  const failed = (customer: string, daysAgo: number) =>
    apply('invoice.payment_failed', { customer, created: NOW_S - daysAgo * DAY });
  await failed(later, 1);
  await failed(soon, 5);
  await failed(lapsed, 8);
  await apply('customer.deleted', { customer: deleted, created: NOW_S - 3_600 });
  await apply('invoice.payment_action_required', { customer: action, created: NOW_S - 600 });
  await apply('customer.created', { customer: fine, created: NOW_S - 600 });
  await apply('customer.created', {
    customer: aliased,
    customerAccount: account,
    created: NOW_S - 600,
  });
  await apply('invoice.payment_failed', {
    customer: null,
    customerAccount: waitingAccount,
    created: NOW_S - 300,
  });
});

afterAll(() => table?.ddb.destroy());

describe('npm run status -- --blocked | --grace | --warned', () => {
  it('--grace lists the customers in grace, nearest deadline first, as the API does', async () => {
    const json = await cli(runStatus, ['--grace', '--json']);
    const text = await cli(runStatus, ['--grace']);

    expect(json.code).toBe(0);
    const entries = JSON.parse(json.out) as ListingEntry[];
    expect(entries.map((e) => e.customerId)).toEqual([soon, later]);
    expect(entries[0]!.conditions).toEqual([
      {
        reason: 'payment_failed',
        objectId: expect.stringMatching(/^in_/),
        since: NOW_S - 5 * DAY,
        blocksAt: NOW_S + 2 * DAY,
      },
    ]);
    expect(entries).toEqual(await apiListing('grace'));
    expect(text.code).toBe(0);
    const rows = text.out.split('\n');
    expect(rows[0]).toMatch(/^CUSTOMER\s+CAN ALLOCATE\s+REASON\s+OBJECT\s+SINCE\s+BLOCKS AT$/);
    expect(rows[1]).toContain(soon);
    expect(rows[1]).toMatch(
      /true\s+payment_failed\s+in_\w+\s+2026-05-27 12:00:00Z\s+2026-06-03 12:00:00Z$/,
    );
    expect(rows[2]).toContain(later);
    expect(rows.at(-1)).toBe('2 customers in grace');
  });

  it('--blocked lists the customers that cannot allocate, the lapsed grace among them', async () => {
    const json = await cli(runStatus, ['--blocked', '--json']);
    const text = await cli(runStatus, ['--blocked']);

    expect(json.code).toBe(0);
    const entries = JSON.parse(json.out) as ListingEntry[];
    expect(entries.map((e) => e.customerId).sort()).toEqual([deleted, lapsed].sort());
    expect(entries.find((e) => e.customerId === lapsed)).toMatchObject({
      canAllocate: false,
      conditions: [{ reason: 'payment_failed', blocksAt: NOW_S - DAY }],
    });
    expect(entries.find((e) => e.customerId === deleted)?.conditions).toEqual([
      { reason: 'customer_deleted', objectId: deleted, since: NOW_S - 3_600, blocksAt: null },
    ]);
    expect(entries).toEqual(await apiListing('blocked'));
    expect(text.out.split('\n').at(-1)).toBe('2 blocked customers');
  });

  it('--warned lists the allowed customers with a warning, those in grace too', async () => {
    const json = await cli(runStatus, ['--warned', '--json']);

    expect(json.code).toBe(0);
    const entries = JSON.parse(json.out) as ListingEntry[];
    expect(entries.map((e) => e.customerId).sort()).toEqual([action, later, soon].sort());
    expect(entries.find((e) => e.customerId === action)?.conditions).toEqual([
      expect.objectContaining({ reason: 'payment_action_required', blocksAt: null }),
    ]);
    expect(entries).toEqual(await apiListing('warned'));
  });

  it('--limit shows the first customers and says more are listed', async () => {
    const limited = await cli(runStatus, ['--grace', '--limit', '1']);
    const exact = await cli(runStatus, ['--grace', '--limit', '2']);

    expect(limited.code).toBe(0);
    expect(limited.out).toContain(soon);
    expect(limited.out).not.toContain(later);
    expect(limited.out.split('\n').at(-1)).toBe(
      '1 customer in grace shown; there are more: --limit 0 lists them all',
    );
    expect(exact.out.split('\n').at(-1)).toBe('2 customers in grace');
  });

  it('a customer whose deadline has passed since its status was written leaves --grace', async () => {
    const inThreeDays = new Date(NOW.getTime() + 3 * DAY * 1000);

    const grace = await cli(runStatus, ['--grace', '--json'], inThreeDays);
    const shown = await cli(runStatus, [soon, '--json'], inThreeDays);

    expect((JSON.parse(grace.out) as ListingEntry[]).map((e) => e.customerId)).toEqual([later]);
    expect((JSON.parse(shown.out) as { status: BillingStatus }).status).toMatchObject({
      canAllocate: false,
      blockers: [{ reason: 'payment_failed', blocksAt: NOW_S + 2 * DAY }],
    });
  });
});

describe('npm run status -- <id>', () => {
  it("shows a grace's blocksAt and the status's next change", async () => {
    const shown = await cli(runStatus, [soon]);
    const json = await cli(runStatus, [soon, '--json']);

    expect(shown.code).toBe(0);
    expect(shown.out).toMatch(/^next change {3}2026-06-03 12:00:00Z$/m);
    expect(shown.out).toMatch(
      /payment_failed\s+in_\w+\s+2026-05-27 12:00:00Z\s+2026-06-03 12:00:00Z\s+evt_/,
    );
    const status = (JSON.parse(json.out) as { status: BillingStatus }).status;
    expect(status.nextChangeAt).toBe(NOW_S + 2 * DAY);
    expect(status.warnings[0]?.blocksAt).toBe(NOW_S + 2 * DAY);
  });

  it("an acct_ id answers with its customer's status", async () => {
    const byAccount = await cli(runStatus, [account, '--json']);
    const byCustomer = await cli(runStatus, [aliased, '--json']);
    const shown = await cli(runStatus, [account]);

    expect(byAccount.code).toBe(0);
    expect(JSON.parse(byAccount.out)).toEqual(JSON.parse(byCustomer.out));
    expect((JSON.parse(byAccount.out) as { status: BillingStatus }).status).toMatchObject({
      customerId: aliased,
      customerAccount: account,
    });
    expect(shown.out).toContain(`customer      ${aliased}`);
    expect(shown.out).toContain(`account       ${account}`);
  });

  it('an unknown acct_ is an unknown customer, exit 1 like an unknown cus_', async () => {
    const unknownAccount = await cli(runStatus, [stripeId('acct')]);
    const unknownCustomer = await cli(runStatus, [stripeId('cus')]);
    const parkedOn = await cli(runStatus, [waitingAccount]);

    expect(unknownAccount.code).toBe(1);
    expect(unknownCustomer.code).toBe(1);
    expect(unknownAccount.err).toMatch(
      /status: unknown customer: no applied event has named acct_\w+'s customer/,
    );
    expect(parkedOn.code).toBe(1);
    expect(parkedOn.out).toBe('');
  });

  it('--parked shows the Accounts v2 id an event waits on', async () => {
    const json = await cli(runStatus, ['--parked', '--json']);
    const shown = await cli(runStatus, ['--parked']);

    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toEqual([
      expect.objectContaining({
        type: 'invoice.payment_failed',
        waitingFor: [waitingAccount],
        accountId: waitingAccount,
      }),
    ]);
    const row = shown.out.split('\n').find((l) => l.includes('invoice.payment_failed'))!;
    expect(row.split(/\s{2,}/).slice(2, 4)).toEqual([waitingAccount, waitingAccount]);
  });
});

describe('npm run override -- <id> --allow|--deny --for | --until', () => {
  const statusAt = async (id: string, at: Date) =>
    JSON.parse((await cli(runStatus, [id, '--json'], at)).out) as {
      status: BillingStatus;
      events: HistoryEntry[];
    };

  it('--deny --for 90m on an acct_ id blocks its customer until then, and no longer', async () => {
    // Act
    const set = await cli(runOverride, [
      account,
      '--deny',
      '--reason',
      'fraud review',
      '--for',
      '90m',
    ]);
    const during = await statusAt(aliased, new Date(NOW.getTime() + 89 * 60_000));
    const after = await statusAt(aliased, new Date(NOW.getTime() + 90 * 60_000));

    // Assess
    expect(set.code).toBe(0);
    expect(set.out).toContain(
      `override set: deny, "fraud review" (set ${NOW.toISOString()}, expires 2026-06-01 13:30:00Z)`,
    );
    expect(set.out).toMatch(/^next change {3}2026-06-01 13:30:00Z$/m);
    expect(during.status).toMatchObject({
      canAllocate: false,
      override: { mode: 'deny', reason: 'fraud review', expiresAt: NOW_S + 5_400 },
      nextChangeAt: NOW_S + 5_400,
    });
    expect(during.events.at(-1)).toMatchObject({ type: 'override.deny', actor: 'test:operator' });
    expect(after.status).toMatchObject({ canAllocate: true, override: null, nextChangeAt: null });
  });

  it('--until sets the expiry to that moment', async () => {
    const customer = stripeId('cus');
    await apply('customer.created', { customer, created: NOW_S - 60 });

    const set = await cli(runOverride, [
      customer,
      '--allow',
      '--reason',
      'wire',
      '--until',
      '2026-06-05T00:00:00Z',
      '--json',
    ]);

    expect(set.code).toBe(0);
    expect((JSON.parse(set.out) as BillingStatus).override).toMatchObject({
      mode: 'allow',
      expiresAt: Date.parse('2026-06-05T00:00:00Z') / 1000,
    });
    expect((await statusAt(customer, NOW)).status.override?.expiresAt).toBe(
      Date.parse('2026-06-05T00:00:00Z') / 1000,
    );
  });

  it.each([
    [['--for', '1d', '--until', '2026-06-05'], 'give --for or --until, not both'],
    [['--for', '366d'], '--for must be at most 365 days'],
    [['--until', '2026-05-31T00:00:00Z'], 'is not in the future'],
    [['--until', '2027-06-02'], 'is more than 365 days ahead'],
  ])('refuses %j with exit 2, changing nothing', async (extra, message) => {
    const customer = stripeId('cus');
    await apply('customer.created', { customer, created: NOW_S - 60 });
    const before = await statusAt(customer, NOW);

    const result = await cli(runOverride, [customer, '--allow', '--reason', 'x', ...extra]);

    expect(result.code).toBe(2);
    expect(result.err).toContain(message);
    expect(await statusAt(customer, NOW)).toEqual(before);
  });

  it('an unknown acct_ exits 1 as an unknown customer, writing nothing', async () => {
    const unknown = stripeId('acct');

    const result = await cli(runOverride, [unknown, '--deny', '--reason', 'fraud', '--for', '1h']);

    expect(result.code).toBe(1);
    expect(result.err).toContain(
      `override: unknown customer: no applied event has named ${unknown}'s customer`,
    );
  });
});
