// Invoices (overdue, uncollectible, paused collection, retries), invoice payments and
// subscriptions at every branch: docs/behaviour.md#rules, #paymentintents-and-charges-of-invoices
// and #todays-stripe. Statuses come from test/support/derive.ts (checked four ways); the fact
// fields are read from the rules directly.
import { describe, expect, it } from 'vitest';
import {
  PRE_BASIL_API_VERSION,
  UNCOLLECTIBLE_REASONS,
  buildEvent,
  type EventOptions,
} from '../../../bin/events/stripe-events';
import { DEFAULT_STATUS_SETTINGS, deriveBillingStatus } from '../../../lambdas/core/billing-status';
import { parsePolicy } from '../../../lambdas/core/policy';
import { PAUSED_COLLECTION, invoiceRule } from '../../../lambdas/core/rules/invoice';
import { invoicePaymentRule } from '../../../lambdas/core/rules/invoice-payment';
import { subscriptionRule } from '../../../lambdas/core/rules/subscription';
import {
  CUSTOMER,
  applied,
  linksOf,
  reasons,
  statusOf,
  warningReasons,
} from '../../support/derive';

const inv = (type: string, created: number, id: string, options: EventOptions = {}) =>
  buildEvent(type, { created, id, invoiceId: 'in_1', ...options });

describe('invoice.overdue', () => {
  it('blocks invoice_overdue for that invoice, dated by its earliest overdue', () => {
    const s = statusOf([
      inv('invoice.overdue', 300, 'evt_o2'),
      inv('invoice.overdue', 200, 'evt_o1'),
      inv('invoice.overdue', 400, 'evt_o3'),
    ]);
    expect(s.blockers).toEqual([
      { reason: 'invoice_overdue', objectId: 'in_1', since: 200, eventId: 'evt_o1' },
    ]);
    expect(s.canAllocate).toBe(false);
  });

  it('dates it from the smallest id among overdue events of the same second', () => {
    const s = statusOf([
      inv('invoice.overdue', 200, 'evt_b'),
      inv('invoice.overdue', 200, 'evt_a'),
    ]);
    expect(s.blockers).toEqual([
      { reason: 'invoice_overdue', objectId: 'in_1', since: 200, eventId: 'evt_a' },
    ]);
  });

  it.each(['invoice.paid', 'invoice.payment_succeeded', 'invoice.voided'])(
    'ends on %s, even one with an older created',
    (type) => {
      const s = statusOf([inv('invoice.overdue', 200, 'evt_o'), inv(type, 100, 'evt_t')]);
      expect(s.blockers).toEqual([]);
      expect(s.canAllocate).toBe(true);
    },
  );

  it.each(['paid', 'void'])('ends when an event shows the invoice %s', (status) => {
    const s = statusOf([
      inv('invoice.overdue', 200, 'evt_o'),
      inv('invoice.overdue', 300, 'evt_p', { status }),
    ]);
    expect(s.blockers).toEqual([]);
  });

  it('keeps blocking after an event with another status', () => {
    const s = statusOf([
      inv('invoice.overdue', 200, 'evt_o'),
      inv('invoice.payment_action_required', 300, 'evt_r', { status: 'open' }),
    ]);
    expect(reasons(s)).toEqual(['invoice_overdue:in_1']);
    expect(warningReasons(s)).toEqual(['payment_action_required:in_1']);
  });

  it('keeps each invoice apart', () => {
    const s = statusOf([
      inv('invoice.overdue', 200, 'evt_o1'),
      inv('invoice.overdue', 250, 'evt_o2', { invoiceId: 'in_2' }),
      inv('invoice.paid', 300, 'evt_p1'),
    ]);
    expect(reasons(s)).toEqual(['invoice_overdue:in_2']);
  });

  it('stands beside the payment_failed of the same invoice', () => {
    const s = statusOf([
      inv('invoice.payment_failed', 100, 'evt_f'),
      inv('invoice.overdue', 200, 'evt_o'),
    ]);
    expect(s.blockers).toEqual([
      {
        reason: 'payment_failed',
        objectId: 'in_1',
        since: 100,
        eventId: 'evt_f',
      },
      { reason: 'invoice_overdue', objectId: 'in_1', since: 200, eventId: 'evt_o' },
    ]);
  });

  it('is replaced by invoice_uncollectible, dated by failure and marking only', () => {
    const s = statusOf([
      inv('invoice.overdue', 100, 'evt_o'),
      inv('invoice.payment_failed', 300, 'evt_f'),
      inv('invoice.marked_uncollectible', 200, 'evt_u'),
    ]);
    expect(s.blockers).toEqual([
      { reason: 'invoice_uncollectible', objectId: 'in_1', since: 200, eventId: 'evt_u' },
    ]);
  });

  it('old API versions: ended by an invoice without a status that says paid: true', () => {
    const pre = { apiVersion: PRE_BASIL_API_VERSION };
    const paid = statusOf([
      inv('invoice.overdue', 200, 'evt_o', pre),
      inv('invoice.overdue', 300, 'evt_p', { ...pre, object: { status: undefined, paid: true } }),
    ]);
    expect(paid.blockers).toEqual([]);
    const unpaid = statusOf([
      inv('invoice.overdue', 200, 'evt_o', pre),
      inv('invoice.overdue', 300, 'evt_p', { ...pre, object: { status: undefined, paid: false } }),
    ]);
    expect(reasons(unpaid)).toEqual(['invoice_overdue:in_1']);
  });
});

