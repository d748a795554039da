// The pure parts of `npm run status` and `npm run override`: what their command lines ask
// for (modes, ids, --limit, --for and --until), and how a status, a listing of customers by
// state and the parked events are rendered. The reads themselves run on DynamoDB Local in
// test/integration/status-override-commands.test.ts.
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../bin/ops/command';
import { formatUnix } from '../../bin/ops/table';
import { changeOf, command as overrideCommand, durationArg, untilArg } from '../../bin/override';
import {
  command as statusCommand,
  formatOverride,
  renderListing,
  renderParked,
  renderReport,
  requestOf,
  type CustomerReport,
} from '../../bin/status';
import type { BillingStatus } from '../../lambdas/core/facts';
import { MAX_OVERRIDE_SECONDS } from '../../lambdas/status-api/make-status-api';
import { capture } from '../support/stripe-commands';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const NOW_S = NOW.getTime() / 1000;

const statusArgs = (...argv: string[]) => parseCommandLine(statusCommand.def, argv).args;
const overrideArgs = (...argv: string[]) => parseCommandLine(overrideCommand.def, argv).args;

/** Runs a command that must stop at its arguments: it may not reach any stack. */
async function refused(command: typeof statusCommand | typeof overrideCommand, argv: string[]) {
  const out = capture();
  let connected = false;
  const code = await command.run([...argv, '--local'], {
    ...out.io,
    now: () => NOW,
    connect: async () => {
      connected = true;
      throw new Error('must not connect');
    },
  });
  return { code, connected, err: out.err.join('\n') };
}

describe('npm run status: what the command line asks for', () => {
  it('a customer id or an Accounts v2 id reads that customer, 20 events by default', () => {
    expect(requestOf(statusArgs('cus_Abc1'))).toEqual({
      kind: 'customer',
      id: 'cus_Abc1',
      limit: 20,
    });
    expect(requestOf(statusArgs('acct_Abc1', '--limit', '0'))).toEqual({
      kind: 'customer',
      id: 'acct_Abc1',
      limit: 0,
    });
  });

  it.each(['blocked', 'grace', 'warned'] as const)(
    '--%s lists that state, every customer unless --limit says otherwise',
    (state) => {
      expect(requestOf(statusArgs(`--${state}`))).toEqual({ kind: 'list', state, limit: 0 });
      expect(requestOf(statusArgs(`--${state}`, '--limit', '5', '--json'))).toEqual({
        kind: 'list',
        state,
        limit: 5,
      });
    },
  );

  it.each([
    [
      ['--blocked', '--grace'],
      'give one of --blocked, --grace, --warned or --parked, not --blocked and --grace',
    ],
    [['--warned', '--parked'], 'not --warned and --parked'],
    [
      ['cus_Abc1', '--blocked'],
      '--blocked lists every blocked customer: give no customer id with it',
    ],
    [
      ['acct_Abc1', '--grace'],
      '--grace lists every customer in grace: give no customer id with it',
    ],
    [['cus_Abc1', '--parked'], '--parked lists every parked event: give no customer id with it'],
    [['--parked', '--limit', '3'], '--limit is not for --parked'],
    [['sub_123'], '"sub_123" is not a customer id: expected cus_ (or an Accounts v2 acct_)'],
    [['acct_'], '"acct_" is not a customer id'],
    [[], 'a customer id is required (cus_... or acct_...)'],
  ])('refuses %j with exit 2, reading nothing', async (argv, message) => {
    const result = await refused(statusCommand, argv);

    expect(result.code).toBe(2);
    expect(result.err).toContain(message);
    expect(result.connected).toBe(false);
  });
});

