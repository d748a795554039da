// The policy over time (docs/behaviour.md#access-policy, #time, #expiring-overrides): what each
// action does with a condition, the grace and whileRetrying boundaries to the second, the
// override in force, and nextChangeAt. The core functions are called directly
// (lambdas/core/billing-status.ts); records come from built Stripe events.
import { describe, expect, it } from 'vitest';
import { buildEvent, type EventOptions } from '../../bin/events/stripe-events';
import {
  DEFAULT_STATUS_SETTINGS,
  applyPolicy,
  blocksAtOf,
  canAllocateAt,
  deriveBillingStatus,
  overrideAt,
  statusDigest,
  statusFromRecord,
  type StatusSettings,
} from '../../lambdas/core/billing-status';
import type { RawCondition } from '../../lambdas/core/entries';
import type { BillingStatus, OverrideRecord } from '../../lambdas/core/facts';
import {
  DEFAULT_POLICY,
  parsePolicy,
  type Policy,
  type PolicyDocument,
} from '../../lambdas/core/policy';
import { deriveRecord, type OverrideState } from '../../lambdas/core/status-record';
import { CUSTOMER, applied, linksOf } from '../support/derive';

const DAY = 86_400;
const T = 1_700_000_000;

const policyOf = (doc: PolicyDocument): Policy => parsePolicy(doc);
const settingsOf = (doc: PolicyDocument = {}, expiryWarningDays = 30): StatusSettings => ({
  policy: policyOf(doc),
  expiryWarningDays,
});

const raw = (reason: RawCondition['reason'], since: number, extra: Partial<RawCondition> = {}) =>
  ({ reason, objectId: 'obj_1', since, eventId: 'evt_1', ...extra }) as RawCondition;
const retrying = { retrying: true, gaveUpAt: null };
const gaveUp = (at: number) => ({ retrying: false, gaveUpAt: at });

const listed = (c: RawCondition) => ({
  reason: c.reason,
  objectId: c.objectId,
  since: c.since,
  eventId: c.eventId,
});

// --- records from events ---------------------------------------------------------------

type Built = ReturnType<typeof buildEvent>;

const invoiceFailed = (
  id: string,
  created: number,
  attemptCount: number,
  nextPaymentAttempt: number | null,
  invoice = 'in_1',
) =>
  buildEvent('invoice.payment_failed', {
    id,
    created,
    attemptCount,
    nextPaymentAttempt,
    object: { id: invoice },
  });

const event = (type: string, options: EventOptions) => buildEvent(type, options);

const card = (id: string, created: number, month: number, year: number) =>
  buildEvent('payment_method.attached', {
    id,
    created,
    object: {
      id: 'pm_1',
      card: { brand: 'visa', last4: '4242', exp_month: month, exp_year: year },
    },
  });

const override = (
  mode: 'allow' | 'deny' | null,
  setAt: number,
  expiresAt: number | null = null,
  reason: string | null = 'ticket 7',
): OverrideRecord => ({
  id: `ovr_${String(setAt).padStart(12, '0')}`,
  customerId: CUSTOMER,
  mode,
  reason,
  setAt: new Date(setAt * 1000).toISOString(),
  expiresAt,
  actor: 'local:test',
});

function recordOf(events: readonly Built[], overrides: readonly OverrideRecord[] = []) {
  const record = deriveRecord(
    events.map((e) => applied(e)),
    overrides,
    events.flatMap((e) => linksOf(e)),
  );
  if (!record) throw new Error('no record');
  return record;
}

const statusAt = (
  events: readonly Built[],
  now: number,
  settings: StatusSettings = DEFAULT_STATUS_SETTINGS,
  overrides: readonly OverrideRecord[] = [],
): BillingStatus => statusFromRecord(CUSTOMER, recordOf(events, overrides), now, settings);

// --- blocksAtOf ----------------------------------------------------------------------------

