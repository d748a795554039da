// PaymentIntents, legacy charges and supersede: the payment rows of docs/behaviour.md#rules,
// with a PaymentIntent closed by its event type apart from by its status.
import { describe, expect, it } from 'vitest';
import { buildEvent } from '../../../bin/events/stripe-events';
import { objectWithStatus, reasons, statusOf } from '../../support/derive';

const pi = (type: string, id: string, created: number, evt?: string) =>
  buildEvent(type, { created, object: { id }, ...(evt ? { id: evt } : {}) });
const charge = (type: string, id: string, created: number, paymentIntent: string | null = null) =>
  buildEvent(type, { created, object: { id, payment_intent: paymentIntent } });

describe('payment_intent rules', () => {
  it('blocks a customer whose PaymentIntent failed, naming the PaymentIntent and event', () => {
    const failed = pi('payment_intent.payment_failed', 'pi_1', 100, 'evt_fail');
    const s = statusOf([failed]);
    expect(s.canAllocate).toBe(false);
    expect(s.blockers).toEqual([
      { reason: 'payment_failed', objectId: 'pi_1', since: 100, eventId: 'evt_fail' },
    ]);
  });

  it('lifts the block when the same PaymentIntent succeeds, whatever the order of created', () => {
    const s = statusOf([
      pi('payment_intent.payment_failed', 'pi_1', 200),
      pi('payment_intent.succeeded', 'pi_1', 100),
    ]);
    expect(s.blockers).toEqual([]);
    expect(s.canAllocate).toBe(true);
  });

  it('treats a canceled PaymentIntent as terminal', () => {
    const s = statusOf([
      pi('payment_intent.canceled', 'pi_1', 100),
      pi('payment_intent.payment_failed', 'pi_1', 300),
    ]);
    expect(s.blockers).toEqual([]);
  });

  it('lets a later successful payment of another PaymentIntent supersede a failure', () => {
    const s = statusOf([
      pi('payment_intent.payment_failed', 'pi_1', 100),
      pi('payment_intent.succeeded', 'pi_2', 100),
    ]);
    expect(s.blockers).toEqual([]);
  });

  it('blocks again on a failure after the superseding success, since that failure', () => {
    const s = statusOf([
      pi('payment_intent.payment_failed', 'pi_1', 100),
      pi('payment_intent.succeeded', 'pi_2', 150),
      pi('payment_intent.payment_failed', 'pi_1', 200, 'evt_b'),
      pi('payment_intent.payment_failed', 'pi_1', 200, 'evt_a'),
    ]);
    expect(s.blockers).toEqual([
      { reason: 'payment_failed', objectId: 'pi_1', since: 200, eventId: 'evt_a' },
    ]);
  });

  it('supersedes with the latest of several successful payments, whatever their order', () => {
    const failed = pi('payment_intent.payment_failed', 'pi_3', 200);
    const early = pi('payment_intent.succeeded', 'pi_2', 100);
    const late = pi('payment_intent.succeeded', 'pi_1', 300);
    expect(statusOf([late, early, failed]).blockers).toEqual([]);
    expect(statusOf([failed, late, early]).blockers).toEqual([]);
    expect(statusOf([early, failed, late]).blockers).toEqual([]);
  });

  it('keeps since at the smallest created among unsuperseded failures', () => {
    const s = statusOf([
      pi('payment_intent.payment_failed', 'pi_1', 300),
      pi('payment_intent.payment_failed', 'pi_1', 250),
    ]);
    expect(s.blockers[0]?.since).toBe(250);
  });
});

describe('charge rules', () => {
  it('blocks on a legacy charge failure (no payment_intent)', () => {
    const s = statusOf([charge('charge.failed', 'ch_1', 100)]);
    expect(reasons(s)).toEqual(['payment_failed:ch_1']);
  });

  it('changes no blocker for a failed charge of a PaymentIntent', () => {
    const s = statusOf([charge('charge.failed', 'ch_1', 100, 'pi_1')]);
    expect(s.blockers).toEqual([]);
  });

  it('supersedes failures with a legacy successful charge at or after them', () => {
    const s = statusOf([
      charge('charge.failed', 'ch_1', 100),
      pi('payment_intent.payment_failed', 'pi_1', 100),
      charge('charge.succeeded', 'ch_2', 100),
    ]);
    expect(s.blockers).toEqual([]);
  });

  it('does not count a charge.succeeded of a PaymentIntent as a superseding payment', () => {
    const s = statusOf([
      charge('charge.failed', 'ch_1', 100),
      charge('charge.succeeded', 'ch_2', 200, 'pi_9'),
    ]);
    expect(reasons(s)).toEqual(['payment_failed:ch_1']);
  });

  it('ignores an earlier success: a success before the failure does not clear it', () => {
    const s = statusOf([
      pi('payment_intent.succeeded', 'pi_2', 99),
      charge('charge.failed', 'ch_1', 100),
    ]);
    expect(reasons(s)).toEqual(['payment_failed:ch_1']);
  });
});