describe('paused collection (status_details.uncollectible.reason)', () => {
  const paused = { uncollectibleReason: PAUSED_COLLECTION };

  it('is the reason subscription_paused', () => {
    expect(PAUSED_COLLECTION).toBe('subscription_paused');
  });

  it('opens no invoice_uncollectible', () => {
    const s = statusOf([inv('invoice.marked_uncollectible', 200, 'evt_u', paused)]);
    expect(s.blockers).toEqual([]);
    expect(s.warnings).toEqual([]);
    expect(s.canAllocate).toBe(true);
  });

  it('ends the payment_failed and invoice_overdue of the invoice, whatever the order', () => {
    const s = statusOf([
      inv('invoice.payment_failed', 100, 'evt_f'),
      inv('invoice.overdue', 150, 'evt_o'),
      inv('invoice.marked_uncollectible', 200, 'evt_u', paused),
      inv('invoice.payment_failed', 300, 'evt_f2'),
      inv('invoice.overdue', 350, 'evt_o2'),
    ]);
    expect(s.blockers).toEqual([]);
  });

  it('also when the paused event is older than the others', () => {
    const s = statusOf([
      inv('invoice.marked_uncollectible', 50, 'evt_u', paused),
      inv('invoice.marked_uncollectible', 300, 'evt_u2'),
      inv('invoice.payment_failed', 400, 'evt_f'),
    ]);
    expect(s.blockers).toEqual([]);
  });

  it('pauses only its own invoice', () => {
    const s = statusOf([
      inv('invoice.marked_uncollectible', 200, 'evt_u', paused),
      inv('invoice.payment_failed', 300, 'evt_f', { invoiceId: 'in_2' }),
    ]);
    expect(reasons(s)).toEqual(['payment_failed:in_2']);
  });

  it('keeps the payment_action_required warning', () => {
    const s = statusOf([
      inv('invoice.marked_uncollectible', 200, 'evt_u', paused),
      inv('invoice.payment_action_required', 250, 'evt_r'),
    ]);
    expect(s.blockers).toEqual([]);
    expect(s.warnings).toEqual([
      { reason: 'payment_action_required', objectId: 'in_1', since: 250, eventId: 'evt_r' },
    ]);
  });

  const otherReasons = UNCOLLECTIBLE_REASONS.filter((r) => r !== PAUSED_COLLECTION);

  it('has the other documented reasons', () => {
    expect(otherReasons.slice().sort()).toEqual([
      'max_payment_attempts',
      'payment_not_received',
      'subscription_canceled',
      'user_forgiven',
    ]);
  });

  it.each<[string | null]>([...otherReasons.map((r): [string] => [r]), [null]])(
    'keeps blocking with reason %s: invoice_uncollectible replaces failure and overdue',
    (reason) => {
      const s = statusOf([
        inv('invoice.payment_failed', 100, 'evt_f'),
        inv('invoice.overdue', 150, 'evt_o'),
        inv('invoice.marked_uncollectible', 200, 'evt_u', { uncollectibleReason: reason }),
      ]);
      expect(s.blockers).toEqual([
        { reason: 'invoice_uncollectible', objectId: 'in_1', since: 100, eventId: 'evt_f' },
      ]);
    },
  );

  it('keeps blocking on an old API version, which says no reason', () => {
    const s = statusOf([
      inv('invoice.marked_uncollectible', 200, 'evt_u', { apiVersion: PRE_BASIL_API_VERSION }),
    ]);
    expect(reasons(s)).toEqual(['invoice_uncollectible:in_1']);
  });

  it('ends, like any invoice, when it is paid', () => {
    const s = statusOf([
      inv('invoice.marked_uncollectible', 200, 'evt_u', paused),
      inv('invoice.payment_action_required', 250, 'evt_r'),
      inv('invoice.paid', 300, 'evt_p'),
    ]);
    expect(s.warnings).toEqual([]);
  });
});