describe('blocksAtOf', () => {
  const grace = (g: number) => policyOf({ invoice_overdue: { action: 'block', grace: g } });
  const retryPolicy = (g?: number) =>
    policyOf({
      payment_failed: {
        action: 'block',
        whileRetrying: true,
        ...(g !== undefined ? { grace: g } : {}),
      },
    });

  it('is undefined when neither grace nor whileRetrying governs the condition', () => {
    expect(blocksAtOf(raw('invoice_overdue', T), DEFAULT_POLICY)).toBeUndefined();
    expect(
      blocksAtOf(raw('payment_failed', T, { retry: retrying }), DEFAULT_POLICY),
    ).toBeUndefined();
    expect(
      blocksAtOf(raw('payment_failed', T, { retry: gaveUp(T + 5) }), DEFAULT_POLICY),
    ).toBeUndefined();
  });

  it('is since + grace under a grace', () => {
    expect(blocksAtOf(raw('invoice_overdue', T), grace(100))).toBe(T + 100);
    expect(blocksAtOf(raw('invoice_overdue', T), grace(1))).toBe(T + 1);
    expect(blocksAtOf(raw('invoice_overdue', T), grace(0))).toBe(T);
    expect(blocksAtOf(raw('invoice_overdue', T), grace(90 * DAY))).toBe(T + 90 * DAY);
  });

  it('ignores Stripe retries when the policy has no whileRetrying', () => {
    const p = policyOf({ payment_failed: { action: 'block', grace: 100 } });
    expect(blocksAtOf(raw('payment_failed', T, { retry: retrying }), p)).toBe(T + 100);
    expect(blocksAtOf(raw('payment_failed', T, { retry: gaveUp(T + 5) }), p)).toBe(T + 100);
  });

  it('is null while only whileRetrying holds an invoice failure, and the give-up moment after', () => {
    expect(blocksAtOf(raw('payment_failed', T, { retry: retrying }), retryPolicy())).toBeNull();
    expect(blocksAtOf(raw('payment_failed', T, { retry: gaveUp(T + 500) }), retryPolicy())).toBe(
      T + 500,
    );
    // Retrying decides, whatever else the condition carries.
    expect(
      blocksAtOf(
        raw('payment_failed', T, { retry: { retrying: true, gaveUpAt: T + 500 } }),
        retryPolicy(),
      ),
    ).toBeNull();
  });

  it('with grace too, is whichever moment comes first', () => {
    const p = retryPolicy(1_000);
    expect(blocksAtOf(raw('payment_failed', T, { retry: retrying }), p)).toBe(T + 1_000);
    expect(blocksAtOf(raw('payment_failed', T, { retry: gaveUp(T + 400) }), p)).toBe(T + 400);
    expect(blocksAtOf(raw('payment_failed', T, { retry: gaveUp(T + 1_600) }), p)).toBe(T + 1_000);
    expect(blocksAtOf(raw('payment_failed', T, { retry: gaveUp(T + 1_000) }), p)).toBe(T + 1_000);
  });

  it('does not hold a failure that has no Stripe retries (no invoice)', () => {
    expect(blocksAtOf(raw('payment_failed', T), retryPolicy())).toBeUndefined();
    expect(blocksAtOf(raw('payment_failed', T), retryPolicy(300))).toBe(T + 300);
  });
});

// --- applyPolicy -----------------------------------------------------------------------------