describe('payment_intent rules, details', () => {
  it('treats a PaymentIntent whose object status is succeeded as terminal, whatever the event', () => {
    const s = statusOf([
      buildEvent('payment_intent.payment_failed', {
        created: 100,
        object: { id: 'pi_1', status: 'succeeded' },
      }),
    ]);
    expect(s.blockers).toEqual([]);
  });

  it('keeps a failure blocking when only an unrelated PaymentIntent was canceled', () => {
    const s = statusOf([
      pi('payment_intent.payment_failed', 'pi_1', 100),
      pi('payment_intent.canceled', 'pi_2', 200),
    ]);
    expect(reasons(s)).toEqual(['payment_failed:pi_1']);
  });

  it('lists one blocker per failed PaymentIntent, each with its own since', () => {
    const s = statusOf([
      pi('payment_intent.payment_failed', 'pi_2', 120, 'evt_2'),
      pi('payment_intent.payment_failed', 'pi_1', 110, 'evt_1'),
    ]);
    expect(s.blockers).toEqual([
      { reason: 'payment_failed', objectId: 'pi_1', since: 110, eventId: 'evt_1' },
      { reason: 'payment_failed', objectId: 'pi_2', since: 120, eventId: 'evt_2' },
    ]);
  });

  it('dates a re-opened block from the first failure after the latest success only', () => {
    const s = statusOf([
      pi('payment_intent.payment_failed', 'pi_1', 100),
      pi('payment_intent.succeeded', 'pi_2', 200),
      pi('payment_intent.payment_failed', 'pi_1', 300, 'evt_3'),
      pi('payment_intent.payment_failed', 'pi_1', 400),
    ]);
    expect(s.blockers).toEqual([
      { reason: 'payment_failed', objectId: 'pi_1', since: 300, eventId: 'evt_3' },
    ]);
  });

  it('counts a payment_intent.canceled as no successful payment', () => {
    const s = statusOf([
      pi('payment_intent.payment_failed', 'pi_1', 100),
      pi('payment_intent.canceled', 'pi_2', 200),
    ]);
    expect(s.canAllocate).toBe(false);
  });
});

describe('charge rules, details', () => {
  it('lets a legacy charge failure after a legacy success block again', () => {
    const s = statusOf([
      charge('charge.succeeded', 'ch_2', 100),
      charge('charge.failed', 'ch_1', 101),
    ]);
    expect(reasons(s)).toEqual(['payment_failed:ch_1']);
  });

  it('lets a PaymentIntent success supersede a legacy charge failure at the same second', () => {
    const s = statusOf([
      charge('charge.failed', 'ch_1', 100),
      pi('payment_intent.succeeded', 'pi_1', 100),
    ]);
    expect(s.blockers).toEqual([]);
  });

  it('reads an expanded payment_intent on a charge as a PaymentIntent charge', () => {
    const s = statusOf([
      buildEvent('charge.failed', {
        created: 100,
        object: { id: 'ch_1', payment_intent: { id: 'pi_1', object: 'payment_intent' } },
      }),
    ]);
    expect(s.blockers).toEqual([]);
  });
});

describe('closing by event type and closing by status, apart', () => {
  it.each(['payment_intent.canceled', 'payment_intent.succeeded'])(
    'ends a PaymentIntent on %s even when its object has no status',
    (type) => {
      const s = statusOf([
        buildEvent('payment_intent.payment_failed', { created: 300, object: { id: 'pi_1' } }),
        buildEvent(type, { created: 100, object: objectWithStatus('pi_1', undefined) }),
      ]);
      expect(s.blockers).toEqual([]);
    },
  );

  it.each(['succeeded', 'canceled'])(
    'ends a PaymentIntent when a failure event already shows status %s',
    (status) => {
      const s = statusOf([
        buildEvent('payment_intent.payment_failed', { created: 100, object: { id: 'pi_1' } }),
        buildEvent('payment_intent.payment_failed', {
          created: 50,
          object: objectWithStatus('pi_1', status),
        }),
      ]);
      expect(s.blockers).toEqual([]);
    },
  );

  it('keeps a PaymentIntent blocking while its statuses are not terminal', () => {
    const s = statusOf([
      buildEvent('payment_intent.payment_failed', {
        created: 100,
        object: objectWithStatus('pi_1', 'processing'),
      }),
      buildEvent('payment_intent.payment_failed', {
        created: 200,
        object: objectWithStatus('pi_1', undefined),
      }),
    ]);
    expect(reasons(s)).toEqual(['payment_failed:pi_1']);
  });
});
