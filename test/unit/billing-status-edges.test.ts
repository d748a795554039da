// The billing status at its edges: the default settings, customerAccount, blocksAt only on
// summarised conditions the policy governs, nextChangeAt never a moment that is not after the
// reading time, and what statusDigest says (the same whether listed or summarised).
import { describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_STATUS_SETTINGS,
  statusDigest,
  statusFromRecord,
} from '../../lambdas/core/billing-status';
import type {
  DisputeEntry,
  Entry,
  EntryKind,
  InvoiceEntry,
  MethodEntry,
} from '../../lambdas/core/entries';
import type {
  BillingStatus,
  BlockerReason,
  Condition,
  PaymentMethodStatus,
  PaymentMethodView,
  StatusSummary,
  WarningReason,
} from '../../lambdas/core/facts';
import { parsePolicy } from '../../lambdas/core/policy';
import { expiryInstant } from '../../lambdas/core/rules/payment-method-details';
import { EMPTY_RECORD, entryKey, type StatusRecord } from '../../lambdas/core/status-record';
import { summaryOf } from '../../lambdas/core/summary';

const CUS = 'cus_Edges1';
const DAY = 86_400;
const NOW = 1_800_000_000;

const dispute = (created: number): DisputeEntry => ({
  kind: 'dispute',
  opened: { created, eventId: `evt_${created}` },
});
const overdueInvoice = (created: number): InvoiceEntry => ({
  kind: 'invoice',
  failed: null,
  newestFailure: null,
  uncollectible: null,
  overdue: { created, eventId: `evt_${created}` },
  actionRequired: null,
  paused: false,
});
const card = (expMonth: number, expYear: number): MethodEntry => ({
  kind: 'method',
  type: 'card',
  brand: 'visa',
  last4: '4242',
  expMonth,
  expYear,
  deleted: null,
  announced: null,
});

/** A record listing `listed` (object id, entry) and counting `past` beyond the bound. */
const recordOf = (
  listed: [string, Entry][],
  past: (readonly [EntryKind, string, Entry])[] = [],
): StatusRecord => ({
  ...EMPTY_RECORD,
  entries: new Map(listed.map(([id, e]) => [entryKey(e.kind, id), e])),
  ...(past.length > 0 ? { summary: summaryOf(past, null) } : {}),
});

describe('the default settings', () => {
  it('are the default policy and a 30-day card warning window', async () => {
    // Loaded afresh inside the test, so the settings are built while it runs.
    vi.resetModules();
    const fresh = await import('../../lambdas/core/billing-status');
    const policy = await import('../../lambdas/core/policy');
    expect(fresh.DEFAULT_STATUS_SETTINGS).toEqual({
      policy: policy.DEFAULT_POLICY,
      expiryWarningDays: 30,
    });
    // A card warns from 30 days before its expiry; a dispute blocks by default.
    const expiry = expiryInstant(12, 2030)!;
    const record = recordOf([
      ['card_1', card(12, 2030)],
      ['dp_1', dispute(100)],
    ]);
    const read = (now: number) =>
      fresh.statusFromRecord(CUS, record, now, fresh.DEFAULT_STATUS_SETTINGS);
    const inWindow = read(expiry - 20 * DAY);
    expect(inWindow.canAllocate).toBe(false);
    expect(inWindow.blockers.map((b) => b.reason)).toEqual(['dispute_open']);
    expect(inWindow.warnings).toEqual([
      {
        reason: 'payment_method_expiring',
        objectId: 'card_1',
        since: expiry - 30 * DAY,
        eventId: null,
      },
    ]);
    const before = read(expiry - 31 * DAY);
    expect(before.warnings).toEqual([]);
    expect(before.nextChangeAt).toBe(expiry - 30 * DAY);
  });
});

describe('customerAccount', () => {
  it('shows the Accounts v2 id once the record has learned it, and is absent before', () => {
    const learned: StatusRecord = {
      ...EMPTY_RECORD,
      customerAccount: { account: 'acct_Edges1', created: 100, eventId: 'evt_a' },
    };
    expect(statusFromRecord(CUS, learned, NOW, DEFAULT_STATUS_SETTINGS).customerAccount).toBe(
      'acct_Edges1',
    );
    expect(statusFromRecord(CUS, EMPTY_RECORD, NOW, DEFAULT_STATUS_SETTINGS)).not.toHaveProperty(
      'customerAccount',
    );
  });
});

