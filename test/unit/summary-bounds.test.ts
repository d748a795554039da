// The summary of entries past the status item's bound, at every branch and boundary:
// what each entry contributes, how the contributions are counted (summaryOf), what they say
// at reading time (summaryView) and how a status shows them (`summary`).
// docs/behaviour.md#hostile-and-busy-customers, "What a summarised status says".
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_STATUS_SETTINGS,
  statusFromRecord,
  type StatusSettings,
} from '../../lambdas/core/billing-status';
import type {
  DisputeEntry,
  Entry,
  EntryKind,
  InvoiceEntry,
  MethodEntry,
  PaymentEntry,
  SubscriptionEntry,
} from '../../lambdas/core/entries';
import type { Opener } from '../../lambdas/core/ordering';
import { parsePolicy } from '../../lambdas/core/policy';
import { expiryInstant } from '../../lambdas/core/rules/payment-method-details';
import { EMPTY_RECORD, entryKey, type StatusRecord } from '../../lambdas/core/status-record';
import {
  EMPTY_SUMMARY,
  contributionsOf,
  hasSummary,
  methodBucket,
  summaryOf,
  summaryView,
  type ContributionName,
  type SummaryState,
} from '../../lambdas/core/summary';

const CUS = 'cus_Summary1';
const DAY = 86_400;

const op = (created: number, eventId = `evt_${created}`): Opener => ({ created, eventId });
const payment = (...failures: Opener[]): PaymentEntry => ({ kind: 'payment', failures });
const invoice = (fields: Partial<Omit<InvoiceEntry, 'kind'>>): InvoiceEntry => ({
  kind: 'invoice',
  failed: null,
  newestFailure: null,
  uncollectible: null,
  overdue: null,
  actionRequired: null,
  paused: false,
  ...fields,
});
const failedInvoice = (failed: Opener, retrying: boolean, newest: Opener = failed) =>
  invoice({ failed, newestFailure: { at: newest, retrying } });
const dispute = (opened: Opener): DisputeEntry => ({ kind: 'dispute', opened });
const subscription = (reason: SubscriptionEntry['reason'], since: Opener): SubscriptionEntry => ({
  kind: 'subscription',
  reason,
  since,
});
const method = (fields: Partial<Omit<MethodEntry, 'kind'>> = {}): MethodEntry => ({
  kind: 'method',
  type: 'card',
  brand: 'visa',
  last4: '4242',
  expMonth: null,
  expYear: null,
  deleted: null,
  announced: null,
  ...fields,
});

type Row = readonly [EntryKind, string, Entry];
const row = (objectId: string, entry: Entry): Row => [entry.kind, objectId, entry];

/** A summary state written out by hand (as the incremental path keeps one). */
const state = (fields: Partial<SummaryState>): SummaryState => ({ ...EMPTY_SUMMARY, ...fields });

// December 2026 cards: valid until 2027-01-01T00:00:00Z.
const DEC_2026 = expiryInstant(12, 2026)!;