describe("an invoice failure and Stripe's retries (whileRetrying)", () => {
  const policy = parsePolicy({ payment_failed: { action: 'block', whileRetrying: true } });
  const failure = (
    created: number,
    id: string,
    attemptCount: number | undefined,
    next: number | null,
  ) =>
    inv('invoice.payment_failed', created, id, {
      ...(attemptCount === undefined ? { object: { attempt_count: undefined } } : { attemptCount }),
      nextPaymentAttempt: next,
    });

  it('warns with blocksAt null while the newest failure plans a retry', () => {
    const s = statusOf([failure(100, 'evt_f', 1, 500)], { policy, now: 200 });
    expect(s.canAllocate).toBe(true);
    expect(s.warnings).toEqual([
      { reason: 'payment_failed', objectId: 'in_1', since: 100, eventId: 'evt_f', blocksAt: null },
    ]);
  });

  it('blocks from the newest failure once it plans none', () => {
    const s = statusOf([failure(100, 'evt_f1', 1, 500), failure(300, 'evt_f2', 2, null)], {
      policy,
      now: 400,
    });
    expect(s.blockers).toEqual([
      { reason: 'payment_failed', objectId: 'in_1', since: 100, eventId: 'evt_f1', blocksAt: 300 },
    ]);
  });

  it('takes the greatest attempt count as the newest, whatever its created', () => {
    const s = statusOf([failure(100, 'evt_f3', 3, 900), failure(300, 'evt_f2', 2, null)], {
      policy,
      now: 400,
    });
    expect(s.canAllocate).toBe(true);
    expect(s.warnings[0]?.blocksAt).toBeNull();
  });

  it('ranks a failure without an attempt count first', () => {
    const s = statusOf([failure(500, 'evt_fx', undefined, 900), failure(300, 'evt_f0', 0, null)], {
      policy,
      now: 600,
    });
    expect(s.blockers).toEqual([
      expect.objectContaining({ reason: 'payment_failed', blocksAt: 300 }),
    ]);
  });

  it('at equal attempt counts takes the later created, then the greater id', () => {
    const byCreated = statusOf([failure(100, 'evt_z', 2, null), failure(200, 'evt_a', 2, 900)], {
      policy,
      now: 300,
    });
    expect(byCreated.canAllocate).toBe(true);
    const byId = statusOf([failure(200, 'evt_b', 2, null), failure(200, 'evt_a', 2, 900)], {
      policy,
      now: 300,
    });
    expect(byId.blockers).toEqual([
      expect.objectContaining({ reason: 'payment_failed', eventId: 'evt_a', blocksAt: 200 }),
    ]);
  });

  it('blocks at once without whileRetrying, retries or not', () => {
    const s = statusOf([failure(100, 'evt_f', 1, 500)], { now: 200 });
    expect(s.blockers).toEqual([
      { reason: 'payment_failed', objectId: 'in_1', since: 100, eventId: 'evt_f' },
    ]);
  });
});

