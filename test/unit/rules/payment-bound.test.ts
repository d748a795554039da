// The bound on one object's failures (docs/behaviour.md#hostile-and-busy-customers): a
// PaymentIntent retried by the thousand keeps its nine earliest failures and its latest, so
// whether it blocks stays exact and its entry stays small.
import { describe, expect, it } from 'vitest';
import { buildEvent } from '../../../bin/events/stripe-events';
import { paymentEntry, MAX_FAILURES_KEPT } from '../../../lambdas/core/rules/payment-failures';
import { applied, statusOf } from '../../support/derive';

const failure = (n: number) =>
  buildEvent('payment_intent.payment_failed', {
    id: `evt_${String(n).padStart(4, '0')}`,
    created: 1_000 + n * 10,
    object: { id: 'pi_retried' },
  });
const success = (created: number) =>
  buildEvent('payment_intent.succeeded', { created, object: { id: 'pi_other' } });

describe('the failures kept for one object', () => {
  it('keeps the nine earliest and the latest of 25 failures', () => {
    const entry = paymentEntry(Array.from({ length: 25 }, (_, n) => applied(failure(n))));

    expect(MAX_FAILURES_KEPT).toBe(10);
    expect(entry?.failures.map((f) => f.eventId)).toEqual([
      ...Array.from({ length: 9 }, (_, n) => `evt_${String(n).padStart(4, '0')}`),
      'evt_0024',
    ]);
  });

  it('keeps every failure up to the bound', () => {
    const entry = paymentEntry(Array.from({ length: 10 }, (_, n) => applied(failure(n))));

    expect(entry?.failures).toHaveLength(10);
  });

  it('blocks from the earliest failure while none is superseded', () => {
    const s = statusOf(Array.from({ length: 25 }, (_, n) => failure(n)));

    expect(s.blockers).toEqual([
      { reason: 'payment_failed', objectId: 'pi_retried', since: 1_000, eventId: 'evt_0000' },
    ]);
  });

  it('still blocks when a success supersedes every kept early failure, dated by the latest', () => {
    // The success falls after the ninth failure (1,080) and before the latest (1,240).
    const s = statusOf([...Array.from({ length: 25 }, (_, n) => failure(n)), success(1_150)]);

    expect(s.canAllocate).toBe(false);
    expect(s.blockers).toEqual([
      { reason: 'payment_failed', objectId: 'pi_retried', since: 1_240, eventId: 'evt_0024' },
    ]);
  });

  it('lets a success after the latest failure lift the block', () => {
    const s = statusOf([...Array.from({ length: 25 }, (_, n) => failure(n)), success(1_240)]);

    expect(s.canAllocate).toBe(true);
    expect(s.blockers).toEqual([]);
  });
});