describe('contributionsOf: what one entry past the bound contributes', () => {
  it('contributes nothing for no entry', () => {
    expect(contributionsOf(null)).toEqual([]);
  });

  it('contributes one `pf` per failure of a payment, with its moment and event', () => {
    expect(contributionsOf(payment(op(100, 'evt_a'), op(200, 'evt_b')))).toEqual([
      { name: 'pf', time: 100, eventId: 'evt_a' },
      { name: 'pf', time: 200, eventId: 'evt_b' },
    ]);
  });

  it('contributes an invoice failure Stripe still retries as payment_failed alone', () => {
    expect(contributionsOf(failedInvoice(op(100, 'evt_f'), true, op(300, 'evt_n')))).toEqual([
      { name: 'payment_failed', time: 100, eventId: 'evt_f' },
    ]);
  });

  it('adds `gu`, the newest failure, once Stripe gave up retrying', () => {
    expect(contributionsOf(failedInvoice(op(100, 'evt_f'), false, op(300, 'evt_n')))).toEqual([
      { name: 'payment_failed', time: 100, eventId: 'evt_f' },
      { name: 'gu', time: 300, eventId: 'evt_n' },
    ]);
  });

  it('contributes overdue and action required beside the failure', () => {
    const entry = invoice({
      failed: op(100),
      newestFailure: { at: op(100), retrying: true },
      overdue: op(150, 'evt_o'),
      actionRequired: op(170, 'evt_r'),
    });
    expect(contributionsOf(entry)).toEqual([
      { name: 'payment_failed', time: 100, eventId: 'evt_100' },
      { name: 'invoice_overdue', time: 150, eventId: 'evt_o' },
      { name: 'payment_action_required', time: 170, eventId: 'evt_r' },
    ]);
  });

  it('contributes an overdue invoice that never failed as invoice_overdue alone', () => {
    expect(contributionsOf(invoice({ overdue: op(150, 'evt_o') }))).toEqual([
      { name: 'invoice_overdue', time: 150, eventId: 'evt_o' },
    ]);
  });

  it('contributes no failure, give-up or overdue while collection is paused, but still the action', () => {
    const entry = invoice({
      failed: op(100),
      newestFailure: { at: op(120), retrying: false },
      overdue: op(150),
      actionRequired: op(170, 'evt_r'),
      paused: true,
    });
    expect(contributionsOf(entry)).toEqual([
      { name: 'payment_action_required', time: 170, eventId: 'evt_r' },
    ]);
    expect(contributionsOf(invoice({ failed: op(100), paused: true }))).toEqual([]);
  });

  it.each([
    ['the failure is earlier', op(100, 'evt_f'), op(200, 'evt_u'), 100, 'evt_f'],
    ['the uncollectible is earlier', op(300, 'evt_f'), op(200, 'evt_u'), 200, 'evt_u'],
  ])(
    'replaces failure, give-up and overdue by invoice_uncollectible when %s',
    (_, failed, uncollectible, time, eventId) => {
      const entry = invoice({
        failed,
        newestFailure: { at: failed, retrying: false },
        uncollectible,
        overdue: op(50),
        actionRequired: op(400, 'evt_r'),
      });
      expect(contributionsOf(entry)).toEqual([
        { name: 'invoice_uncollectible', time, eventId },
        { name: 'payment_action_required', time: 400, eventId: 'evt_r' },
      ]);
    },
  );

  it('contributes an uncollectible invoice that never failed from its marking', () => {
    expect(contributionsOf(invoice({ uncollectible: op(200, 'evt_u') }))).toEqual([
      { name: 'invoice_uncollectible', time: 200, eventId: 'evt_u' },
    ]);
  });

  it('contributes an open dispute as dispute_open', () => {
    expect(contributionsOf(dispute(op(100, 'evt_d')))).toEqual([
      { name: 'dispute_open', time: 100, eventId: 'evt_d' },
    ]);
  });

  it.each(['subscription_past_due', 'subscription_unpaid', 'subscription_paused'] as const)(
    'contributes a subscription as its reason %s',
    (reason) => {
      expect(contributionsOf(subscription(reason, op(100, 'evt_s')))).toEqual([
        { name: reason, time: 100, eventId: 'evt_s' },
      ]);
    },
  );

  it('contributes nothing for a method that is not deleted, even an expired one', () => {
    expect(contributionsOf(method({ expMonth: 1, expYear: 2000 }))).toEqual([]);
  });

  it.each([
    ['without an expiry, its deletion', null, null, 500, { time: 500, eventId: 'evt_del' }],
    ['deleted before its expiry, its deletion', 12, 2026, DEC_2026 - 1, null],
    ['deleted at its expiry instant, its deletion (an event)', 12, 2026, DEC_2026, null],
    [
      'deleted after its expiry, its expiry',
      12,
      2026,
      DEC_2026 + 1,
      { time: DEC_2026, eventId: null },
    ],
  ])('dates `mstop` of a deleted method %s', (_, expMonth, expYear, deletedAt, expected) => {
    const entry = method({ expMonth, expYear, deleted: op(deletedAt, 'evt_del') });
    expect(contributionsOf(entry)).toEqual([
      { name: 'mstop', ...(expected ?? { time: deletedAt, eventId: 'evt_del' }) },
    ]);
  });
});

describe('methodBucket: where a summarised method stands', () => {
  it('has no bucket for no entry, another kind or a deleted method', () => {
    expect(methodBucket(null)).toBeNull();
    expect(methodBucket(dispute(op(1)))).toBeNull();
    expect(methodBucket(method({ expMonth: 12, expYear: 2026, deleted: op(5) }))).toBeNull();
  });

  it('buckets a method by its expiry instant, 0 without one', () => {
    expect(methodBucket(method({ expMonth: 12, expYear: 2026 }))).toEqual({
      instant: DEC_2026,
      announced: false,
    });
    expect(methodBucket(method())).toEqual({ instant: 0, announced: false });
    expect(methodBucket(method({ expMonth: 13, expYear: 2026 }))).toEqual({
      instant: 0,
      announced: false,
    });
  });

  it('marks a method an expiring announcement named', () => {
    expect(methodBucket(method({ expMonth: 12, expYear: 2026, announced: op(9) }))).toEqual({
      instant: DEC_2026,
      announced: true,
    });
  });
});