describe('applyPolicy', () => {
  it('block lists a condition under blockers with no blocksAt; warn under warnings; ignore nowhere', () => {
    const overdue = raw('invoice_overdue', T);
    const action = raw('payment_action_required', T + 1, { objectId: 'in_2', eventId: null });
    expect(applyPolicy([overdue, action], DEFAULT_POLICY, T + 10)).toStrictEqual({
      blockers: [listed(overdue)],
      warnings: [listed(action)],
      changesAt: [],
    });
    const flipped = policyOf({
      invoice_overdue: { action: 'warn' },
      payment_action_required: { action: 'block' },
    });
    expect(applyPolicy([overdue, action], flipped, T + 10)).toStrictEqual({
      blockers: [listed(action)],
      warnings: [listed(overdue)],
      changesAt: [],
    });
    const ignored = policyOf({
      invoice_overdue: { action: 'ignore' },
      payment_action_required: { action: 'ignore' },
    });
    expect(applyPolicy([overdue, action], ignored, T + 10)).toStrictEqual({
      blockers: [],
      warnings: [],
      changesAt: [],
    });
  });

  it('lists conditions in the order given and never carries their retry state', () => {
    const a = raw('payment_failed', T + 5, { objectId: 'in_a', retry: gaveUp(T + 5) });
    const b = raw('dispute_open', T, { objectId: 'dp_b' });
    const got = applyPolicy([a, b], DEFAULT_POLICY, T + 10);
    expect(got.blockers).toStrictEqual([listed(a), listed(b)]);
    expect(got.blockers[0]).not.toHaveProperty('retry');
    expect(got.blockers[0]).not.toHaveProperty('blocksAt');
  });

  it.each([
    [-1, 'warns'],
    [0, 'warns'],
    [99, 'warns'],
    [100, 'blocks'],
    [101, 'blocks'],
    [DAY, 'blocks'],
  ])('with grace 100, at since + %d it %s', (offset, verdict) => {
    const p = policyOf({ dispute_open: { action: 'block', grace: 100 } });
    const c = raw('dispute_open', T);
    const got = applyPolicy([c], p, T + offset);
    const entry = { ...listed(c), blocksAt: T + 100 };
    if (verdict === 'warns') {
      expect(got).toStrictEqual({ blockers: [], warnings: [entry], changesAt: [T + 100] });
    } else {
      expect(got).toStrictEqual({ blockers: [entry], warnings: [], changesAt: [] });
    }
  });

  it('with grace 0 blocks from since, carrying blocksAt', () => {
    const p = policyOf({ dispute_open: { action: 'block', grace: 0 } });
    const c = raw('dispute_open', T);
    expect(applyPolicy([c], p, T)).toStrictEqual({
      blockers: [{ ...listed(c), blocksAt: T }],
      warnings: [],
      changesAt: [],
    });
  });

  it('whileRetrying: a warning with blocksAt null while Stripe retries, and no change moment', () => {
    const p = policyOf({ payment_failed: { action: 'block', whileRetrying: true } });
    const c = raw('payment_failed', T, { retry: retrying });
    expect(applyPolicy([c], p, T + 365 * DAY)).toStrictEqual({
      blockers: [],
      warnings: [{ ...listed(c), blocksAt: null }],
      changesAt: [],
    });
  });

  it('whileRetrying: blocks from the moment Stripe gave up', () => {
    const p = policyOf({ payment_failed: { action: 'block', whileRetrying: true } });
    const c = raw('payment_failed', T, { retry: gaveUp(T + 50) });
    expect(applyPolicy([c], p, T + 49)).toStrictEqual({
      blockers: [],
      warnings: [{ ...listed(c), blocksAt: T + 50 }],
      changesAt: [T + 50],
    });
    expect(applyPolicy([c], p, T + 50)).toStrictEqual({
      blockers: [{ ...listed(c), blocksAt: T + 50 }],
      warnings: [],
      changesAt: [],
    });
  });

  it('collects every future blocksAt', () => {
    const p = policyOf({
      dispute_open: { action: 'block', grace: 300 },
      invoice_overdue: { action: 'block', grace: 100 },
    });
    const got = applyPolicy(
      [raw('dispute_open', T), raw('invoice_overdue', T), raw('invoice_overdue', T - 200)],
      p,
      T,
    );
    expect(got.changesAt).toEqual([T + 300, T + 100]);
    expect(got.blockers.map((b) => b.since)).toEqual([T - 200]);
    expect(got.warnings.map((w) => w.blocksAt)).toEqual([T + 300, T + 100]);
  });
});

// --- overrideAt ------------------------------------------------------------------------------

describe('overrideAt', () => {
  const state = (
    mode: 'allow' | 'deny' | null,
    expiresAt: number | null,
    reason: string | null = 'ticket 7',
  ): OverrideState => ({
    id: 'ovr_1',
    mode,
    reason,
    setAt: '2023-11-14T22:13:20.000Z',
    expiresAt,
  });

  it('is null with no override, and for a clear', () => {
    expect(overrideAt(null, T)).toBeNull();
    expect(overrideAt(state(null, null), T)).toBeNull();
    expect(overrideAt(state(null, T + 100), T)).toBeNull();
  });

  it.each(['allow', 'deny'] as const)('shows a %s that does not expire', (mode) => {
    expect(overrideAt(state(mode, null), T + 1_000 * DAY)).toStrictEqual({
      mode,
      reason: 'ticket 7',
      setAt: '2023-11-14T22:13:20.000Z',
      expiresAt: null,
    });
  });

  it('shows a missing reason as an empty string', () => {
    expect(overrideAt(state('allow', null, null), T)?.reason).toBe('');
  });

  it.each(['allow', 'deny'] as const)(
    'shows a %s one second before expiresAt, and from expiresAt on it is gone',
    (mode) => {
      expect(overrideAt(state(mode, T + 60), T + 59)).toStrictEqual({
        mode,
        reason: 'ticket 7',
        setAt: '2023-11-14T22:13:20.000Z',
        expiresAt: T + 60,
      });
      expect(overrideAt(state(mode, T + 60), T + 60)).toBeNull();
      expect(overrideAt(state(mode, T + 60), T + 61)).toBeNull();
    },
  );
});

