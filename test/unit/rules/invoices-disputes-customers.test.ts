// Invoices, disputes and customers: their rows of docs/behaviour.md#rules, with invoices of
// old API versions (no status), invoice warnings, and invoices and disputes closed by their
// event type apart from by their status.
import { describe, expect, it } from 'vitest';
import { buildEvent } from '../../../bin/events/stripe-events';
import { disputeRule } from '../../../lambdas/core/rules/dispute';
import { customerRule } from '../../../lambdas/core/rules/customer';
import {
  CUSTOMER,
  objectWithStatus,
  reasons,
  statusOf,
  warningReasons,
} from '../../support/derive';

const inv = (type: string, created: number, evt?: string, id = 'in_1') =>
  buildEvent(type, { created, object: { id }, ...(evt ? { id: evt } : {}) });
const dp = (type: string, created: number, status?: string, id = 'dp_1') =>
  buildEvent(type, { created, object: { id, ...(status ? { status } : {}) } });

describe('invoice rules', () => {
  it('blocks on invoice.payment_failed for that invoice', () => {
    const s = statusOf([inv('invoice.payment_failed', 100, 'evt_f')]);
    expect(s.blockers).toEqual([
      { reason: 'payment_failed', objectId: 'in_1', since: 100, eventId: 'evt_f' },
    ]);
  });

  it('is not cleared by a successful payment elsewhere: the invoice is still owed', () => {
    const s = statusOf([
      inv('invoice.payment_failed', 100),
      buildEvent('payment_intent.succeeded', { created: 200, object: { id: 'pi_9' } }),
    ]);
    expect(reasons(s)).toEqual(['payment_failed:in_1']);
  });

  it.each(['invoice.paid', 'invoice.payment_succeeded', 'invoice.voided'])(
    'removes the invoice blocker and warning for good on %s, even with an older created',
    (terminal) => {
      const s = statusOf([
        inv('invoice.payment_failed', 300),
        inv('invoice.marked_uncollectible', 400),
        inv('invoice.payment_action_required', 300),
        inv(terminal, 100),
      ]);
      expect(s.blockers).toEqual([]);
      expect(s.warnings).toEqual([]);
    },
  );

  it('replaces payment_failed by invoice_uncollectible, dated from the earliest of both', () => {
    const s = statusOf([
      inv('invoice.marked_uncollectible', 500, 'evt_u'),
      inv('invoice.payment_failed', 200, 'evt_f'),
    ]);
    expect(s.blockers).toEqual([
      { reason: 'invoice_uncollectible', objectId: 'in_1', since: 200, eventId: 'evt_f' },
    ]);
  });

  it('opens invoice_uncollectible on its own', () => {
    const s = statusOf([inv('invoice.marked_uncollectible', 500, 'evt_u')]);
    expect(s.blockers).toEqual([
      { reason: 'invoice_uncollectible', objectId: 'in_1', since: 500, eventId: 'evt_u' },
    ]);
  });

  it('warns payment_action_required without blocking', () => {
    const s = statusOf([inv('invoice.payment_action_required', 100)]);
    expect(s.canAllocate).toBe(true);
    expect(warningReasons(s)).toEqual(['payment_action_required:in_1']);
  });
});

describe('dispute rules', () => {
  it('blocks dispute_open on charge.dispute.created, inquiries included', () => {
    const s = statusOf([dp('charge.dispute.created', 100, 'warning_needs_response')]);
    expect(reasons(s)).toEqual(['dispute_open:dp_1']);
  });

  it('lifts the block for good on charge.dispute.closed with an older created', () => {
    const s = statusOf([dp('charge.dispute.created', 200), dp('charge.dispute.closed', 100)]);
    expect(s.blockers).toEqual([]);
  });

  it.each(['won', 'lost', 'warning_closed', 'prevented'])(
    'treats any dispute event with status %s as terminal',
    (status) => {
      const s = statusOf([
        dp('charge.dispute.created', 200),
        dp('charge.dispute.updated', 100, status),
      ]);
      expect(s.blockers).toEqual([]);
    },
  );

  it('keeps the block through an update with an open status', () => {
    const s = statusOf([
      dp('charge.dispute.created', 100),
      dp('charge.dispute.updated', 200, 'under_review'),
    ]);
    expect(reasons(s)).toEqual(['dispute_open:dp_1']);
  });

  it('finds a dispute customer through its charge and PaymentIntent', () => {
    const event = buildEvent('charge.dispute.created', {
      object: { charge: 'ch_1', payment_intent: 'pi_1' },
    });
    expect(disputeRule.resolveCustomer(event)).toEqual({
      kind: 'lookup',
      keys: ['ch_1', 'pi_1'],
      chargeId: 'ch_1',
    });
  });
});