describe('the invoice fact', () => {
  const factOf = (type: string, options: EventOptions = {}) =>
    invoiceRule.toFact(buildEvent(type, { created: 100, invoiceId: 'in_1', ...options })).data;

  it('reads status, attempts, the planned retry and the uncollectible reason (pinned version)', () => {
    expect(
      factOf('invoice.marked_uncollectible', {
        attemptCount: 4,
        uncollectibleReason: 'user_forgiven',
      }),
    ).toMatchObject({
      status: 'uncollectible',
      paymentIntent: null,
      attemptCount: 4,
      nextPaymentAttempt: null,
      uncollectibleReason: 'user_forgiven',
    });
    expect(
      factOf('invoice.payment_failed', { attemptCount: 2, nextPaymentAttempt: 777 }),
    ).toMatchObject({
      status: 'open',
      attemptCount: 2,
      nextPaymentAttempt: 777,
      uncollectibleReason: null,
    });
  });

  it('reads the PaymentIntent of old API versions, as an id or expanded', () => {
    const pre = { apiVersion: PRE_BASIL_API_VERSION };
    expect(factOf('invoice.payment_failed', { ...pre, paymentIntentId: 'pi_1' })).toMatchObject({
      paymentIntent: 'pi_1',
      uncollectibleReason: null,
    });
    expect(
      factOf('invoice.payment_failed', { ...pre, object: { payment_intent: { id: 'pi_2' } } }),
    ).toMatchObject({ paymentIntent: 'pi_2' });
  });

  it('reads an old invoice without a status as paid only when it says paid: true', () => {
    const pre = { apiVersion: PRE_BASIL_API_VERSION };
    expect(
      factOf('invoice.paid', { ...pre, object: { status: undefined, paid: true } }).status,
    ).toBe('paid');
    expect(
      factOf('invoice.paid', { ...pre, object: { status: undefined, paid: false } }).status,
    ).toBeNull();
    expect(factOf('invoice.paid', { ...pre, object: { status: 'open', paid: true } }).status).toBe(
      'open',
    );
  });

  it('reads fields of the wrong type as absent', () => {
    expect(
      factOf('invoice.payment_failed', {
        object: {
          status: 7,
          attempt_count: '2',
          next_payment_attempt: Number.NaN,
          status_details: { uncollectible: { reason: 3 } },
        },
      }),
    ).toMatchObject({
      status: null,
      attemptCount: null,
      nextPaymentAttempt: null,
      uncollectibleReason: null,
    });
    expect(
      factOf('invoice.payment_failed', { object: { status_details: { uncollectible: null } } })
        .uncollectibleReason,
    ).toBeNull();
  });

  it('links the PaymentIntent an old invoice names to it, and reads its id', () => {
    const event = buildEvent('invoice.payment_failed', {
      apiVersion: PRE_BASIL_API_VERSION,
      invoiceId: 'in_1',
      paymentIntentId: 'pi_1',
    });
    expect(invoiceRule.links?.(event)).toEqual([{ payment: 'pi_1', invoice: 'in_1' }]);
    expect(invoiceRule.idsRead(event)).toContain('pi_1');
    expect(
      invoiceRule.links?.(buildEvent('invoice.payment_failed', { invoiceId: 'in_1' })),
    ).toEqual([]);
  });
});