describe('a summarised condition', () => {
  it('carries blocksAt only when the policy gives its reason a grace', () => {
    const settings = {
      ...DEFAULT_STATUS_SETTINGS,
      policy: parsePolicy({ dispute_open: { action: 'block', grace: '1d' } }),
    };
    const record = recordOf(
      [],
      [
        ['dispute', 'dp_1', dispute(100)],
        ['invoice', 'in_1', overdueInvoice(200)],
      ],
    );
    const s = statusFromRecord(CUS, record, 100 + DAY, settings);
    expect(s.summary).toStrictEqual({
      blockers: [
        { reason: 'dispute_open', count: 1, since: 100, blocksAt: 100 + DAY },
        { reason: 'invoice_overdue', count: 1, since: 200 },
      ],
      warnings: [],
      paymentMethods: { active: 0, expiring: 0, expired: 0, deleted: 0 },
    });
  });
});

describe('nextChangeAt', () => {
  it('names no moment for an override whose expiry is unreadable (a corrupted store)', () => {
    // Only a corrupted store could hold such an expiry (the API writes whole seconds): it is
    // no unix second after the reading time, so it is never the next change.
    const record: StatusRecord = {
      ...EMPTY_RECORD,
      override: {
        id: 'ovr_1',
        mode: 'allow',
        reason: 'garbled',
        setAt: '2026-11-22T10:00:00.000Z',
        expiresAt: Number.NaN,
      },
    };
    expect(statusFromRecord(CUS, record, NOW, DEFAULT_STATUS_SETTINGS).nextChangeAt).toBeNull();
  });
});