// --- statusFromRecord over time ---------------------------------------------------------------

describe('the policy on a record (statusFromRecord, canAllocateAt)', () => {
  const failed = event('invoice.payment_failed', {
    id: 'evt_f',
    created: T,
    object: { id: 'in_1' },
  });

  it.each([
    ['block', false, ['payment_failed:in_1'], []],
    ['warn', true, [], ['payment_failed:in_1']],
    ['ignore', true, [], []],
  ] as const)('action %s: canAllocate %j', (action, canAllocate, blockers, warnings) => {
    const settings = settingsOf({ payment_failed: { action } });
    const s = statusAt([failed], T + 10, settings);
    expect(s.canAllocate).toBe(canAllocate);
    expect(s.blockers.map((b) => `${b.reason}:${b.objectId}`)).toEqual(blockers);
    expect(s.warnings.map((w) => `${w.reason}:${w.objectId}`)).toEqual(warnings);
    expect(s.nextChangeAt).toBeNull();
    expect(canAllocateAt(CUSTOMER, recordOf([failed]), T + 10, settings)).toBe(canAllocate);
  });

  it('grace: a warning until since + grace, a blocker from that exact second', () => {
    const settings = settingsOf({ payment_failed: { action: 'block', grace: '1h' } });
    const record = recordOf([failed]);
    const entry = {
      reason: 'payment_failed',
      objectId: 'in_1',
      since: T,
      eventId: 'evt_f',
      blocksAt: T + 3_600,
    };
    const before = statusFromRecord(CUSTOMER, record, T + 3_599, settings);
    expect(before.canAllocate).toBe(true);
    expect(before.blockers).toEqual([]);
    expect(before.warnings).toEqual([entry]);
    expect(before.nextChangeAt).toBe(T + 3_600);
    const at = statusFromRecord(CUSTOMER, record, T + 3_600, settings);
    expect(at.canAllocate).toBe(false);
    expect(at.blockers).toEqual([entry]);
    expect(at.warnings).toEqual([]);
    expect(at.nextChangeAt).toBeNull();
    expect(canAllocateAt(CUSTOMER, record, T + 3_599, settings)).toBe(true);
    expect(canAllocateAt(CUSTOMER, record, T + 3_600, settings)).toBe(false);
  });

  it('grace runs from the earliest failure, whatever later failures say', () => {
    const settings = settingsOf({ payment_failed: { action: 'block', grace: 100 } });
    const events = [
      invoiceFailed('evt_2', T + 80, 2, T + 1_000),
      invoiceFailed('evt_1', T, 1, T + 500),
    ];
    expect(statusAt(events, T + 99, settings).warnings[0]).toMatchObject({
      since: T,
      blocksAt: T + 100,
    });
    expect(statusAt(events, T + 100, settings).canAllocate).toBe(false);
  });

  it('a policy that blocks a warning reason makes it block', () => {
    const settings = settingsOf({ payment_action_required: { action: 'block' } });
    const s = statusAt(
      [
        event('invoice.payment_action_required', {
          id: 'evt_a',
          created: T,
          object: { id: 'in_9' },
        }),
      ],
      T + 1,
      settings,
    );
    expect(s.canAllocate).toBe(false);
    expect(s.blockers.map((b) => b.reason)).toEqual(['payment_action_required']);
    expect(s.blockers[0]).not.toHaveProperty('blocksAt');
    expect(
      statusAt(
        [
          event('invoice.payment_action_required', {
            id: 'evt_a',
            created: T,
            object: { id: 'in_9' },
          }),
        ],
        T + 1,
      ).canAllocate,
    ).toBe(true);
  });
});