describe('customer rules', () => {
  it('makes the record exist on customer.created without changing anything', () => {
    const s = statusOf([buildEvent('customer.created', { customer: CUSTOMER })]);
    expect(s).toMatchObject({ canAllocate: true, blockers: [], warnings: [], paymentMethods: [] });
  });

  it('blocks customer_deleted on customer.deleted, naming the customer', () => {
    const s = statusOf([
      buildEvent('customer.deleted', { customer: CUSTOMER, created: 100, id: 'evt_d' }),
    ]);
    expect(s.blockers).toEqual([
      { reason: 'customer_deleted', objectId: CUSTOMER, since: 100, eventId: 'evt_d' },
    ]);
  });

  it('reads customer events owner from the object id', () => {
    const event = buildEvent('customer.updated', { customer: 'cus_X1' });
    expect(customerRule.resolveCustomer(event)).toEqual({ kind: 'customer', customerId: 'cus_X1' });
  });
});

describe('invoice rules, details', () => {
  it.each(['paid', 'void'])('ends the invoice when any of its events shows status %s', (status) => {
    const s = statusOf([
      inv('invoice.payment_failed', 100),
      buildEvent('invoice.payment_action_required', {
        created: 50,
        object: { id: 'in_1', status },
      }),
    ]);
    expect(s.blockers).toEqual([]);
    expect(s.warnings).toEqual([]);
  });

  it('dates invoice_uncollectible from the smallest id among the earliest events', () => {
    const s = statusOf([
      inv('invoice.marked_uncollectible', 200, 'evt_b'),
      inv('invoice.payment_failed', 200, 'evt_a'),
      inv('invoice.payment_failed', 300, 'evt_0'),
    ]);
    expect(s.blockers).toEqual([
      { reason: 'invoice_uncollectible', objectId: 'in_1', since: 200, eventId: 'evt_a' },
    ]);
  });

  it('keeps each invoice apart: paying one leaves the other blocking', () => {
    const s = statusOf([
      inv('invoice.payment_failed', 100, undefined, 'in_1'),
      inv('invoice.payment_failed', 100, undefined, 'in_2'),
      inv('invoice.paid', 200, undefined, 'in_1'),
    ]);
    expect(reasons(s)).toEqual(['payment_failed:in_2']);
  });

  it('keeps the payment_action_required warning alongside a blocker of the same invoice', () => {
    const s = statusOf([
      inv('invoice.payment_action_required', 100),
      inv('invoice.payment_failed', 150),
    ]);
    expect(reasons(s)).toEqual(['payment_failed:in_1']);
    expect(warningReasons(s)).toEqual(['payment_action_required:in_1']);
  });
});

describe('dispute rules, details', () => {
  it('dates dispute_open from the created event', () => {
    const s = statusOf([
      buildEvent('charge.dispute.created', { id: 'evt_dc', created: 100, object: { id: 'dp_1' } }),
      dp('charge.dispute.updated', 200, 'under_review'),
    ]);
    expect(s.blockers).toEqual([
      { reason: 'dispute_open', objectId: 'dp_1', since: 100, eventId: 'evt_dc' },
    ]);
  });

  it('does not open a dispute that its created event already shows closed', () => {
    const s = statusOf([dp('charge.dispute.created', 100, 'warning_closed')]);
    expect(s.blockers).toEqual([]);
  });

  it('opens nothing from an update alone: only charge.dispute.created opens a dispute', () => {
    const s = statusOf([dp('charge.dispute.updated', 100, 'needs_response')]);
    expect(s.blockers).toEqual([]);
  });
});