describe('npm run override: --for and --until', () => {
  it('--for takes the durations the policy takes, up to the longest override', () => {
    expect(durationArg('90m')).toBe('90m');
    expect(durationArg('12h')).toBe('12h');
    expect(durationArg(`${MAX_OVERRIDE_SECONDS / 86_400}d`)).toBe('365d');
    expect(() => durationArg('366d')).toThrow('--for must be at most 365 days');
    expect(() => durationArg(`${MAX_OVERRIDE_SECONDS + 1}s`)).toThrow('at most 365 days');
    expect(() => durationArg('0h')).toThrow('--for must be more than 0');
    expect(() => durationArg('7 days')).toThrow('--for must be digits followed by s, m, h or d');
    expect(() => durationArg('90')).toThrow('--for must be digits followed by s, m, h or d');
  });

  it('--until takes an ISO time with its offset, or a date at midnight UTC, as unix seconds', () => {
    expect(untilArg('2026-06-02T09:30:00Z', NOW)).toBe(Date.parse('2026-06-02T09:30:00Z') / 1000);
    expect(untilArg('2026-06-02T09:30:00+02:00', NOW)).toBe(
      Date.parse('2026-06-02T07:30:00Z') / 1000,
    );
    expect(untilArg('2026-07-01', NOW)).toBe(Date.parse('2026-07-01T00:00:00Z') / 1000);
    // A fraction of a second rounds up: the override lasts at least until the time given.
    expect(untilArg('2026-06-02T09:30:00.250Z', NOW)).toBe(
      Date.parse('2026-06-02T09:30:01Z') / 1000,
    );
  });

  it.each([
    ['2026-06-01T11:59:59Z', 'is not in the future'],
    [NOW.toISOString(), 'is not in the future'],
    ['2027-06-02T12:00:00Z', 'is more than 365 days ahead'],
    ['2026-02-30', 'must be an ISO 8601 time'],
    ['2026-06-02T09:30:00', 'must be an ISO 8601 time'],
    ['tomorrow', 'must be an ISO 8601 time'],
  ])('--until %s is refused: %s', (value, message) => {
    expect(() => untilArg(value, NOW)).toThrow(message);
  });

  it('a set carries its expiry as the status API takes it; a clear carries none', () => {
    expect(
      changeOf(overrideArgs('cus_A1', '--allow', '--reason', 'wire', '--for', '7d'), NOW),
    ).toEqual({
      mode: 'allow',
      reason: 'wire',
      expiresIn: '7d',
    });
    expect(
      changeOf(overrideArgs('cus_A1', '--deny', '--reason', 'fraud', '--until', '2026-06-03'), NOW),
    ).toEqual({ mode: 'deny', reason: 'fraud', expiresAt: Date.parse('2026-06-03') / 1000 });
    expect(changeOf(overrideArgs('cus_A1', '--deny', '--reason', 'fraud'), NOW)).toEqual({
      mode: 'deny',
      reason: 'fraud',
    });
    expect(changeOf(overrideArgs('cus_A1', '--clear'), NOW)).toBeNull();
  });

  it.each([
    [
      ['--allow', '--reason', 'x', '--for', '1d', '--until', '2026-06-03'],
      'give --for or --until, not both',
    ],
    [['--clear', '--for', '1d'], '--clear takes no --for or --until'],
    [['--allow', '--reason', 'x', '--for', '400d'], '--for must be at most 365 days'],
    [['--deny', '--reason', 'x', '--until', '2020-01-01'], 'is not in the future'],
    [['--allow', '--for', '1d'], '--allow needs --reason'],
  ])('refuses %j with exit 2, writing nothing', async (argv, message) => {
    const result = await refused(overrideCommand, ['cus_Abc1', ...argv]);

    expect(result.code).toBe(2);
    expect(result.err).toContain(message);
    expect(result.connected).toBe(false);
  });

  it('takes an Accounts v2 id, and refuses other ids', async () => {
    expect((await refused(overrideCommand, ['acct_Abc1', '--clear', '--for', '1d'])).err).toContain(
      '--clear takes no --for',
    );
    const other = await refused(overrideCommand, ['sub_Abc1', '--clear']);
    expect(other.code).toBe(2);
    expect(other.err).toContain('"sub_Abc1" is not a customer id');
  });
});

function status(over: Partial<BillingStatus> = {}): BillingStatus {
  return {
    customerId: 'cus_Render1',
    canAllocate: true,
    blockers: [],
    warnings: [],
    paymentMethods: [],
    override: null,
    livemode: false,
    lastEventId: 'evt_1',
    updatedAt: '2026-06-01T11:00:00.000Z',
    nextChangeAt: null,
    ...over,
  };
}

const report = (s: BillingStatus): CustomerReport => ({ status: s, events: [], totalEvents: 0 });
const lineOf = (lines: string[], start: string) => lines.find((l) => l.startsWith(start));