describe('whileRetrying on invoice failures', () => {
  const retryOnly = settingsOf({ payment_failed: { action: 'block', whileRetrying: true } });

  it('warns with blocksAt null while the newest failure has a next attempt', () => {
    const s = statusAt([invoiceFailed('evt_1', T, 1, T + 3 * DAY)], T + 10 * DAY, retryOnly);
    expect(s.canAllocate).toBe(true);
    expect(s.blockers).toEqual([]);
    expect(s.warnings).toEqual([
      { reason: 'payment_failed', objectId: 'in_1', since: T, eventId: 'evt_1', blocksAt: null },
    ]);
    expect(s.nextChangeAt).toBeNull();
  });

  it("blocks from the newest failure's created once it says null; since stays the first failure", () => {
    const events = [
      invoiceFailed('evt_1', T, 1, T + 3 * DAY),
      invoiceFailed('evt_2', T + 3 * DAY, 2, null),
    ];
    const before = statusAt(events, T + 3 * DAY - 1, retryOnly);
    expect(before.canAllocate).toBe(true);
    expect(before.warnings).toEqual([
      {
        reason: 'payment_failed',
        objectId: 'in_1',
        since: T,
        eventId: 'evt_1',
        blocksAt: T + 3 * DAY,
      },
    ]);
    expect(before.nextChangeAt).toBe(T + 3 * DAY);
    const at = statusAt(events, T + 3 * DAY, retryOnly);
    expect(at.canAllocate).toBe(false);
    expect(at.blockers).toEqual([
      {
        reason: 'payment_failed',
        objectId: 'in_1',
        since: T,
        eventId: 'evt_1',
        blocksAt: T + 3 * DAY,
      },
    ]);
    expect(at.warnings).toEqual([]);
    expect(at.nextChangeAt).toBeNull();
  });

  it('the newest failure is the greatest attempt_count, even when created earlier', () => {
    const events = [
      invoiceFailed('evt_3', T + 100, 3, T + 5 * DAY),
      invoiceFailed('evt_2', T + 200, 2, null),
    ];
    const s = statusAt(events, T + 300, retryOnly);
    expect(s.canAllocate).toBe(true);
    expect(s.warnings[0]?.blocksAt).toBeNull();
    const reversed = [
      invoiceFailed('evt_3', T + 100, 3, null),
      invoiceFailed('evt_2', T + 200, 2, T + 5 * DAY),
    ];
    const r = statusAt(reversed, T + 300, retryOnly);
    expect(r.canAllocate).toBe(false);
    expect(r.blockers[0]).toMatchObject({ since: T + 100, blocksAt: T + 100 });
  });

  it('at equal attempt_count the greater created, then the greater event id', () => {
    const byCreated = [
      invoiceFailed('evt_b', T + 100, 2, null),
      invoiceFailed('evt_a', T + 200, 2, T + DAY),
    ];
    expect(statusAt(byCreated, T + 300, retryOnly).warnings[0]?.blocksAt).toBeNull();
    const byCreatedGaveUp = [
      invoiceFailed('evt_b', T + 100, 2, T + DAY),
      invoiceFailed('evt_a', T + 200, 2, null),
    ];
    expect(statusAt(byCreatedGaveUp, T + 300, retryOnly).blockers[0]?.blocksAt).toBe(T + 200);
    const byId = [
      invoiceFailed('evt_a', T + 100, 2, null),
      invoiceFailed('evt_b', T + 100, 2, T + DAY),
    ];
    expect(statusAt(byId, T + 300, retryOnly).warnings[0]?.blocksAt).toBeNull();
    const byIdGaveUp = [
      invoiceFailed('evt_a', T + 100, 2, T + DAY),
      invoiceFailed('evt_b', T + 100, 2, null),
    ];
    expect(statusAt(byIdGaveUp, T + 300, retryOnly).blockers[0]?.blocksAt).toBe(T + 100);
  });

  it('with grace: the grace end while Stripe retries, the give-up when that comes first', () => {
    const both = settingsOf({
      payment_failed: { action: 'block', grace: '7d', whileRetrying: true },
    });
    const stillRetrying = [invoiceFailed('evt_1', T, 1, T + 3 * DAY)];
    const s = statusAt(stillRetrying, T + 7 * DAY - 1, both);
    expect(s.canAllocate).toBe(true);
    expect(s.warnings[0]?.blocksAt).toBe(T + 7 * DAY);
    expect(s.nextChangeAt).toBe(T + 7 * DAY);
    expect(statusAt(stillRetrying, T + 7 * DAY, both).canAllocate).toBe(false);
    const gaveUpEarly = [
      invoiceFailed('evt_1', T, 1, T + DAY),
      invoiceFailed('evt_2', T + DAY, 2, null),
    ];
    expect(statusAt(gaveUpEarly, T + DAY - 1, both).warnings[0]?.blocksAt).toBe(T + DAY);
    expect(statusAt(gaveUpEarly, T + DAY, both).blockers[0]?.blocksAt).toBe(T + DAY);
  });

  it('a failure of a PaymentIntent of no invoice blocks at once, with no blocksAt', () => {
    const s = statusAt(
      [event('payment_intent.payment_failed', { id: 'evt_p', created: T, object: { id: 'pi_1' } })],
      T + 1,
      retryOnly,
    );
    expect(s.canAllocate).toBe(false);
    expect(s.blockers).toEqual([
      { reason: 'payment_failed', objectId: 'pi_1', since: T, eventId: 'evt_p' },
    ]);
    expect(s.warnings).toEqual([]);
  });
});