describe('invoice_payment.paid', () => {
  const failedPi = (created = 100) =>
    buildEvent('payment_intent.payment_failed', { created, id: 'evt_pf', paymentIntentId: 'pi_1' });
  const invoicePayment = (options: EventOptions = {}) =>
    buildEvent('invoice_payment.paid', {
      created: 200,
      id: 'evt_ip',
      invoiceId: 'in_1',
      paymentIntentId: 'pi_1',
      ...options,
    });

  it('lets the failure of a PaymentIntent nothing links block on its own', () => {
    expect(reasons(statusOf([failedPi()]))).toEqual(['payment_failed:pi_1']);
  });

  it('links the PaymentIntent to its invoice: its failure opens no condition, in any order', () => {
    const s = statusOf([failedPi(), invoicePayment()]);
    expect(s.blockers).toEqual([]);
    expect(s.canAllocate).toBe(true);
  });

  it('links only the PaymentIntent it names', () => {
    const other = buildEvent('payment_intent.payment_failed', {
      created: 120,
      paymentIntentId: 'pi_2',
    });
    const s = statusOf([failedPi(), other, invoicePayment({ paymentIntentId: 'pi_2' })]);
    expect(reasons(s)).toEqual(['payment_failed:pi_1']);
  });

  it("leaves the invoice's own conditions to decide", () => {
    const s = statusOf([
      failedPi(),
      invoicePayment(),
      inv('invoice.payment_failed', 150, 'evt_if'),
    ]);
    expect(reasons(s)).toEqual(['payment_failed:in_1']);
  });

  it('links a legacy charge named by payment.charge', () => {
    const charge = buildEvent('charge.failed', {
      created: 100,
      object: { id: 'ch_1', payment_intent: null },
    });
    expect(reasons(statusOf([charge]))).toEqual(['payment_failed:ch_1']);
    const events = [
      charge,
      invoicePayment({
        paymentIntentId: undefined,
        object: { payment: { type: 'charge', charge: 'ch_1' } },
      }),
    ];
    // The full derivation alone: the reference derivation does not read payment.charge.
    const linked = deriveBillingStatus({
      customerId: CUSTOMER,
      facts: events.map((e) => applied(e)),
      links: events.flatMap(linksOf),
      overrides: [],
      now: 1_000,
      settings: DEFAULT_STATUS_SETTINGS,
    });
    expect(linked?.blockers).toEqual([]);
    expect(linksOf(events[1]!)).toEqual([{ payment: 'ch_1', invoice: 'in_1' }]);
  });

  it('carries its payment, invoice and status, and waits for the payment’s customer', () => {
    const event = invoicePayment();
    expect(invoicePaymentRule.toFact(event).data).toEqual({
      payment: 'pi_1',
      invoice: 'in_1',
      status: 'paid',
    });
    expect(invoicePaymentRule.resolveCustomer(event)).toEqual({
      kind: 'lookup',
      keys: ['pi_1'],
      chargeId: null,
    });
    expect(invoicePaymentRule.links?.(event)).toEqual([{ payment: 'pi_1', invoice: 'in_1' }]);
    expect(invoicePaymentRule.idsRead(event)).toEqual([event.data.object.id, 'pi_1', 'in_1']);
    expect(invoicePaymentRule.entryKind).toBeNull();
    expect(invoicePaymentRule.customerEffect(invoicePaymentRule.toFact(event))).toEqual({});
  });

  it('prefers payment.payment_intent over payment.charge', () => {
    const event = invoicePayment({
      object: { payment: { type: 'payment_intent', payment_intent: 'pi_3', charge: 'ch_3' } },
    });
    expect(invoicePaymentRule.toFact(event).data.payment).toBe('pi_3');
  });

  it('names nothing without a payment, and links nothing without an invoice', () => {
    const noPayment = invoicePayment({ object: { payment: { type: 'payment_intent' } } });
    expect(invoicePaymentRule.resolveCustomer(noPayment)).toEqual({ kind: 'none' });
    expect(invoicePaymentRule.links?.(noPayment)).toEqual([]);
    const noInvoice = invoicePayment({ object: { invoice: null } });
    expect(invoicePaymentRule.links?.(noInvoice)).toEqual([]);
    expect(invoicePaymentRule.toFact(noInvoice).data.invoice).toBeNull();
  });
});