describe('the status as a table', () => {
  it("shows the next change, each condition's blocksAt and the override's expiry", () => {
    const lines = renderReport(
      report(
        status({
          customerAccount: 'acct_Render1',
          canAllocate: true,
          warnings: [
            {
              reason: 'payment_failed',
              objectId: 'in_grace1',
              since: NOW_S - 86_400,
              eventId: 'evt_f1',
              blocksAt: NOW_S + 6 * 86_400,
            },
            {
              reason: 'payment_failed',
              objectId: 'in_retry1',
              since: NOW_S - 3_600,
              eventId: 'evt_f2',
              blocksAt: null,
            },
            {
              reason: 'payment_action_required',
              objectId: 'in_sca1',
              since: NOW_S - 60,
              eventId: 'evt_a1',
            },
          ],
          override: {
            mode: 'allow',
            reason: 'wire',
            setAt: '2026-06-01T10:00:00.000Z',
            expiresAt: NOW_S + 5_400,
          },
          nextChangeAt: NOW_S + 5_400,
        }),
      ),
    );

    expect(lineOf(lines, 'account')).toBe('account       acct_Render1');
    expect(lineOf(lines, 'next change')).toBe(`next change   ${formatUnix(NOW_S + 5_400)}`);
    expect(lineOf(lines, 'override')).toBe(
      `override      allow, "wire" (set 2026-06-01T10:00:00.000Z, expires ${formatUnix(NOW_S + 5_400)})`,
    );
    const header = lines.find((l) => l.includes('BLOCKS AT'))!;
    expect(header).toMatch(/^ {2}REASON\s+OBJECT\s+SINCE\s+BLOCKS AT\s+EVENT$/);
    const column = header.indexOf('BLOCKS AT');
    const cell = (objectId: string) =>
      lines
        .find((l) => l.includes(objectId))!
        .slice(column)
        .split(/\s{2,}/)[0];
    expect(cell('in_grace1')).toBe(formatUnix(NOW_S + 6 * 86_400));
    expect(cell('in_retry1')).toBe('after the retries');
    expect(cell('in_sca1')).toBe('-');
  });

  it('says none for a status that changes only with an event, and an override without expiry', () => {
    const lines = renderReport(
      report(
        status({
          override: { mode: 'deny', reason: 'fraud', setAt: 'T', expiresAt: null },
        }),
      ),
    );

    expect(lineOf(lines, 'next change')).toBe('next change   none');
    expect(lineOf(lines, 'override')).toBe('override      deny, "fraud" (set T, no expiry)');
    expect(lineOf(lines, 'account')).toBeUndefined();
    expect(formatOverride(null)).toBe('none');
  });
});

describe('the listing as a table', () => {
  const entries = [
    {
      customerId: 'cus_Near1',
      canAllocate: true,
      conditions: [
        { reason: 'payment_failed', objectId: 'in_n1', since: NOW_S, blocksAt: NOW_S + 3_600 },
        { reason: 'payment_action_required', objectId: 'in_n2', since: NOW_S, blocksAt: null },
      ],
    },
    { customerId: 'cus_Bare1', canAllocate: true, conditions: [] },
  ];

  it('gives one row per condition with its customer, then the count', () => {
    const lines = renderListing('grace', { entries, more: false });

    expect(lines[0]).toMatch(/^CUSTOMER\s+CAN ALLOCATE\s+REASON\s+OBJECT\s+SINCE\s+BLOCKS AT$/);
    expect(lines.slice(1, -1).map((l) => l.split(/\s{2,}/))).toEqual([
      [
        'cus_Near1',
        'true',
        'payment_failed',
        'in_n1',
        formatUnix(NOW_S),
        formatUnix(NOW_S + 3_600),
      ],
      ['cus_Near1', 'true', 'payment_action_required', 'in_n2', formatUnix(NOW_S), '-'],
      ['cus_Bare1', 'true', '-', '-', '-', '-'],
    ]);
    expect(lines.at(-1)).toBe('2 customers in grace');
  });

  it('counts in the words of each state, and says when the limit left some out', () => {
    expect(renderListing('blocked', { entries: [], more: false })).toEqual(['0 blocked customers']);
    expect(renderListing('warned', { entries: entries.slice(0, 1), more: true }).at(-1)).toBe(
      '1 warned customer shown; there are more: --limit 0 lists them all',
    );
  });
});

describe('the parked events as a table', () => {
  it('shows the Accounts v2 id an event waits on', () => {
    const fact = {
      eventId: 'evt_p1',
      type: 'invoice.payment_failed',
      created: NOW_S,
      livemode: false,
      objectId: 'in_p1',
      data: {},
    };
    const lines = renderParked(
      [
        {
          eventId: 'evt_p1',
          type: fact.type,
          fact,
          keys: ['acct_Wait1'],
          chargeId: null,
          accountId: 'acct_Wait1',
          parkedAt: NOW.getTime() - 90_000,
        },
        {
          eventId: 'evt_p2',
          type: 'charge.dispute.created',
          fact,
          keys: ['ch_1', 'pi_1'],
          chargeId: 'ch_1',
          parkedAt: NOW.getTime(),
        },
      ],
      NOW,
    );

    expect(lines[0]).toMatch(/^EVENT\s+TYPE\s+WAITING FOR\s+ACCOUNT\s+AGE\s+PARKED AT$/);
    expect(lines[1]!.split(/\s{2,}/).slice(0, 5)).toEqual([
      'evt_p1',
      'invoice.payment_failed',
      'acct_Wait1',
      'acct_Wait1',
      '1m',
    ]);
    expect(lines[2]!.split(/\s{2,}/).slice(0, 4)).toEqual([
      'evt_p2',
      'charge.dispute.created',
      'ch_1, pi_1',
      '-',
    ]);
    expect(lines.at(-1)).toBe('2 parked events');
  });
});