describe('nextChangeAt', () => {
  const utc = (year: number, monthIndex: number) => Date.UTC(year, monthIndex, 1) / 1000;
  // A card expiring in March 2024: valid until 1 April 2024, expiring 30 days before.
  const expiry = utc(2024, 3);
  const windowOpens = expiry - 30 * DAY;
  const cardEvent = card('evt_c', utc(2023, 0), 3, 2024);

  it('is null when nothing changes by time', () => {
    const failed = invoiceFailed('evt_1', T, 1, null);
    expect(statusAt([failed], T + 1).nextChangeAt).toBeNull();
    expect(
      statusAt([failed], T + 1, DEFAULT_STATUS_SETTINGS, [override('deny', T)]).nextChangeAt,
    ).toBeNull();
  });

  it("is a card's window opening, then its expiry; a moment equal to now is not future", () => {
    expect(statusAt([cardEvent], windowOpens - 1).nextChangeAt).toBe(windowOpens);
    expect(statusAt([cardEvent], windowOpens - 1).paymentMethods[0]?.status).toBe('active');
    expect(statusAt([cardEvent], windowOpens).nextChangeAt).toBe(expiry);
    expect(statusAt([cardEvent], windowOpens).paymentMethods[0]?.status).toBe('expiring');
    expect(statusAt([cardEvent], expiry - 1).nextChangeAt).toBe(expiry);
    expect(statusAt([cardEvent], expiry).nextChangeAt).toBeNull();
    expect(statusAt([cardEvent], expiry).paymentMethods[0]?.status).toBe('expired');
  });

  it("follows the deployment's card warning window", () => {
    const week = settingsOf({}, 7);
    expect(statusAt([cardEvent], windowOpens, week).nextChangeAt).toBe(expiry - 7 * DAY);
    expect(statusAt([cardEvent], expiry - 7 * DAY, week).nextChangeAt).toBe(expiry);
  });

  it("is an override's expiresAt until that second", () => {
    const failed = invoiceFailed('evt_1', T, 1, null);
    const allow = [override('allow', T + 10, T + 500)];
    const before = statusAt([failed], T + 499, DEFAULT_STATUS_SETTINGS, allow);
    expect(before.canAllocate).toBe(true);
    expect(before.override?.expiresAt).toBe(T + 500);
    expect(before.nextChangeAt).toBe(T + 500);
    const at = statusAt([failed], T + 500, DEFAULT_STATUS_SETTINGS, allow);
    expect(at.canAllocate).toBe(false);
    expect(at.override).toBeNull();
    expect(at.nextChangeAt).toBeNull();
  });

  it('is the earliest future moment among blocksAt, card moments and the override expiry', () => {
    const grace = (g: number) => settingsOf({ payment_failed: { action: 'block', grace: g } });
    const failed = invoiceFailed('evt_1', windowOpens - 1_000, 1, null);
    const events = [failed, cardEvent];
    const now = windowOpens - 900;
    // blocksAt = windowOpens - 1000 + g; card window at windowOpens; override at now + e.
    expect(statusAt(events, now, grace(500)).nextChangeAt).toBe(windowOpens - 500);
    expect(statusAt(events, now, grace(5_000)).nextChangeAt).toBe(windowOpens);
    const soon = [override('allow', now - 10, now + 50)];
    expect(statusAt(events, now, grace(500), soon).nextChangeAt).toBe(now + 50);
    const late = [override('allow', now - 10, windowOpens + 10)];
    expect(statusAt(events, now, grace(5_000), late).nextChangeAt).toBe(windowOpens);
    expect(statusAt(events, now, grace(500), late).nextChangeAt).toBe(windowOpens - 500);
    // Once the grace has ended and the window opened, the card's expiry is next.
    expect(statusAt(events, windowOpens, grace(500)).nextChangeAt).toBe(expiry);
  });

  it('never counts a blocksAt that has passed, nor a retry-held null', () => {
    const both = settingsOf({
      payment_failed: { action: 'block', grace: 100, whileRetrying: true },
    });
    const retryOnly = settingsOf({ payment_failed: { action: 'block', whileRetrying: true } });
    const failed = [invoiceFailed('evt_1', T, 1, T + DAY)];
    expect(statusAt(failed, T + 50, both).nextChangeAt).toBe(T + 100);
    expect(statusAt(failed, T + 100, both).nextChangeAt).toBeNull();
    expect(statusAt(failed, T + 50, retryOnly).nextChangeAt).toBeNull();
  });
});

