// The status record as a whole: canAllocate, overrides, sorting, the record's own fields
// (docs/behaviour.md#the-billing-status).
import { describe, expect, it } from 'vitest';
import { buildEvent } from '../../bin/events/stripe-events';
import { DEFAULT_STATUS_SETTINGS, deriveBillingStatus } from '../../lambdas/core/billing-status';
import type { AppliedFact, OverrideRecord } from '../../lambdas/core/facts';
import { historyOf } from '../../lambdas/core/history';
import { CUSTOMER, applied, reasons, statusOf } from '../support/derive';

const override = (
  id: string,
  mode: 'allow' | 'deny' | null,
  setAt: string,
  reason: string | null = 'support ticket 42',
): OverrideRecord => ({
  id,
  customerId: CUSTOMER,
  mode,
  reason,
  setAt,
  expiresAt: null,
  actor: 'local:test',
});

const failed = buildEvent('invoice.payment_failed', { created: 100, object: { id: 'in_1' } });

describe('overrides', () => {
  it('allow makes canAllocate true with the blockers still listed', () => {
    const s = statusOf([failed], {
      overrides: [override('ovr_1', 'allow', '2026-11-22T10:00:00.000Z')],
    });
    expect(s.canAllocate).toBe(true);
    expect(reasons(s)).toEqual(['payment_failed:in_1']);
    expect(s.override).toEqual({
      mode: 'allow',
      reason: 'support ticket 42',
      setAt: '2026-11-22T10:00:00.000Z',
      expiresAt: null,
    });
  });

  it('deny adds the operator_deny blocker, since when it was set', () => {
    const s = statusOf([], { overrides: [override('ovr_1', 'deny', '2026-11-22T10:00:00.000Z')] });
    expect(s.canAllocate).toBe(false);
    expect(s.blockers).toEqual([
      {
        reason: 'operator_deny',
        objectId: CUSTOMER,
        since: Date.UTC(2026, 10, 22, 10) / 1000,
        eventId: null,
      },
    ]);
  });

  it('lets the latest set or clear win', () => {
    const s = statusOf([failed], {
      overrides: [
        override('ovr_2', null, '2026-11-22T11:00:00.000Z', null),
        override('ovr_1', 'allow', '2026-11-22T10:00:00.000Z'),
      ],
    });
    expect(s.override).toBeNull();
    expect(s.canAllocate).toBe(false);
  });

  it('lists overrides in the history with their reason', () => {
    const history = historyOf(
      [applied(failed)],
      [override('ovr_1', 'deny', '2026-11-22T10:00:00.000Z')],
    );
    expect(history.map((h) => [h.id, h.type])).toEqual([
      [failed.id, 'invoice.payment_failed'],
      ['ovr_1', 'override.deny'],
    ]);
    expect(history[1]?.reason).toBe('support ticket 42');
  });
});

describe('the record itself', () => {
  it('is unknown (null) with no facts and no overrides', () => {
    expect(
      deriveBillingStatus({
        customerId: CUSTOMER,
        facts: [],
        overrides: [],
        now: 0,
        settings: DEFAULT_STATUS_SETTINGS,
      }),
    ).toBeNull();
  });

  it('reports the last applied event in arrival order and its commit time', () => {
    const a = buildEvent('customer.created', { created: 500 });
    const b = buildEvent('customer.updated', { created: 100, livemode: true });
    const s = deriveBillingStatus({
      customerId: CUSTOMER,
      facts: [
        applied(a, CUSTOMER, '2026-11-22T10:00:00.000Z'),
        applied(b, CUSTOMER, '2026-11-22T10:00:01.000Z'),
      ],
      overrides: [],
      now: 0,
      settings: DEFAULT_STATUS_SETTINGS,
    });
    expect(s).toMatchObject({
      lastEventId: b.id,
      updatedAt: '2026-11-22T10:00:01.000Z',
      livemode: true,
    });
  });

  it('sorts blockers by since, then objectId, then reason', () => {
    const s = statusOf([
      buildEvent('invoice.payment_failed', { created: 200, object: { id: 'in_b' } }),
      buildEvent('invoice.payment_failed', { created: 200, object: { id: 'in_a' } }),
      buildEvent('charge.failed', { created: 100, object: { id: 'ch_z', payment_intent: null } }),
    ]);
    expect(reasons(s)).toEqual([
      'payment_failed:ch_z',
      'payment_failed:in_a',
      'payment_failed:in_b',
    ]);
  });

  it('lists each applied event once in the history, sorted by created then id', () => {
    const x = buildEvent('customer.updated', { created: 300, id: 'evt_b' });
    const y = buildEvent('customer.updated', { created: 300, id: 'evt_a' });
    const z = buildEvent('customer.created', { created: 100, id: 'evt_c' });
    const history = historyOf([applied(x), applied(y), applied(z), applied(x)], []);
    expect(history.map((h) => h.id)).toEqual(['evt_c', 'evt_a', 'evt_b']);
  });
});