describe('hasSummary', () => {
  it('is false without a summary, or with nothing counted', () => {
    expect(hasSummary(undefined)).toBe(false);
    expect(hasSummary(EMPTY_SUMMARY)).toBe(false);
    expect(hasSummary(state({ objects: new Map([['payment', 0]]) }))).toBe(false);
  });

  it('is true with a live object or a deleted method past the bound', () => {
    expect(hasSummary(state({ objects: new Map([['dispute', 1]]) }))).toBe(true);
    expect(
      hasSummary(
        state({
          objects: new Map([
            ['payment', 0],
            ['invoice', 2],
          ]),
        }),
      ),
    ).toBe(true);
    expect(hasSummary(state({ deletedMethods: 1 }))).toBe(true);
  });
});

describe('summaryOf: counts and earliest moments of the entries past the bound', () => {
  it('counts live objects per kind, methods without a contribution included', () => {
    const s = summaryOf(
      [
        row('pi_1', payment(op(10))),
        row('pi_2', payment(op(20))),
        row('pm_1', method()),
        row('dp_1', dispute(op(30))),
      ],
      null,
    );
    expect(Object.fromEntries(s.objects)).toEqual({ payment: 2, method: 1, dispute: 1 });
  });

  it('counts every failure under `pf`, and dates it from the earliest one after the latest success', () => {
    const rows = [
      row('pi_1', payment(op(300, 'evt_c'))),
      row('pi_2', payment(op(100, 'evt_a'), op(200, 'evt_b'))),
    ];
    const none = summaryOf(rows, null);
    expect(none.counts.get('pf')).toBe(3);
    expect(none.earliest.get('pf')).toEqual({ time: 100, eventId: 'evt_a', objectId: 'pi_2' });
    // A success at a failure's own `created` supersedes it.
    const atB = summaryOf(rows, 200);
    expect(atB.counts.get('pf')).toBe(3);
    expect(atB.earliest.get('pf')).toEqual({ time: 300, eventId: 'evt_c', objectId: 'pi_1' });
    const beforeB = summaryOf(rows, 199);
    expect(beforeB.earliest.get('pf')).toEqual({ time: 200, eventId: 'evt_b', objectId: 'pi_2' });
    expect(summaryOf(rows, 300).earliest.has('pf')).toBe(false);
  });

  it('does not let the latest success touch the earliest of other names', () => {
    const s = summaryOf([row('dp_1', dispute(op(100, 'evt_d')))], 500);
    expect(s.earliest.get('dispute_open')).toEqual({
      time: 100,
      eventId: 'evt_d',
      objectId: 'dp_1',
    });
  });

  it.each([false, true])(
    'keeps the earliest per name whatever the order (reversed: %s), ties to the smaller object id',
    (reversed) => {
      const rows = [
        row('dp_b', dispute(op(200, 'evt_1'))),
        row('dp_c', dispute(op(100, 'evt_2'))),
        row('dp_a', dispute(op(200, 'evt_3'))),
        row('dp_0', dispute(op(100, 'evt_4'))),
      ];
      const s = summaryOf(reversed ? rows.slice().reverse() : rows, null);
      expect(s.counts.get('dispute_open')).toBe(4);
      expect(s.earliest.get('dispute_open')).toEqual({
        time: 100,
        eventId: 'evt_4',
        objectId: 'dp_0',
      });
    },
  );

  it.each([false, true])(
    'keeps the latest `mstop` whatever the order (reversed: %s)',
    (reversed) => {
      const rows = [
        row('pm_1', method({ deleted: op(300, 'evt_x') })),
        row('pm_2', method({ deleted: op(500, 'evt_y') })),
        row('pm_3', method({ deleted: op(400, 'evt_z') })),
      ];
      const s = summaryOf(reversed ? rows.slice().reverse() : rows, null);
      expect(s.counts.get('mstop')).toBe(3);
      expect(s.earliest.get('mstop')).toEqual({ time: 500, eventId: 'evt_y', objectId: 'pm_2' });
      expect(s.deletedMethods).toBe(3);
      expect(s.methodsByInstant.size).toBe(0);
    },
  );

  it('counts conditions per reason and remembers the earliest with its object and event', () => {
    const s = summaryOf(
      [
        row('in_1', failedInvoice(op(400, 'evt_f1'), true)),
        row('in_2', failedInvoice(op(300, 'evt_f2'), false, op(350, 'evt_g2'))),
        row('in_3', invoice({ overdue: op(250, 'evt_o3') })),
        row('sub_1', subscription('subscription_unpaid', op(120, 'evt_s1'))),
      ],
      null,
    );
    const counts: Partial<Record<ContributionName, number>> = Object.fromEntries(s.counts);
    expect(counts).toEqual({
      payment_failed: 2,
      gu: 1,
      invoice_overdue: 1,
      subscription_unpaid: 1,
    });
    expect(s.earliest.get('payment_failed')).toEqual({
      time: 300,
      eventId: 'evt_f2',
      objectId: 'in_2',
    });
    expect(s.earliest.get('gu')).toEqual({ time: 350, eventId: 'evt_g2', objectId: 'in_2' });
    expect(s.earliest.get('subscription_unpaid')?.objectId).toBe('sub_1');
  });

  it('counts methods by expiry instant and announced ones, deleted ones apart', () => {
    const s = summaryOf(
      [
        row('pm_1', method({ expMonth: 12, expYear: 2026 })),
        row('pm_2', method({ expMonth: 12, expYear: 2026, announced: op(5) })),
        row('pm_3', method()),
        row('pm_4', method({ expMonth: 12, expYear: 2026, announced: op(6), deleted: op(7) })),
      ],
      null,
    );
    expect(Object.fromEntries(s.methodsByInstant)).toEqual({ [DEC_2026]: 2, 0: 1 });
    expect(Object.fromEntries(s.announcedByInstant)).toEqual({ [DEC_2026]: 1 });
    expect(s.deletedMethods).toBe(1);
    expect(s.objects.get('method')).toBe(4);
  });

  it('is empty for no entries', () => {
    const s = summaryOf([], null);
    expect([s.objects.size, s.counts.size, s.earliest.size, s.deletedMethods]).toEqual([
      0, 0, 0, 0,
    ]);
  });
});