describe('subscriptions', () => {
  let n = 0;
  const sub = (
    type: string,
    created: number,
    status: string | null,
    previous?: string,
    options: EventOptions = {},
  ) =>
    buildEvent(type, {
      created,
      id: `evt_s${String(++n).padStart(3, '0')}`,
      subscriptionId: 'sub_1',
      ...(status === null ? { object: { status: null } } : { status }),
      ...(previous ? { previousAttributes: { status: previous } } : {}),
      ...options,
    });
  const upd = (created: number, status: string | null, previous?: string, id?: string) =>
    sub('customer.subscription.updated', created, status, previous, id ? { id } : {});

  it.each([
    ['past_due', 'subscription_past_due'],
    ['unpaid', 'subscription_unpaid'],
    ['paused', 'subscription_paused'],
  ])('blocks while %s with %s', (status, reason) => {
    const s = statusOf([upd(200, status, 'active', 'evt_x')]);
    expect(s.blockers).toEqual([{ reason, objectId: 'sub_1', since: 200, eventId: 'evt_x' }]);
  });

  it.each(['incomplete', 'trialing', 'active', 'canceled', 'incomplete_expired'])(
    'does not block while %s',
    (status) => {
      expect(statusOf([upd(200, status, 'past_due')]).blockers).toEqual([]);
    },
  );

  it.each([
    ['past_due', 'unpaid', 'subscription_unpaid'],
    ['unpaid', 'past_due', 'subscription_unpaid'],
    ['paused', 'past_due', 'subscription_past_due'],
    ['active', 'paused', 'subscription_paused'],
    ['trialing', 'past_due', 'subscription_past_due'],
    ['incomplete', 'unpaid', 'subscription_unpaid'],
  ])(
    'at equal created without a relation, %s and %s resolve to the greater: %s',
    (a, b, reason) => {
      const s = statusOf([upd(200, a), upd(200, b)]);
      expect(s.blockers.map((x) => x.reason)).toEqual([reason]);
    },
  );

  it('at equal created, the event naming the other status as previous comes after it', () => {
    const s = statusOf([upd(200, 'active', 'past_due'), upd(200, 'past_due', 'trialing')]);
    expect(s.blockers).toEqual([]);
    const back = statusOf([upd(200, 'past_due', 'active'), upd(200, 'active', 'trialing')]);
    expect(reasons(back)).toEqual(['subscription_past_due:sub_1']);
  });

  it('at equal created, when both name each other, the status order decides', () => {
    const s = statusOf([upd(200, 'past_due', 'unpaid'), upd(200, 'unpaid', 'past_due')]);
    expect(reasons(s)).toEqual(['subscription_unpaid:sub_1']);
  });

  it('follows the greatest created over any status order', () => {
    const s = statusOf([upd(100, 'unpaid', 'active'), upd(200, 'active', 'unpaid')]);
    expect(s.blockers).toEqual([]);
  });

  it('keeps canceled terminal against a later blocking status', () => {
    const s = statusOf([
      sub('customer.subscription.deleted', 100, 'canceled'),
      upd(200, 'past_due', 'active'),
    ]);
    expect(s.blockers).toEqual([]);
  });

  it('reads a .deleted without a status as canceled, an .updated without one as nothing', () => {
    const deleted = statusOf([
      upd(100, 'past_due', 'active'),
      sub('customer.subscription.deleted', 50, null),
    ]);
    expect(deleted.blockers).toEqual([]);
    const silent = statusOf([upd(100, 'past_due', 'active', 'evt_p'), upd(200, null)]);
    expect(silent.blockers).toEqual([
      { reason: 'subscription_past_due', objectId: 'sub_1', since: 100, eventId: 'evt_p' },
    ]);
  });

  it('opens nothing when no event names a status', () => {
    expect(statusOf([upd(100, null)]).blockers).toEqual([]);
  });

  it('dates the blocker from the newest event that entered the status', () => {
    const s = statusOf([
      upd(100, 'past_due', 'active', 'evt_a'),
      upd(200, 'active', 'past_due', 'evt_b'),
      upd(300, 'past_due', 'active', 'evt_c'),
      upd(400, 'past_due', 'past_due', 'evt_d'),
    ]);
    expect(s.blockers).toEqual([
      { reason: 'subscription_past_due', objectId: 'sub_1', since: 300, eventId: 'evt_c' },
    ]);
  });

  it('counts a .created event as entering the status', () => {
    const s = statusOf([
      sub('customer.subscription.created', 100, 'past_due', undefined, { id: 'evt_c' }),
      upd(300, 'past_due', undefined, 'evt_u'),
    ]);
    expect(s.blockers).toEqual([
      { reason: 'subscription_past_due', objectId: 'sub_1', since: 100, eventId: 'evt_c' },
    ]);
  });

  it('dates it from the earliest event with the status when none entered it', () => {
    const s = statusOf([
      upd(300, 'unpaid', 'unpaid', 'evt_b'),
      upd(200, 'unpaid', undefined, 'evt_a'),
    ]);
    expect(s.blockers).toEqual([
      { reason: 'subscription_unpaid', objectId: 'sub_1', since: 200, eventId: 'evt_a' },
    ]);
  });

  it('among entering events of the same second, dates it by the smallest id', () => {
    const s = statusOf([
      upd(300, 'paused', 'active', 'evt_y'),
      upd(300, 'paused', 'trialing', 'evt_x'),
    ]);
    expect(s.blockers).toEqual([
      { reason: 'subscription_paused', objectId: 'sub_1', since: 300, eventId: 'evt_x' },
    ]);
  });

  it('reads status and previous status into the fact', () => {
    const fact = subscriptionRule.toFact(upd(100, 'past_due', 'active'));
    expect(fact.data).toMatchObject({ status: 'past_due', previousStatus: 'active' });
    expect(subscriptionRule.toFact(upd(100, 'unpaid')).data).toMatchObject({
      status: 'unpaid',
      previousStatus: null,
    });
  });
});