describe('overrides, details', () => {
  it('breaks a tie of setAt by the greater override id', () => {
    const at = '2026-11-22T10:00:00.000Z';
    const s = statusOf([], {
      overrides: [override('ovr_b', 'deny', at), override('ovr_a', 'allow', at)],
    });
    expect(s.override?.mode).toBe('deny');
  });

  it('removes operator_deny once a later clear is set', () => {
    const s = statusOf([], {
      overrides: [
        override('ovr_1', 'deny', '2026-11-22T10:00:00.000Z'),
        override('ovr_2', null, '2026-11-22T10:00:01.000Z', null),
      ],
    });
    expect(s).toMatchObject({ canAllocate: true, blockers: [], override: null });
  });

  it('orders overrides by time, not by the text of setAt', () => {
    // Same instant family written with and without milliseconds: 10:00:00.5 is later.
    const s = statusOf([], {
      overrides: [
        override('ovr_2', 'deny', '2026-11-22T10:00:00Z'),
        override('ovr_1', 'allow', '2026-11-22T10:00:00.500Z'),
      ],
    });
    expect(s.override?.mode).toBe('allow');
  });

  it('lists operator_deny among the other blockers, sorted by since', () => {
    const s = statusOf([failed], {
      overrides: [override('ovr_1', 'deny', '1970-01-01T00:00:50.000Z')],
    });
    expect(reasons(s)).toEqual([`operator_deny:${CUSTOMER}`, 'payment_failed:in_1']);
  });

  it('makes a record exist from an override alone, with livemode false', () => {
    const s = statusOf([], { overrides: [override('ovr_1', 'allow', '2026-11-22T10:00:00.000Z')] });
    expect(s).toMatchObject({
      customerId: CUSTOMER,
      canAllocate: true,
      livemode: false,
      lastEventId: 'ovr_1',
      updatedAt: '2026-11-22T10:00:00.000Z',
    });
  });
});

describe('the record itself, details', () => {
  it('counts an override as the last commit when it is the latest', () => {
    const a = buildEvent('customer.created', { created: 500, livemode: true });
    const s = deriveBillingStatus({
      customerId: CUSTOMER,
      facts: [applied(a, CUSTOMER, '2026-11-22T10:00:00.000Z')],
      overrides: [override('ovr_1', 'allow', '2026-11-22T10:00:05.000Z')],
      now: 0,
      settings: DEFAULT_STATUS_SETTINGS,
    });
    expect(s).toMatchObject({
      lastEventId: 'ovr_1',
      updatedAt: '2026-11-22T10:00:05.000Z',
      livemode: true,
    });
  });

  it('breaks a tie of commit times by the greater id', () => {
    const at = '2026-11-22T10:00:00.000Z';
    const a = buildEvent('customer.created', { id: 'evt_a' });
    const b = buildEvent('customer.updated', { id: 'evt_b' });
    const s = deriveBillingStatus({
      customerId: CUSTOMER,
      facts: [applied(b, CUSTOMER, at), applied(a, CUSTOMER, at)],
      overrides: [],
      now: 0,
      settings: DEFAULT_STATUS_SETTINGS,
    });
    expect(s?.lastEventId).toBe('evt_b');
  });

  it('counts a duplicated fact once, at its first commit', () => {
    const a = buildEvent('customer.created', { id: 'evt_a' });
    const b = buildEvent('customer.updated', { id: 'evt_b' });
    const s = deriveBillingStatus({
      customerId: CUSTOMER,
      facts: [
        applied(a, CUSTOMER, '2026-11-22T10:00:02.000Z'),
        applied(b, CUSTOMER, '2026-11-22T10:00:01.000Z'),
        applied(a, CUSTOMER, '2026-11-22T10:00:00.000Z'),
      ],
      overrides: [],
      now: 0,
      settings: DEFAULT_STATUS_SETTINGS,
    });
    expect(s?.lastEventId).toBe('evt_b');
  });

  it('is canAllocate true with no blockers, even with warnings', () => {
    const s = statusOf([
      buildEvent('invoice.payment_action_required', { created: 100, object: { id: 'in_1' } }),
    ]);
    expect(s.canAllocate).toBe(true);
    expect(s.warnings).toHaveLength(1);
  });

  it('sorts warnings by since, then objectId', () => {
    const s = statusOf([
      buildEvent('invoice.payment_action_required', { created: 300, object: { id: 'in_a' } }),
      buildEvent('invoice.payment_action_required', { created: 200, object: { id: 'in_c' } }),
      buildEvent('invoice.payment_action_required', { created: 200, object: { id: 'in_b' } }),
    ]);
    expect(s.warnings.map((w) => w.objectId)).toEqual(['in_b', 'in_c', 'in_a']);
  });

  it('sorts blockers of the same since and object by reason', () => {
    // A PaymentIntent and an invoice cannot share an id in Stripe; forced here to reach the
    // third sort key.
    const s = statusOf([
      buildEvent('payment_intent.payment_failed', { created: 100, object: { id: 'x_1' } }),
      buildEvent('invoice.marked_uncollectible', { created: 100, object: { id: 'x_1' } }),
    ]);
    expect(s.blockers.map((b) => b.reason)).toEqual(['invoice_uncollectible', 'payment_failed']);
  });

  it('ignores facts of types no rule handles', () => {
    const known = applied(buildEvent('customer.created'));
    const s = deriveBillingStatus({
      customerId: CUSTOMER,
      facts: [known, { ...known, eventId: 'evt_other', type: 'plan.created' }],
      overrides: [],
      now: 0,
      settings: DEFAULT_STATUS_SETTINGS,
    });
    expect(s?.blockers).toEqual([]);
  });
});