const view = (s: SummaryState, now: number, latestSuccess: number | null = null, window = 100) =>
  summaryView(s, { latestSuccess, now, warningWindow: window });
const byReason = <T extends { reason: string }>(list: T[]) =>
  list.slice().sort((a, b) => (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0));

describe('summaryView: the summarised conditions at reading time', () => {
  it('yields one condition per counted reason: count, earliest since, object and event', () => {
    const s = summaryOf(
      [
        row('in_1', invoice({ uncollectible: op(90, 'evt_u') })),
        row('in_2', invoice({ overdue: op(80, 'evt_o'), actionRequired: op(85, 'evt_r') })),
        row('dp_1', dispute(op(70, 'evt_d1'))),
        row('dp_2', dispute(op(75, 'evt_d2'))),
        row('sub_1', subscription('subscription_past_due', op(60, 'evt_s1'))),
        row('sub_2', subscription('subscription_paused', op(65, 'evt_s2'))),
      ],
      null,
    );
    expect(byReason(view(s, 1_000).conditions)).toEqual([
      { reason: 'dispute_open', objectId: 'dp_1', since: 70, eventId: 'evt_d1', count: 2 },
      { reason: 'invoice_overdue', objectId: 'in_2', since: 80, eventId: 'evt_o', count: 1 },
      { reason: 'invoice_uncollectible', objectId: 'in_1', since: 90, eventId: 'evt_u', count: 1 },
      {
        reason: 'payment_action_required',
        objectId: 'in_2',
        since: 85,
        eventId: 'evt_r',
        count: 1,
      },
      {
        reason: 'subscription_past_due',
        objectId: 'sub_1',
        since: 60,
        eventId: 'evt_s1',
        count: 1,
      },
      { reason: 'subscription_paused', objectId: 'sub_2', since: 65, eventId: 'evt_s2', count: 1 },
    ]);
  });

  it('says an invoice payment_failed is retried while no invoice gave up', () => {
    const s = summaryOf([row('in_1', failedInvoice(op(100, 'evt_f'), true))], null);
    expect(view(s, 1_000).conditions).toEqual([
      {
        reason: 'payment_failed',
        objectId: 'in_1',
        since: 100,
        eventId: 'evt_f',
        count: 1,
        retry: { retrying: true, gaveUpAt: null },
      },
    ]);
  });

  it('says it was given up at the earliest give-up once one invoice gave up', () => {
    const s = summaryOf(
      [
        row('in_1', failedInvoice(op(100), true)),
        row('in_2', failedInvoice(op(150), false, op(400))),
        row('in_3', failedInvoice(op(200), false, op(300))),
      ],
      null,
    );
    expect(view(s, 1_000).conditions).toEqual([
      expect.objectContaining({
        reason: 'payment_failed',
        since: 100,
        count: 3,
        retry: { retrying: false, gaveUpAt: 300 },
      }),
    ]);
  });

  it('yields nothing for a reason whose count is zero or that has no earliest', () => {
    const earliest = { time: 5, eventId: 'evt_5', objectId: 'dp_1' };
    expect(
      view(
        state({
          objects: new Map([['dispute', 1]]),
          counts: new Map([['dispute_open', 0]]),
          earliest: new Map([['dispute_open', earliest]]),
        }),
        100,
      ).conditions,
    ).toEqual([]);
    expect(
      view(
        state({ objects: new Map([['dispute', 1]]), counts: new Map([['dispute_open', 2]]) }),
        100,
      ).conditions,
    ).toEqual([]);
  });

  it('counts payments as one payment_failed while their earliest failure is after the latest success', () => {
    const s = summaryOf(
      [row('pi_1', payment(op(100, 'evt_a'), op(300, 'evt_c'))), row('pi_2', payment(op(200)))],
      null,
    );
    const pf = {
      reason: 'payment_failed',
      objectId: 'pi_1',
      since: 100,
      eventId: 'evt_a',
      count: 2,
    };
    expect(view(s, 1_000).conditions).toEqual([pf]);
    expect(view(s, 1_000, 99).conditions).toEqual([pf]);
    // The summary's earliest is decided when it is written; at reading time a success at or
    // after it supersedes it (until the summary is written again).
    expect(view(s, 1_000, 100).conditions).toEqual([]);
    expect(view(s, 1_000, 5_000).conditions).toEqual([]);
  });

  it('counts superseded payments too while one failure is open', () => {
    const s = summaryOf(
      [row('pi_1', payment(op(100))), row('pi_2', payment(op(300, 'evt_c')))],
      200,
    );
    expect(view(s, 1_000, 200).conditions).toEqual([
      { reason: 'payment_failed', objectId: 'pi_2', since: 300, eventId: 'evt_c', count: 2 },
    ]);
  });

  it('yields no payment failure without a payment past the bound', () => {
    const earliest = { time: 5, eventId: 'evt_5', objectId: 'pi_1' };
    const s = state({
      objects: new Map([['payment', 0]]),
      counts: new Map([['pf', 1]]),
      earliest: new Map([['pf', earliest]]),
    });
    expect(view(s, 100).conditions).toEqual([]);
    expect(
      view({ ...s, objects: new Map([['payment', 1]]) }, 100).conditions.map((c) => c.count),
    ).toEqual([1]);
  });
});

