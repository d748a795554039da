import { describe, expect, it } from 'vitest';
import { buildEvent } from '../../bin/stripe-events';
import { deriveBillingStatus } from '../../lambdas/core/billing-status';
import type { OverrideRecord } from '../../lambdas/core/facts';
import { historyOf } from '../../lambdas/core/history';
import { CUSTOMER, applied, reasons, statusOf } from '../support/derive';

const override = (
  id: string,
  mode: 'allow' | 'deny' | null,
  setAt: string,
  reason: string | null = 'support ticket 42',
): OverrideRecord => ({ id, customerId: CUSTOMER, mode, reason, setAt, actor: 'local:test' });

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
        expiryWarningDays: 30,
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
      expiryWarningDays: 30,
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