describe('statusDigest', () => {
  const base: BillingStatus = {
    customerId: CUS,
    canAllocate: false,
    blockers: [],
    warnings: [],
    paymentMethods: [],
    override: null,
    livemode: false,
    lastEventId: 'evt_last',
    updatedAt: '2026-11-22T10:00:00.000Z',
    nextChangeAt: null,
  };
  const blocker = (
    reason: BlockerReason,
    objectId: string,
    since: number,
  ): Condition<BlockerReason> => ({ reason, objectId, since, eventId: `evt_${objectId}` });
  const warning = (
    reason: WarningReason,
    objectId: string,
    since: number,
  ): Condition<WarningReason> => ({ reason, objectId, since, eventId: `evt_${objectId}` });
  const method = (id: string, status: PaymentMethodStatus): PaymentMethodView => ({
    id,
    type: 'card',
    status,
    brand: 'visa',
    last4: '4242',
    expMonth: 12,
    expYear: 2030,
  });
  const summary = (fields: Partial<StatusSummary>): StatusSummary => ({
    blockers: [],
    warnings: [],
    ...fields,
    paymentMethods: { active: 0, expiring: 0, expired: 0, deleted: 0, ...fields.paymentMethods },
  });
  const status = (fields: Partial<BillingStatus>): BillingStatus => ({ ...base, ...fields });
  const decoded = (s: BillingStatus): unknown[] => JSON.parse(statusDigest(s)) as unknown[];

  it('is the same whichever of the reasons are listed and which counted in the summary', () => {
    const listed = status({
      blockers: [blocker('dispute_open', 'dp_1', 100), blocker('payment_failed', 'in_1', 200)],
    });
    const disputeCounted = status({
      blockers: [blocker('payment_failed', 'in_1', 200)],
      summary: summary({ blockers: [{ reason: 'dispute_open', count: 1, since: 100 }] }),
    });
    const failureCounted = status({
      blockers: [blocker('dispute_open', 'dp_1', 100)],
      summary: summary({ blockers: [{ reason: 'payment_failed', count: 1, since: 200 }] }),
    });
    expect(statusDigest(disputeCounted)).toBe(statusDigest(listed));
    expect(statusDigest(failureCounted)).toBe(statusDigest(listed));
  });

  it('says per reason the count and the earliest since, listed and counted together, by reason', () => {
    const s = status({
      blockers: [
        blocker('payment_failed', 'in_1', 300),
        blocker('dispute_open', 'dp_1', 400),
        blocker('payment_failed', 'pi_1', 500),
      ],
      warnings: [warning('payment_action_required', 'in_2', 50)],
      summary: summary({
        blockers: [
          { reason: 'payment_failed', count: 2, since: 200 },
          { reason: 'invoice_overdue', count: 1, since: 100 },
        ],
      }),
    });
    const parts = decoded(s);
    expect(parts).toContainEqual([
      ['dispute_open', { count: 1, since: 400 }],
      ['invoice_overdue', { count: 1, since: 100 }],
      ['payment_failed', { count: 4, since: 200 }],
    ]);
    expect(parts).toContainEqual([['payment_action_required', { count: 1, since: 50 }]]);
  });

  it('tells apart statuses that differ in how many conditions of a reason they hold', () => {
    const one = status({ blockers: [blocker('payment_failed', 'in_1', 100)] });
    const two = status({
      blockers: [blocker('payment_failed', 'in_1', 100), blocker('payment_failed', 'in_2', 100)],
    });
    expect(statusDigest(two)).not.toBe(statusDigest(one));
  });

  it('tells apart statuses that differ in the earliest since of a reason, and no later one', () => {
    const at = (...sinces: number[]) =>
      status({ blockers: sinces.map((t, i) => blocker('payment_failed', `in_${i}`, t)) });
    expect(statusDigest(at(200))).not.toBe(statusDigest(at(100)));
    expect(statusDigest(at(100, 300))).toBe(statusDigest(at(100, 200)));
  });

  it('counts payment methods by status whether listed or counted in the summary', () => {
    const listed = status({
      paymentMethods: [method('card_1', 'expired'), method('card_2', 'active')],
    });
    const partly = status({
      paymentMethods: [method('card_1', 'expired')],
      summary: summary({ paymentMethods: { active: 1, expiring: 0, expired: 0, deleted: 0 } }),
    });
    const counted = status({
      summary: summary({ paymentMethods: { active: 1, expiring: 0, expired: 1, deleted: 0 } }),
    });
    expect(statusDigest(partly)).toBe(statusDigest(listed));
    expect(statusDigest(counted)).toBe(statusDigest(listed));
    // By status name, only the statuses some method has.
    expect(decoded(listed)).toContainEqual([
      ['active', 1],
      ['expired', 1],
    ]);
  });

  it('adds listed methods of a status to those the summary counts', () => {
    const s = status({
      paymentMethods: [method('card_1', 'active'), method('card_2', 'active')],
      summary: summary({ paymentMethods: { active: 1, expiring: 0, expired: 0, deleted: 2 } }),
    });
    expect(decoded(s)).toContainEqual([
      ['active', 3],
      ['deleted', 2],
    ]);
  });

  it('tells apart statuses whose methods differ in status or number', () => {
    const active = status({ paymentMethods: [method('card_1', 'active')] });
    const expired = status({ paymentMethods: [method('card_1', 'expired')] });
    const twoActive = status({
      paymentMethods: [method('card_1', 'active'), method('card_2', 'active')],
    });
    expect(statusDigest(expired)).not.toBe(statusDigest(active));
    expect(statusDigest(twoActive)).not.toBe(statusDigest(active));
  });

  it('is the same for a status without a summary and one whose summary counts nothing', () => {
    const plain = status({
      blockers: [blocker('dispute_open', 'dp_1', 100)],
      warnings: [warning('payment_action_required', 'in_1', 50)],
      paymentMethods: [method('card_1', 'active')],
    });
    expect(statusDigest({ ...plain, summary: summary({}) })).toBe(statusDigest(plain));
  });

  it('tells apart statuses that differ in customerAccount alone', () => {
    const without = status({});
    expect(statusDigest({ ...without, customerAccount: 'acct_1' })).not.toBe(statusDigest(without));
  });
});