describe('summaryView: the summarised payment methods at reading time', () => {
  const NOW = 10_000;
  const WINDOW = 100;
  const methods = (buckets: [number, number][], announced: [number, number][] = [], deleted = 0) =>
    view(
      state({
        objects: new Map([['method', 1]]),
        methodsByInstant: new Map(buckets),
        announcedByInstant: new Map(announced),
        deletedMethods: deleted,
      }),
      NOW,
      null,
      WINDOW,
    );
  const counts = (active: number, expiring: number, expired: number, deleted: number) => ({
    active,
    expiring,
    expired,
    deleted,
  });

  it('counts methods without an expiry as active, with no moment of change', () => {
    const v = methods([[0, 3]]);
    expect(v.methods).toEqual(counts(3, 0, 0, 0));
    expect(v.usable).toBe(true);
    expect(v.changesAt).toEqual([]);
    expect(v.conditions).toEqual([]);
    expect(v.lastStop).toBeNull();
  });

  it.each([
    ['before now', NOW - 5],
    ['at now', NOW],
  ])('counts a method whose expiry instant is %s as expired, its stop the expiry', (_, instant) => {
    const v = methods([[instant, 2]]);
    expect(v.methods).toEqual(counts(0, 0, 2, 0));
    expect(v.usable).toBe(false);
    expect(v.changesAt).toEqual([]);
    expect(v.lastStop).toEqual({ time: instant, eventId: null });
  });

  it('stops at the latest expiry among expired methods', () => {
    expect(
      methods([
        [NOW - 50, 1],
        [NOW - 10, 1],
        [NOW - 30, 1],
      ]).lastStop,
    ).toEqual({ time: NOW - 10, eventId: null });
  });

  it.each([
    ['opened before now', NOW + 50, NOW + 50 - WINDOW],
    ['opening at now', NOW + WINDOW, NOW],
  ])('counts methods in a window %s as expiring, since the window opened', (_, instant, since) => {
    const v = methods([[instant, 2]]);
    expect(v.methods).toEqual(counts(0, 2, 0, 0));
    expect(v.usable).toBe(true);
    expect(v.changesAt).toEqual([instant]);
    expect(v.conditions).toEqual([
      { reason: 'payment_method_expiring', objectId: '', since, eventId: null, count: 2 },
    ]);
    expect(v.lastStop).toBeNull();
  });

  it('counts methods whose window opens after now as active, changing at the opening and the expiry', () => {
    const instant = NOW + WINDOW + 1;
    const v = methods([[instant, 3]]);
    expect(v.methods).toEqual(counts(3, 0, 0, 0));
    expect(v.changesAt.slice().sort()).toEqual([NOW + 1, instant]);
    expect(v.conditions).toEqual([]);
  });

  it('counts announced methods before their window as expiring since the reading time', () => {
    const instant = NOW + 5 * WINDOW;
    const v = methods([[instant, 3]], [[instant, 1]]);
    expect(v.methods).toEqual(counts(2, 1, 0, 0));
    expect(v.conditions).toEqual([
      { reason: 'payment_method_expiring', objectId: '', since: NOW, eventId: null, count: 1 },
    ]);
    expect(v.changesAt.slice().sort()).toEqual([instant - WINDOW, instant]);
  });

  it('counts every method in its window as expiring, announced or not', () => {
    const instant = NOW + 10;
    expect(methods([[instant, 3]], [[instant, 1]]).methods).toEqual(counts(0, 3, 0, 0));
  });

  it('sums expiring methods of several months, since the earliest window opening', () => {
    const v = methods(
      [
        [NOW + 80, 1],
        [NOW + 20, 2],
        [NOW + 500, 4],
      ],
      [[NOW + 500, 1]],
    );
    expect(v.methods).toEqual(counts(3, 4, 0, 0));
    expect(v.conditions).toEqual([
      {
        reason: 'payment_method_expiring',
        objectId: '',
        since: NOW + 20 - WINDOW,
        eventId: null,
        count: 4,
      },
    ]);
  });

  it('ignores buckets that hold no method', () => {
    const v = methods([
      [NOW + 10, 0],
      [NOW - 10, 0],
      [0, 0],
    ]);
    expect(v.methods).toEqual(counts(0, 0, 0, 0));
    expect(v.changesAt).toEqual([]);
    expect(v.conditions).toEqual([]);
    expect(v.lastStop).toBeNull();
    expect(v.usable).toBe(false);
  });

  it('counts deleted methods, which are not usable', () => {
    const v = methods([], [], 4);
    expect(v.methods).toEqual(counts(0, 0, 0, 4));
    expect(v.usable).toBe(false);
  });

  it.each([
    ['a later deletion', NOW - 10, NOW - 20, { time: NOW - 10, eventId: 'evt_del' }],
    ['a later expiry', NOW - 30, NOW - 20, { time: NOW - 20, eventId: null }],
    [
      'a deletion at the same moment as an expiry',
      NOW - 20,
      NOW - 20,
      { time: NOW - 20, eventId: 'evt_del' },
    ],
  ])('stops at %s', (_, deletedAt, expiredAt, expected) => {
    const v = view(
      state({
        objects: new Map([['method', 2]]),
        methodsByInstant: new Map([[expiredAt, 1]]),
        earliest: new Map([['mstop', { time: deletedAt, eventId: 'evt_del', objectId: 'pm_d' }]]),
        deletedMethods: 1,
      }),
      NOW,
    );
    expect(v.lastStop).toEqual(expected);
  });
});