describe('history', () => {
  it('lists an override with created in unix seconds, its commit time, reason and actor', () => {
    const history = historyOf([], [override('ovr_1', 'allow', '2026-11-22T10:00:00.900Z')]);
    expect(history).toEqual([
      {
        id: 'ovr_1',
        type: 'override.allow',
        created: Date.UTC(2026, 10, 22, 10) / 1000,
        appliedAt: '2026-11-22T10:00:00.900Z',
        reason: 'support ticket 42',
        actor: 'local:test',
      },
    ]);
  });

  it('names a clear override.cleared', () => {
    const history = historyOf([], [override('ovr_1', null, '2026-11-22T10:00:00.000Z', null)]);
    expect(history[0]?.type).toBe('override.cleared');
  });

  it('sorts overrides among events by created, then id', () => {
    const at = Date.UTC(2026, 10, 22, 10) / 1000;
    const before = buildEvent('customer.created', { created: at - 1, id: 'evt_1' });
    const same = buildEvent('customer.updated', { created: at, id: 'evt_2' });
    const history = historyOf(
      [applied(same), applied(before)],
      [override('ovr_1', 'deny', '2026-11-22T10:00:00.000Z')],
    );
    expect(history.map((h) => h.id)).toEqual(['evt_1', 'evt_2', 'ovr_1']);
  });

  it('lists an event entry with exactly id, type, created and appliedAt', () => {
    const e = buildEvent('invoice.paid', { created: 100, id: 'evt_1' });
    expect(historyOf([applied(e, CUSTOMER, '2026-01-01T00:00:00.000Z')], [])).toEqual([
      { id: 'evt_1', type: 'invoice.paid', created: 100, appliedAt: '2026-01-01T00:00:00.000Z' },
    ]);
  });

  it('lists a duplicated override once', () => {
    const o = override('ovr_1', 'deny', '2026-11-22T10:00:00.000Z');
    expect(historyOf([], [o, o])).toHaveLength(1);
  });
});

describe('long histories', () => {
  it('derives the status of 150,000 facts of one customer (no call-stack limit)', () => {
    // Hourly usage billing for 17 years: the first version failed near 125,000 facts.
    const facts: AppliedFact[] = [];
    for (let i = 0; i < 75_000; i++) {
      const created = 1_600_000_000 + i * 3600;
      const at = new Date(created * 1000).toISOString();
      const base = { customerId: CUSTOMER, livemode: true, appliedAt: at, created };
      facts.push({
        ...base,
        eventId: `evt_c${i}`,
        type: 'charge.succeeded',
        objectId: `ch_${i}`,
        data: { status: 'succeeded', paymentIntent: `pi_${i}` },
      });
      facts.push({
        ...base,
        eventId: `evt_p${i}`,
        type: i === 74_999 ? 'payment_intent.payment_failed' : 'payment_intent.succeeded',
        objectId: `pi_${i}`,
        data: { status: i === 74_999 ? 'requires_payment_method' : 'succeeded' },
      });
    }
    const status = deriveBillingStatus({
      customerId: CUSTOMER,
      facts,
      overrides: [],
      now: 1_900_000_000,
      settings: DEFAULT_STATUS_SETTINGS,
    });
    expect(status?.blockers).toEqual([
      {
        reason: 'payment_failed',
        objectId: 'pi_74999',
        since: 1_600_000_000 + 74_999 * 3600,
        eventId: 'evt_p74999',
      },
    ]);
    expect(status?.lastEventId).toBe('evt_p74999');
  });
});
