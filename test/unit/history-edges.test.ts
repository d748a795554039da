// Pins when an override's expiry enters a customer's history (its second, the next set or
// clear, the order overrides are read in), and the core's tables and id patterns as loaded.
import { describe, expect, it, vi } from 'vitest';
import { buildEvent } from '../../bin/events/stripe-events';
import type { AppliedFact, OverrideMode, OverrideRecord } from '../../lambdas/core/facts';
import { expiredOverrides, expiryIdOf, historyOf } from '../../lambdas/core/history';
import { makeFact } from '../../lambdas/core/rules/common';

// 2026-12-09T10:00:00.000Z; every override below is placed in seconds after it.
const T0 = 1_796_810_400;
const at = (offset: number) => new Date((T0 + offset) * 1000).toISOString();

const set = (
  id: string,
  offset: number,
  mode: OverrideMode,
  expiresAfter: number | null,
  reason = 'pays by bank transfer',
): OverrideRecord => ({
  id,
  customerId: 'cus_A',
  mode,
  reason,
  setAt: at(offset),
  expiresAt: expiresAfter === null ? null : T0 + offset + expiresAfter,
  actor: 'alice',
});

const clear = (id: string, offset: number): OverrideRecord => ({
  id,
  customerId: 'cus_A',
  mode: null,
  reason: null,
  setAt: at(offset),
  expiresAt: null,
  actor: 'bob',
});

const FAR = Number.MAX_SAFE_INTEGER;
const ids = (list: readonly { id: string }[]) => list.map((o) => o.id);

describe('the expiry of an override in the history', () => {
  it('lists the expiry of the last set once passed: its own id marked, dated by expiresAt, its reason, no actor', () => {
    const allow = set('ovr_1', 0, 'allow', 100);
    expect(historyOf([], [allow], T0 + 150)).toEqual([
      {
        id: 'ovr_1',
        type: 'override.allow',
        created: T0,
        appliedAt: '2026-12-09T10:00:00.000Z',
        reason: 'pays by bank transfer',
        actor: 'alice',
      },
      {
        id: 'ovr_1_expired',
        type: 'override.expired',
        created: T0 + 100,
        appliedAt: '2026-12-09T10:01:40.000Z',
        reason: 'pays by bank transfer',
        actor: null,
      },
    ]);
    expect(expiryIdOf('ovr_1')).toBe('ovr_1_expired');
  });

  it('lists no expiry before its second, and lists it from that very second on', () => {
    const deny = set('ovr_1', 0, 'deny', 100);
    expect(expiredOverrides([deny], T0 + 99)).toEqual([]);
    expect(expiredOverrides([deny], T0 + 100)).toEqual([deny]);
    expect(expiredOverrides([deny], T0 + 101)).toEqual([deny]);
    expect(ids(historyOf([], [deny], T0 + 99))).toEqual(['ovr_1']);
    expect(ids(historyOf([], [deny], T0 + 100))).toEqual(['ovr_1', 'ovr_1_expired']);
  });

  it('lists no expiry for a set that a clear replaced before it ran out', () => {
    const overrides = [set('ovr_1', 0, 'allow', 100), clear('ovr_2', 50)];
    expect(expiredOverrides(overrides, FAR)).toEqual([]);
    expect(historyOf([], overrides, FAR).map((e) => e.type)).toEqual([
      'override.allow',
      'override.cleared',
    ]);
  });

  it('lists no expiry when the replacing clear comes in the expiry second itself', () => {
    expect(expiredOverrides([set('ovr_1', 0, 'allow', 100), clear('ovr_2', 100)], FAR)).toEqual([]);
  });

  it('lists the expiry of a set that ran out before the next set, between the two', () => {
    const first = set('ovr_1', 0, 'allow', 100);
    const second = set('ovr_2', 200, 'deny', null);
    expect(expiredOverrides([first, second], FAR)).toEqual([first]);
    expect(ids(historyOf([], [first, second], FAR))).toEqual(['ovr_1', 'ovr_1_expired', 'ovr_2']);
  });

  it('judges each set by the action after it, not the one before it', () => {
    const allow = set('ovr_1', 10, 'allow', 100);
    expect(
      expiredOverrides([clear('ovr_0', 0), allow, set('ovr_2', 500, 'deny', null)], FAR),
    ).toEqual([allow]);
    expect(expiredOverrides([clear('ovr_0', 0), allow], FAR)).toEqual([allow]);
  });

  it('never lists the expiry of a clear, even of one read with an expiry time', () => {
    const odd: OverrideRecord = { ...clear('ovr_1', 0), expiresAt: T0 + 100 };
    expect(expiredOverrides([odd], FAR)).toEqual([]);
    expect(historyOf([], [odd], FAR).map((e) => e.type)).toEqual(['override.cleared']);
  });

  it('reads the overrides in the order they were set, whatever order they come in', () => {
    const given = [clear('ovr_2', 50), set('ovr_1', 0, 'allow', 100)];
    expect(expiredOverrides(given, FAR)).toEqual([]);
    expect(historyOf([], given, FAR).some((e) => e.type === 'override.expired')).toBe(false);
    // ...and by time, not by id
    const byTime = [set('ovr_9', 0, 'allow', 100), clear('ovr_1', 50)];
    expect(expiredOverrides(byTime, FAR)).toEqual([]);
  });

  it('orders a set and a clear of the same millisecond by id (ids sort by creation)', () => {
    const allow = set('ovr_1', 0, 'allow', 100);
    expect(expiredOverrides([clear('ovr_2', 0), allow], FAR)).toEqual([]);
    expect(expiredOverrides([clear('ovr_0', 0), allow], FAR)).toEqual([allow]);
  });

  it('leaves the list it is given as it was', () => {
    const given = Object.freeze([clear('ovr_2', 50), set('ovr_1', 0, 'allow', 100)]);
    expect(() => expiredOverrides(given, FAR)).not.toThrow();
    expect(() => historyOf([], given, FAR)).not.toThrow();
    expect(ids(given)).toEqual(['ovr_2', 'ovr_1']);
  });
});

