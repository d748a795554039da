// Pins the customer's Accounts v2 id in the status record (the newest event naming both ids),
// the summary's earliest moments at ties and at the epoch, and the policy and record tables as
// a fresh load of their module builds them.
import { describe, expect, it, vi } from 'vitest';
import { buildEvent } from '../../bin/events/stripe-events';
import type {
  DisputeEntry,
  Entry,
  EntryKind,
  MethodEntry,
  PaymentEntry,
} from '../../lambdas/core/entries';
import type { Opener } from '../../lambdas/core/ordering';
import {
  MAX_GRACE_SECONDS,
  PolicyError,
  parseDuration,
  parsePolicy,
} from '../../lambdas/core/policy';
import { customerChange, deriveRecord } from '../../lambdas/core/status-record';
import {
  EMPTY_SUMMARY,
  summaryOf,
  summaryView,
  type SummaryState,
} from '../../lambdas/core/summary';
import { CUSTOMER, applied, statusOf } from '../support/derive';

const NOW = 1_700_000_000;
const DAY = 86_400;

const op = (created: number, eventId = `evt_${created}`): Opener => ({ created, eventId });
const payment = (...failures: Opener[]): PaymentEntry => ({ kind: 'payment', failures });
const dispute = (opened: Opener): DisputeEntry => ({ kind: 'dispute', opened });
const detached = (deleted: Opener): MethodEntry => ({
  kind: 'method',
  type: 'card',
  brand: 'visa',
  last4: '4242',
  expMonth: null,
  expYear: null,
  deleted,
  announced: null,
});
const row = (objectId: string, entry: Entry): readonly [EntryKind, string, Entry] => [
  entry.kind,
  objectId,
  entry,
];
const state = (fields: Partial<SummaryState>): SummaryState => ({ ...EMPTY_SUMMARY, ...fields });

/** A customer.updated event of the fixture customer naming its Accounts v2 id. */
const namingAccount = (id: string, created: number, account: string) =>
  buildEvent('customer.updated', {
    id,
    created,
    object: { id: CUSTOMER, customer_account: account },
  });

describe('customerAccount: the Accounts v2 id of the newest event naming both ids', () => {
  it('reads the alias of an event naming the customer and its account', () => {
    const fact = applied(namingAccount('evt_1', 100, 'acct_One1'));
    expect(customerChange(fact).account).toEqual({
      account: 'acct_One1',
      created: 100,
      eventId: 'evt_1',
    });
    expect(deriveRecord([fact], [])!.customerAccount?.account).toBe('acct_One1');
    expect(statusOf([namingAccount('evt_1', 100, 'acct_One1')]).customerAccount).toBe('acct_One1');
  });

  it('keeps the account of the event with the greater created, in either order', () => {
    const older = namingAccount('evt_1', 100, 'acct_Old1');
    const newer = namingAccount('evt_2', 200, 'acct_New1');
    expect(statusOf([older, newer]).customerAccount).toBe('acct_New1');
    expect(statusOf([newer, older]).customerAccount).toBe('acct_New1');
    for (const order of [
      [older, newer],
      [newer, older],
    ]) {
      expect(
        deriveRecord(
          order.map((e) => applied(e)),
          [],
        )!.customerAccount,
      ).toEqual({
        account: 'acct_New1',
        created: 200,
        eventId: 'evt_2',
      });
    }
  });

  it('lets the greater created win over a greater event id', () => {
    const older = namingAccount('evt_9', 100, 'acct_Old2');
    const newer = namingAccount('evt_1', 200, 'acct_New2');
    for (const order of [
      [older, newer],
      [newer, older],
    ]) {
      expect(statusOf(order).customerAccount).toBe('acct_New2');
      expect(
        deriveRecord(
          order.map((e) => applied(e)),
          [],
        )!.customerAccount?.account,
      ).toBe('acct_New2');
    }
  });

  it('breaks a tie in created by the greater event id', () => {
    const small = namingAccount('evt_a', 100, 'acct_Small');
    const great = namingAccount('evt_b', 100, 'acct_Great');
    for (const order of [
      [small, great],
      [great, small],
    ]) {
      expect(statusOf(order).customerAccount).toBe('acct_Great');
      expect(
        deriveRecord(
          order.map((e) => applied(e)),
          [],
        )!.customerAccount?.account,
      ).toBe('acct_Great');
    }
  });

  it('keeps the learned account when a later event names no account', () => {
    const plain = buildEvent('customer.updated', {
      id: 'evt_2',
      created: 200,
      object: { id: CUSTOMER },
    });
    const status = statusOf([namingAccount('evt_1', 100, 'acct_Kept'), plain]);
    expect(status.customerAccount).toBe('acct_Kept');
    expect(customerChange(applied(plain)).account).toBeUndefined();
  });
});