const policyOf = (doc: unknown): StatusSettings => ({
  ...DEFAULT_STATUS_SETTINGS,
  policy: parsePolicy(doc),
});
const record = (
  rows: Row[],
  fields: Partial<StatusRecord> & { listed?: [string, Entry][] } = {},
): StatusRecord => {
  const { listed = [], ...rest } = fields;
  return {
    ...EMPTY_RECORD,
    entries: new Map(listed.map(([id, e]) => [entryKey(e.kind, id), e])),
    summary: summaryOf(rows, rest.latestSuccess ?? null),
    ...rest,
  };
};
const read = (r: StatusRecord, now: number, settings = DEFAULT_STATUS_SETTINGS) =>
  statusFromRecord(CUS, r, now, settings);

describe('a summarised status: summary.blockers, summary.warnings, summary.paymentMethods', () => {
  it('carries no summary when nothing is past the bound', () => {
    const s = read({ ...EMPTY_RECORD, summary: EMPTY_SUMMARY }, 1_000);
    expect(s).not.toHaveProperty('summary');
    expect(s.canAllocate).toBe(true);
  });

  it('blocks on counted blockers alone, one entry per reason sorted by since, then reason', () => {
    const s = read(
      record([
        row('dp_1', dispute(op(300))),
        row('dp_2', dispute(op(200))),
        row('in_1', invoice({ overdue: op(200) })),
        row('sub_1', subscription('subscription_unpaid', op(100))),
      ]),
      1_000,
    );
    expect(s.blockers).toEqual([]);
    expect(s.canAllocate).toBe(false);
    expect(s.summary).toEqual({
      blockers: [
        { reason: 'subscription_unpaid', count: 1, since: 100 },
        { reason: 'dispute_open', count: 2, since: 200 },
        { reason: 'invoice_overdue', count: 1, since: 200 },
      ],
      warnings: [],
      paymentMethods: { active: 0, expiring: 0, expired: 0, deleted: 0 },
    });
  });

  it('sorts reasons of the same since by reason whatever their order of composition', () => {
    const s = read(
      record([
        row('sub_1', subscription('subscription_past_due', op(100))),
        row('in_1', invoice({ uncollectible: op(100) })),
      ]),
      1_000,
    );
    expect(s.summary?.blockers.map((b) => b.reason)).toEqual([
      'invoice_uncollectible',
      'subscription_past_due',
    ]);
  });

  it('lets the allow override through counted blockers, which still show', () => {
    const s = read(
      {
        ...record([row('dp_1', dispute(op(300)))]),
        override: {
          id: 'ovr_1',
          mode: 'allow',
          reason: 'trusted',
          setAt: '2026-01-01T00:00:00.000Z',
          expiresAt: null,
        },
      },
      1_000,
    );
    expect(s.canAllocate).toBe(true);
    expect(s.summary?.blockers).toEqual([{ reason: 'dispute_open', count: 1, since: 300 }]);
  });

  it('keeps warnings apart and lets the customer allocate', () => {
    const s = read(record([row('in_1', invoice({ actionRequired: op(50) }))]), 1_000);
    expect(s.canAllocate).toBe(true);
    expect(s.summary?.blockers).toEqual([]);
    expect(s.summary?.warnings).toEqual([
      { reason: 'payment_action_required', count: 1, since: 50 },
    ]);
  });

  it('merges invoices and payments into one payment_failed: counts summed, the earliest since', () => {
    const s = read(
      record([
        row('in_1', failedInvoice(op(300), true)),
        row('in_2', failedInvoice(op(400), true)),
        row('pi_1', payment(op(100))),
      ]),
      1_000,
    );
    expect(s.summary?.blockers).toEqual([{ reason: 'payment_failed', count: 3, since: 100 }]);
  });

  it('drops payments all of whose failures a later success superseded', () => {
    const s = read(
      record([row('pi_1', payment(op(100))), row('in_1', failedInvoice(op(300), true))], {
        latestSuccess: 200,
      }),
      1_000,
    );
    expect(s.summary?.blockers).toEqual([{ reason: 'payment_failed', count: 1, since: 300 }]);
  });

  it('leaves out a reason the policy ignores', () => {
    const s = read(
      record([row('dp_1', dispute(op(100))), row('in_1', invoice({ overdue: op(50) }))]),
      1_000,
      policyOf({ invoice_overdue: { action: 'ignore' } }),
    );
    expect(s.summary?.blockers).toEqual([{ reason: 'dispute_open', count: 1, since: 100 }]);
    expect(s.summary?.warnings).toEqual([]);
  });

  it('moves a reason the policy makes a warning into summary.warnings', () => {
    const s = read(
      record([row('dp_1', dispute(op(100)))]),
      1_000,
      policyOf({ dispute_open: { action: 'warn' } }),
    );
    expect(s.canAllocate).toBe(true);
    expect(s.summary?.warnings).toEqual([{ reason: 'dispute_open', count: 1, since: 100 }]);
  });

  describe('with a grace', () => {
    const settings = policyOf({ payment_failed: { action: 'block', grace: '1d' } });
    it.each([
      ['the invoice fails first', 100, 500],
      ['the payment fails first', 500, 100],
    ])('warns until the earliest blocksAt when %s', (_, invoiceAt, paymentAt) => {
      const r = record([
        row('in_1', failedInvoice(op(invoiceAt), true)),
        row('pi_1', payment(op(paymentAt))),
      ]);
      const blocksAt = 100 + DAY;
      const before = read(r, blocksAt - 1, settings);
      expect(before.canAllocate).toBe(true);
      expect(before.summary?.warnings).toEqual([
        { reason: 'payment_failed', count: 2, since: 100, blocksAt },
      ]);
      expect(before.nextChangeAt).toBe(blocksAt);
      const at = read(r, blocksAt, settings);
      expect(at.canAllocate).toBe(false);
      expect(at.summary?.blockers).toEqual([
        { reason: 'payment_failed', count: 1, since: 100, blocksAt },
      ]);
      expect(at.summary?.warnings).toEqual([
        { reason: 'payment_failed', count: 1, since: 500, blocksAt: 500 + DAY },
      ]);
      expect(at.nextChangeAt).toBe(500 + DAY);
    });
  });

  describe('while Stripe retries (whileRetrying)', () => {
    const settings = policyOf({ payment_failed: { action: 'block', whileRetrying: true } });
    it('warns with blocksAt null while every invoice is retried', () => {
      const s = read(record([row('in_1', failedInvoice(op(100), true))]), 1_000, settings);
      expect(s.canAllocate).toBe(true);
      expect(s.summary?.warnings).toEqual([
        { reason: 'payment_failed', count: 1, since: 100, blocksAt: null },
      ]);
      expect(s.nextChangeAt).toBeNull();
    });

    it('blocks from the earliest give-up', () => {
      const r = record([
        row('in_1', failedInvoice(op(100), true)),
        row('in_2', failedInvoice(op(150), false, op(600))),
      ]);
      const before = read(r, 599, settings);
      expect(before.summary?.warnings).toEqual([
        { reason: 'payment_failed', count: 2, since: 100, blocksAt: 600 },
      ]);
      expect(before.nextChangeAt).toBe(600);
      const after = read(r, 600, settings);
      expect(after.canAllocate).toBe(false);
      expect(after.summary?.blockers).toEqual([
        { reason: 'payment_failed', count: 2, since: 100, blocksAt: 600 },
      ]);
    });

    it('blocks standalone payments at once: Stripe retries no standalone payment', () => {
      const s = read(
        record([row('in_1', failedInvoice(op(100), true)), row('pi_1', payment(op(50)))]),
        1_000,
        settings,
      );
      expect(s.canAllocate).toBe(false);
      expect(s.summary?.blockers).toEqual([{ reason: 'payment_failed', count: 1, since: 50 }]);
      expect(s.summary?.warnings).toEqual([
        { reason: 'payment_failed', count: 1, since: 100, blocksAt: null },
      ]);
    });
  });

  describe('payment methods', () => {
    const NOW = DEC_2026 - 40 * DAY;
    it('counts the methods not listed by status now, and warns for the expiring ones', () => {
      const s = read(
        record([
          row('pm_1', method({ expMonth: 12, expYear: 2026 })),
          row('pm_2', method({ expMonth: 12, expYear: 2026, announced: op(NOW - 5) })),
          row('pm_3', method()),
          row('pm_4', method({ expMonth: 1, expYear: 2020 })),
          row('pm_5', method({ deleted: op(NOW - 100) })),
        ]),
        NOW,
      );
      expect(s.summary?.paymentMethods).toEqual({ active: 2, expiring: 1, expired: 1, deleted: 1 });
      expect(s.summary?.warnings).toEqual([
        { reason: 'payment_method_expiring', count: 1, since: NOW },
      ]);
      expect(s.warnings).toEqual([]);
      // The unannounced card's window opens 30 days before its expiry.
      expect(s.nextChangeAt).toBe(DEC_2026 - 30 * DAY);
    });

    it('changes next at the expiry once every window is open', () => {
      const now = DEC_2026 - 10 * DAY;
      const s = read(record([row('pm_1', method({ expMonth: 12, expYear: 2026 }))]), now);
      expect(s.summary?.warnings).toEqual([
        { reason: 'payment_method_expiring', count: 1, since: DEC_2026 - 30 * DAY },
      ]);
      expect(s.nextChangeAt).toBe(DEC_2026);
    });

    it('warns no_valid_payment_method from the latest deletion when only deleted methods are counted', () => {
      const s = read(
        record([
          row('pm_1', method({ deleted: op(500, 'evt_d1') })),
          row('pm_2', method({ deleted: op(700, 'evt_d2') })),
        ]),
        1_000,
      );
      expect(s.warnings).toEqual([
        { reason: 'no_valid_payment_method', objectId: CUS, since: 700, eventId: 'evt_d2' },
      ]);
      expect(s.summary?.paymentMethods).toEqual({ active: 0, expiring: 0, expired: 0, deleted: 2 });
    });

    it('warns no_valid_payment_method from an expiry when the counted methods expired', () => {
      const s = read(record([row('pm_1', method({ expMonth: 12, expYear: 2026 }))]), DEC_2026);
      expect(s.warnings).toEqual([
        { reason: 'no_valid_payment_method', objectId: CUS, since: DEC_2026, eventId: null },
      ]);
    });

    it('opens no no_valid_payment_method while a counted method is usable', () => {
      const s = read(
        record([row('pm_1', method()), row('pm_2', method({ deleted: op(500) }))], {
          listed: [['pm_9', method({ deleted: op(800, 'evt_l') })]],
        }),
        1_000,
      );
      expect(s.warnings).toEqual([]);
    });

    it('dates no_valid_payment_method from the latest stop, listed or counted', () => {
      const counted = record([row('pm_1', method({ deleted: op(900, 'evt_c') }))], {
        listed: [['pm_9', method({ deleted: op(800, 'evt_l') })]],
      });
      expect(read(counted, 1_000).warnings).toEqual([
        { reason: 'no_valid_payment_method', objectId: CUS, since: 900, eventId: 'evt_c' },
      ]);
      const listed = record([row('pm_1', method({ deleted: op(700, 'evt_c') }))], {
        listed: [['pm_9', method({ deleted: op(800, 'evt_l') })]],
      });
      expect(read(listed, 1_000).warnings).toEqual([
        { reason: 'no_valid_payment_method', objectId: CUS, since: 800, eventId: 'evt_l' },
      ]);
    });

    it('opens no no_valid_payment_method from a summary without methods', () => {
      const s = read(record([row('dp_1', dispute(op(100)))]), 1_000);
      expect(s.warnings).toEqual([]);
    });
  });
});