describe('overrides on the status', () => {
  const failed = invoiceFailed('evt_1', T, 1, null);

  it('a deny blocks as operator_deny, dated by when it was set', () => {
    const s = statusAt([], T + 10, DEFAULT_STATUS_SETTINGS, [override('deny', T + 5)]);
    expect(s.canAllocate).toBe(false);
    expect(s.blockers).toEqual([
      { reason: 'operator_deny', objectId: CUSTOMER, since: T + 5, eventId: null },
    ]);
    expect(s.override).toStrictEqual({
      mode: 'deny',
      reason: 'ticket 7',
      setAt: new Date((T + 5) * 1000).toISOString(),
      expiresAt: null,
    });
  });

  it('a deny that expires blocks until expiresAt and not from it', () => {
    const deny = [override('deny', T + 5, T + 100)];
    expect(canAllocateAt(CUSTOMER, recordOf([], deny), T + 99, DEFAULT_STATUS_SETTINGS)).toBe(
      false,
    );
    const at = statusAt([], T + 100, DEFAULT_STATUS_SETTINGS, deny);
    expect(at.canAllocate).toBe(true);
    expect(at.blockers).toEqual([]);
  });

  it('an allow lets the customer allocate while keeping the blockers listed', () => {
    const s = statusAt([failed], T + 10, DEFAULT_STATUS_SETTINGS, [override('allow', T + 5)]);
    expect(s.canAllocate).toBe(true);
    expect(s.blockers.map((b) => b.reason)).toEqual(['payment_failed']);
  });

  it('a clear shows no override', () => {
    const s = statusAt([failed], T + 10, DEFAULT_STATUS_SETTINGS, [
      override('allow', T + 5),
      override(null, T + 6, null, null),
    ]);
    expect(s.override).toBeNull();
    expect(s.canAllocate).toBe(false);
  });
});

describe('statusDigest', () => {
  const failed = invoiceFailed('evt_1', T, 1, null);
  const settings = settingsOf({ payment_failed: { action: 'block', grace: 100 } });

  it('is the same for the folded record and the full derivation', () => {
    const full = deriveBillingStatus({
      customerId: CUSTOMER,
      facts: [applied(failed)],
      overrides: [],
      links: linksOf(failed),
      now: T + 50,
      settings,
    })!;
    expect(statusDigest(statusAt([failed], T + 50, settings))).toBe(statusDigest(full));
  });

  it('changes when the answer changes by time, and not otherwise', () => {
    const d = (now: number) => statusDigest(statusAt([failed], now, settings));
    expect(d(T + 10)).toBe(d(T + 20));
    expect(d(T + 99)).not.toBe(d(T + 100));
    expect(d(T + 100)).toBe(d(T + 200));
  });

  it('tells apart statuses that differ in canAllocate, override or nextChangeAt alone', () => {
    const base = statusAt([failed], T + 50, settings);
    const digest = statusDigest(base);
    expect(statusDigest({ ...base, canAllocate: !base.canAllocate })).not.toBe(digest);
    expect(statusDigest({ ...base, nextChangeAt: T + 101 })).not.toBe(digest);
    expect(
      statusDigest({
        ...base,
        override: { mode: 'allow', reason: '', setAt: base.updatedAt, expiresAt: null },
      }),
    ).not.toBe(digest);
    expect(statusDigest({ ...base, warnings: [] })).not.toBe(digest);
    expect(statusDigest({ ...base, lastEventId: 'evt_other' })).not.toBe(digest);
    expect(statusDigest({ ...base })).toBe(digest);
  });
});