describe('summaryOf: the earliest moment of a name', () => {
  it('does not let a later contribution replace an earlier one because its object id is smaller', () => {
    const s = summaryOf(
      [row('dp_b', dispute(op(100, 'evt_1'))), row('dp_a', dispute(op(200, 'evt_2')))],
      null,
    );
    expect(s.earliest.get('dispute_open')).toEqual({
      time: 100,
      eventId: 'evt_1',
      objectId: 'dp_b',
    });
  });

  it('dates failures of one payment at the same second by the smallest event id', () => {
    // A payment entry keeps its failures sorted by created, then event id.
    const s = summaryOf([row('pi_1', payment(op(100, 'evt_a'), op(100, 'evt_b')))], null);
    expect(s.counts.get('pf')).toBe(2);
    expect(s.earliest.get('pf')).toEqual({ time: 100, eventId: 'evt_a', objectId: 'pi_1' });
  });

  it('counts every failure as open when the customer never paid, whatever its time', () => {
    const s = summaryOf([row('pi_1', payment(op(0, 'evt_0')))], null);
    expect(s.earliest.get('pf')).toEqual({ time: 0, eventId: 'evt_0', objectId: 'pi_1' });
  });
});

describe('summaryOf: the latest stop of a deleted method', () => {
  it('keeps the later stop, and at the same second the greater method id, in either order', () => {
    // The same choice as the overflow store's, which reads the stops in key order (time, then
    // method id) from the end.
    const a = row('pm_a', detached(op(100, 'evt_a')));
    const b = row('pm_b', detached(op(100, 'evt_b')));
    const early = row('pm_z', detached(op(50, 'evt_z')));
    for (const entries of [
      [a, b, early],
      [early, b, a],
    ]) {
      expect(summaryOf(entries, null).earliest.get('mstop')).toEqual({
        time: 100,
        eventId: 'evt_b',
        objectId: 'pm_b',
      });
      expect(summaryOf(entries, null).deletedMethods).toBe(3);
    }
  });
});

describe('summaryView at the epoch', () => {
  it('lists a summarised failure when the customer never paid, whatever its time', () => {
    const s = state({
      objects: new Map([['payment', 1]]),
      counts: new Map([['pf', 1]]),
      earliest: new Map([['pf', { time: 0, eventId: 'evt_0', objectId: 'pi_1' }]]),
    });
    const v = summaryView(s, { latestSuccess: null, now: NOW, warningWindow: 30 * DAY });
    expect(v.conditions).toEqual([
      { reason: 'payment_failed', objectId: 'pi_1', since: 0, eventId: 'evt_0', count: 1 },
    ]);
  });

  it('dates the last stop by a summarised method that expired before 1970', () => {
    const instant = Date.UTC(1969, 11, 1) / 1000;
    const s = state({
      objects: new Map([['method', 1]]),
      methodsByInstant: new Map([[instant, 1]]),
    });
    const v = summaryView(s, { latestSuccess: null, now: NOW, warningWindow: 30 * DAY });
    expect(v.methods.expired).toBe(1);
    expect(v.usable).toBe(false);
    expect(v.lastStop).toEqual({ time: instant, eventId: null });
  });
});

describe('parseDuration and grace', () => {
  it('takes no array for a duration, even one holding a valid duration', () => {
    expect(parseDuration(['7d'], MAX_GRACE_SECONDS)).toBeNull();
    expect(parseDuration({ toString: () => '7d' }, MAX_GRACE_SECONDS)).toBeNull();
    expect(() => parsePolicy({ payment_failed: { action: 'block', grace: ['7d'] } })).toThrow(
      PolicyError,
    );
  });
});

// Module-level tables are built when their module loads: each test below loads a fresh copy
// of the module, so that what it reads is what that load built.
describe('a freshly loaded policy module', () => {
  const loadPolicy = async () => {
    vi.resetModules();
    return import('../../lambdas/core/policy');
  };

  it('blocks the rule reasons and warns the others by default, without grace or retries', async () => {
    const { DEFAULT_POLICY, parsePolicy: parse, policyDocument } = await loadPolicy();
    const blocking = [
      'payment_failed',
      'invoice_uncollectible',
      'invoice_overdue',
      'dispute_open',
      'subscription_past_due',
      'subscription_unpaid',
      'subscription_paused',
      'customer_deleted',
    ] as const;
    const warning = [
      'payment_action_required',
      'payment_method_expiring',
      'no_valid_payment_method',
    ] as const;
    expect(Object.keys(DEFAULT_POLICY).sort()).toEqual([...blocking, ...warning].sort());
    for (const r of blocking) {
      expect(DEFAULT_POLICY[r]).toEqual({ action: 'block', grace: null, whileRetrying: false });
    }
    for (const r of warning) {
      expect(DEFAULT_POLICY[r]).toEqual({ action: 'warn', grace: null, whileRetrying: false });
    }
    expect(parse(undefined)).toBe(DEFAULT_POLICY);
    expect(policyDocument(DEFAULT_POLICY)).toEqual({});
  });

  it('accepts every field of an entry and every duration unit, up to 90 days', async () => {
    const { parsePolicy: parse } = await loadPolicy();
    const policy = parse({
      payment_failed: { action: 'block', grace: '90d', whileRetrying: true },
      invoice_overdue: { action: 'block', grace: '2h' },
      subscription_unpaid: { action: 'block', grace: '30m' },
      dispute_open: { action: 'block', grace: '45s' },
      payment_method_expiring: { action: 'ignore' },
    });
    expect(policy.payment_failed).toEqual({
      action: 'block',
      grace: 90 * DAY,
      whileRetrying: true,
    });
    expect(policy.invoice_overdue.grace).toBe(2 * 3_600);
    expect(policy.subscription_unpaid.grace).toBe(30 * 60);
    expect(policy.dispute_open.grace).toBe(45);
    expect(policy.payment_method_expiring).toEqual({
      action: 'ignore',
      grace: null,
      whileRetrying: false,
    });
    expect(policy.customer_deleted.action).toBe('block');
  });

  it('refuses a grace past 90 days', async () => {
    const policy = await loadPolicy();
    expect(policy.MAX_GRACE_SECONDS).toBe(90 * DAY);
    expect(() =>
      policy.parsePolicy({ payment_failed: { action: 'block', grace: 90 * DAY + 1 } }),
    ).toThrow(policy.PolicyError);
  });
});