describe('the Accounts v2 id in a fact', () => {
  it('keeps the customer_account of an object naming both ids as customerAccount', () => {
    const event = buildEvent('invoice.payment_failed', {
      object: { customer: 'cus_A', customer_account: 'acct_1' },
    });
    const fact = makeFact(event, { data: { status: 'open' } });
    expect(fact.data).toEqual({ status: 'open', customerAccount: 'acct_1' });
  });
});

// Module-level tables and patterns are built when their module loads: each test below loads
// a fresh copy of the module, so that what it reads is what that load built.
describe('a freshly loaded core', () => {
  const applied = (eventId: string, created: number): AppliedFact => ({
    eventId,
    type: 'invoice.payment_failed',
    created,
    livemode: false,
    objectId: 'in_1',
    data: {},
    customerId: 'cus_A',
    appliedAt: at(0),
  });

  it('names an expiry after its override', async () => {
    vi.resetModules();
    const history = await import('../../lambdas/core/history');
    expect(history.expiryIdOf('ovr_7')).toBe('ovr_7_expired');
    const entries = history.historyOf([], [set('ovr_7', 0, 'deny', 60)], FAR);
    expect(ids(entries)).toEqual(['ovr_7', 'ovr_7_expired']);
  });

  it('dates a condition by the created and id of the event that opened it', async () => {
    vi.resetModules();
    const ordering = await import('../../lambdas/core/ordering');
    expect(ordering.openerOf(applied('evt_b', 200))).toEqual({ created: 200, eventId: 'evt_b' });
    expect(ordering.firstOpener([applied('evt_b', 200), applied('evt_a', 100)])).toEqual({
      created: 100,
      eventId: 'evt_a',
    });
  });

  it('has a rule for each object kind', async () => {
    vi.resetModules();
    const rules = await import('../../lambdas/core/rules');
    const expected = {
      payment_intent: (await import('../../lambdas/core/rules/payment-intent')).paymentIntentRule,
      charge: (await import('../../lambdas/core/rules/charge')).chargeRule,
      invoice: (await import('../../lambdas/core/rules/invoice')).invoiceRule,
      invoice_payment: (await import('../../lambdas/core/rules/invoice-payment'))
        .invoicePaymentRule,
      dispute: (await import('../../lambdas/core/rules/dispute')).disputeRule,
      payment_method: (await import('../../lambdas/core/rules/payment-method')).paymentMethodRule,
      source: (await import('../../lambdas/core/rules/source')).sourceRule,
      subscription: (await import('../../lambdas/core/rules/subscription')).subscriptionRule,
      customer: (await import('../../lambdas/core/rules/customer')).customerRule,
    };
    for (const [kind, rule] of Object.entries(expected)) {
      expect(rule).toBeDefined();
      expect(rules.ruleFor(kind as keyof typeof expected)).toBe(rule);
    }
    expect(rules.ruleForType('charge.failed')).toBe(expected.charge);
  });

  it('composes the entry views in the status order: payments, invoices, disputes, subscriptions, methods', async () => {
    vi.resetModules();
    const rules = await import('../../lambdas/core/rules');
    expect(Object.keys(rules.ENTRY_VIEWS)).toEqual([
      'payment',
      'invoice',
      'dispute',
      'subscription',
      'method',
    ]);
    expect(rules.ENTRY_VIEWS.payment).toBe(
      (await import('../../lambdas/core/rules/payment-failures')).paymentView,
    );
    expect(rules.ENTRY_VIEWS.method).toBe(
      (await import('../../lambdas/core/rules/payment-method-details')).methodView,
    );
  });

  it('accepts acct_ followed by letters and digits, and nothing else, as an Accounts v2 id', async () => {
    vi.resetModules();
    const { ACCOUNT_ID } = await import('../../lambdas/core/stripe-event');
    for (const id of ['acct_1', 'acct_1Nv0FGQ9RKHgCVdK']) expect(ACCOUNT_ID.test(id)).toBe(true);
    for (const id of ['xacct_1', 'acct_1 ', 'acct_1/events', 'acct_', 'acct_1-2', 'cus_A']) {
      expect(ACCOUNT_ID.test(id)).toBe(false);
    }
  });

  it('accepts 1 to 255 letters, digits, "_" and "-", and nothing else, as a Stripe id', async () => {
    vi.resetModules();
    const { STRIPE_ID, idsAndDatesProblem } = await import('../../lambdas/core/stripe-event');
    for (const id of ['evt_1NffrFeUfNV2Hib', 'in_1-a', 'x', 'a'.repeat(255)]) {
      expect(STRIPE_ID.test(id)).toBe(true);
    }
    for (const id of ['', ' evt_1', 'evt_1 ', 'evt 1', 'evt_1/2', 'a'.repeat(256)]) {
      expect(STRIPE_ID.test(id)).toBe(false);
    }
    const event = buildEvent('invoice.payment_failed', { created: T0 });
    expect(idsAndDatesProblem(event, ['in_1'], T0)).toBeNull();
    expect(idsAndDatesProblem(event, ['é1'], T0)).toBe(
      'an id holds a character other than letters, digits, "_" and "-"',
    );
  });

  it('takes bf_ ids as backfilled events only, and no other prefix', async () => {
    vi.resetModules();
    const { BACKFILL_ID_PREFIX, stripeEventProblem } =
      await import('../../lambdas/core/stripe-event');
    expect(BACKFILL_ID_PREFIX).toBe('bf_');
    const envelope = (id: string) => ({
      id,
      object: 'event',
      type: 'invoice.paid',
      created: T0,
      data: { object: { id: 'in_1' } },
    });
    expect(stripeEventProblem(envelope('bf_in_1_1796810400'), { allowBackfillIds: true })).toBe(
      null,
    );
    expect(stripeEventProblem(envelope('xx_in_1'), { allowBackfillIds: true })).toBe(
      'payload is not a Stripe event: "id" must start with "evt_"',
    );
  });
});