describe('customer rules, details', () => {
  it('keeps customer_deleted whatever later customer events say', () => {
    const s = statusOf([
      buildEvent('customer.deleted', { customer: CUSTOMER, created: 100 }),
      buildEvent('customer.updated', { customer: CUSTOMER, created: 200 }),
      buildEvent('customer.created', { customer: CUSTOMER, created: 300 }),
    ]);
    expect(reasons(s)).toEqual([`customer_deleted:${CUSTOMER}`]);
  });
});

describe('invoices of old API versions (no status)', () => {
  const oldInvoice = (type: string, created: number, paid: boolean, id: string) =>
    buildEvent(type, { id, created, object: { id: 'in_1', status: undefined, paid } });

  it('blocks on an old-API invoice.payment_failed that says paid: false', () => {
    const s = statusOf([oldInvoice('invoice.payment_failed', 100, false, 'evt_f')]);
    expect(s.blockers).toEqual([
      { reason: 'payment_failed', objectId: 'in_1', since: 100, eventId: 'evt_f' },
    ]);
    expect(s.canAllocate).toBe(false);
  });

  it('ends the invoice when an old-API event of a non-terminal type says paid: true', () => {
    const s = statusOf([
      oldInvoice('invoice.payment_failed', 100, false, 'evt_f'),
      oldInvoice('invoice.payment_action_required', 90, true, 'evt_late_read'),
    ]);
    expect(s.blockers).toEqual([]);
    expect(s.warnings).toEqual([]);
  });
});

describe('invoice warnings', () => {
  it('gives a failed invoice a blocker and no payment_action_required warning', () => {
    const s = statusOf([
      buildEvent('invoice.payment_failed', { created: 100, object: { id: 'in_1' } }),
      buildEvent('invoice.marked_uncollectible', { created: 200, object: { id: 'in_2' } }),
    ]);
    expect(reasons(s)).toEqual(['payment_failed:in_1', 'invoice_uncollectible:in_2']);
    expect(s.warnings).toEqual([]);
  });
});

describe('closing by event type and closing by status, apart', () => {
  it.each(['invoice.voided', 'invoice.paid', 'invoice.payment_succeeded'])(
    'ends an invoice on %s even when its object has no status',
    (type) => {
      const s = statusOf([
        buildEvent('invoice.payment_failed', { created: 300, object: { id: 'in_1' } }),
        buildEvent(type, { created: 100, object: objectWithStatus('in_1', undefined) }),
      ]);
      expect(s.blockers).toEqual([]);
    },
  );

  it.each(['paid', 'void'])(
    'ends an invoice when a failure event already shows status %s',
    (status) => {
      const s = statusOf([
        buildEvent('invoice.payment_failed', { created: 100, object: { id: 'in_1' } }),
        buildEvent('invoice.payment_failed', {
          created: 50,
          object: objectWithStatus('in_1', status),
        }),
      ]);
      expect(s.blockers).toEqual([]);
    },
  );

  it('keeps an invoice blocking while its statuses are open or uncollectible', () => {
    const s = statusOf([
      buildEvent('invoice.payment_failed', {
        created: 100,
        object: objectWithStatus('in_1', 'open'),
      }),
      buildEvent('invoice.payment_failed', {
        created: 200,
        object: objectWithStatus('in_1', 'uncollectible'),
      }),
    ]);
    expect(reasons(s)).toEqual(['payment_failed:in_1']);
  });

  it('ends a dispute on charge.dispute.closed even when its object has no status', () => {
    const s = statusOf([
      buildEvent('charge.dispute.created', { created: 300, object: { id: 'dp_1' } }),
      buildEvent('charge.dispute.closed', {
        created: 100,
        object: { id: 'dp_1', status: undefined },
      }),
    ]);
    expect(s.blockers).toEqual([]);
  });

  it.each(['won', 'lost', 'warning_closed', 'prevented'])(
    'ends a dispute when an update shows status %s without the closing type',
    (status) => {
      const s = statusOf([
        buildEvent('charge.dispute.created', { created: 100, object: { id: 'dp_1' } }),
        buildEvent('charge.dispute.updated', { created: 200, object: { id: 'dp_1', status } }),
      ]);
      expect(s.blockers).toEqual([]);
    },
  );
});