describe('a freshly loaded status record module', () => {
  const loadRecord = async () => {
    vi.resetModules();
    return import('../../lambdas/core/status-record');
  };

  it('starts from a record with nothing committed', async () => {
    const { EMPTY_RECORD } = await loadRecord();
    const { statusFromRecord, DEFAULT_STATUS_SETTINGS } =
      await import('../../lambdas/core/billing-status');
    expect(statusFromRecord(CUSTOMER, EMPTY_RECORD, NOW, DEFAULT_STATUS_SETTINGS)).toEqual({
      customerId: CUSTOMER,
      canAllocate: true,
      blockers: [],
      warnings: [],
      paymentMethods: [],
      override: null,
      livemode: false,
      lastEventId: null,
      updatedAt: '',
      nextChangeAt: null,
    });
  });

  it('derives a record with no success, deletion, override or account from a lone failure', async () => {
    const { deriveRecord: derive } = await loadRecord();
    const failure = applied(
      buildEvent('payment_intent.payment_failed', {
        id: 'evt_f',
        created: 100,
        object: { id: 'pi_1' },
      }),
    );
    const record = derive([failure], [])!;
    expect(record.latestSuccess).toBeNull();
    expect(record.deleted).toBeNull();
    expect(record.override).toBeNull();
    expect(record.customerAccount).toBeNull();
    expect(record.lastCommit?.id).toBe('evt_f');
  });

  it('keeps the latest successful payment, which supersedes the failures before it', async () => {
    const { deriveRecord: derive } = await loadRecord();
    const { statusFromRecord, DEFAULT_STATUS_SETTINGS } =
      await import('../../lambdas/core/billing-status');
    const event = (type: string, id: string, created: number, pi: string) =>
      applied(buildEvent(type, { id, created, object: { id: pi } }));
    const record = derive(
      [
        event('payment_intent.payment_failed', 'evt_f', 150, 'pi_1'),
        event('payment_intent.succeeded', 'evt_s2', 200, 'pi_2'),
        event('payment_intent.succeeded', 'evt_s1', 120, 'pi_3'),
      ],
      [],
    )!;
    expect(record.latestSuccess).toBe(200);
    const status = statusFromRecord(CUSTOMER, record, NOW, DEFAULT_STATUS_SETTINGS);
    expect(status.blockers).toEqual([]);
    expect(status.canAllocate).toBe(true);
  });
});

describe('a freshly loaded summary module', () => {
  const loadSummary = async () => {
    vi.resetModules();
    return import('../../lambdas/core/summary');
  };

  it('has an empty summary that holds nothing and yields nothing', async () => {
    const summary = await loadSummary();
    expect(summary.hasSummary(summary.EMPTY_SUMMARY)).toBe(false);
    expect(
      summary.summaryView(summary.EMPTY_SUMMARY, {
        latestSuccess: null,
        now: NOW,
        warningWindow: 30 * DAY,
      }),
    ).toEqual({
      conditions: [],
      methods: { active: 0, expiring: 0, expired: 0, deleted: 0 },
      usable: false,
      lastStop: null,
      changesAt: [],
    });
  });

  it('dates each contribution by the created and event of what opened it', async () => {
    const { contributionsOf } = await loadSummary();
    expect(contributionsOf(dispute(op(100, 'evt_d')))).toEqual([
      { name: 'dispute_open', time: 100, eventId: 'evt_d' },
    ]);
    expect(contributionsOf(payment(op(10, 'evt_a'), op(20, 'evt_b')))).toEqual([
      { name: 'pf', time: 10, eventId: 'evt_a' },
      { name: 'pf', time: 20, eventId: 'evt_b' },
    ]);
  });

  it('counts an entry as a live object past the bound, and no entry as none', async () => {
    const { isLive } = await loadSummary();
    expect(isLive(dispute(op(100)))).toBe(true);
    expect(isLive(payment(op(10)))).toBe(true);
    expect(isLive(null)).toBe(false);
  });
});
