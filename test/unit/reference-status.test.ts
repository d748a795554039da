// Worked examples for the revision 4 oracle (test/support/reference-status.ts): one per rule
// and policy field, with payloads of API versions before and after 2025-03-31.basil. Every
// expected value is computed by hand from docs/behaviour.md#the-billing-status and
// docs/behaviour.md#access-policy, never by running the oracle.
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, parsePolicy } from '../../lambdas/core/policy';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import {
  referenceStatus,
  type ReferenceInput,
  type ReferenceOverride,
  type ReferenceStatus,
} from '../support/reference-status';

type Json = Record<string, unknown>;
type Delivery = { event: StripeEvent; appliedAt: string };

const CUS = 'cus_A1';
const OTHER = 'cus_B2';
/** 2026-11-01T00:00:00Z */
const T = 1_793_491_200;
const DAY = 86_400;
/** The default reading time: a day after T. */
const NOW = T + DAY;
/** 2026-12-01T00:00:00Z, 2027-01-01T00:00:00Z: expiry instants of cards expiring 11/2026, 12/2026. */
const DEC_1 = 1_796_083_200;
const JAN_1 = 1_798_761_600;

const PRE_BASIL = '2024-06-20';
const BEFORE_LATEST_CHARGE = '2020-08-27';
const BASIL = '2025-03-31.basil';
const ENDIVE = '2026-10-28.endive';

const iso = (ms: number) => new Date(ms).toISOString();

function evt(
  id: string,
  type: string,
  created: number,
  object: Json,
  opts: { previous?: Json; livemode?: boolean; account?: string | null; version?: string } = {},
): StripeEvent {
  return {
    id,
    object: 'event',
    type,
    created,
    livemode: opts.livemode ?? false,
    api_version: opts.version ?? ENDIVE,
    ...(opts.account !== undefined ? { account: opts.account } : {}),
    data: { object, ...(opts.previous ? { previous_attributes: opts.previous } : {}) },
  };
}

/** A delivery committed half a second after the event's `created`, unless told otherwise. */
const at = (event: StripeEvent, appliedAt?: string): Delivery => ({
  event,
  appliedAt: appliedAt ?? iso(event.created * 1000 + 500),
});

function derive(
  events: readonly (StripeEvent | Delivery)[],
  opts: Partial<Omit<ReferenceInput, 'events'>> = {},
): ReferenceStatus | null {
  return referenceStatus({
    customerId: CUS,
    events: events.map((e) => ('event' in e && 'appliedAt' in e ? e : at(e))),
    overrides: [],
    policy: DEFAULT_POLICY,
    now: NOW,
    expiryWarningDays: 30,
    ...opts,
  });
}

function status(
  events: readonly (StripeEvent | Delivery)[],
  opts: Partial<Omit<ReferenceInput, 'events'>> = {},
): ReferenceStatus {
  const s = derive(events, opts);
  if (s === null) throw new Error('expected a record');
  return s;
}

// Payloads, in the shapes of the API versions named.

const pi = (id: string, extra: Json = {}): Json => ({
  id,
  object: 'payment_intent',
  customer: CUS,
  status: 'requires_payment_method',
  latest_charge: null,
  customer_account: null,
  ...extra,
});
/** A PaymentIntent before 2022-11-15: its charges listed, no latest_charge. */
const oldPi = (id: string, chargeIds: string[], extra: Json = {}): Json => ({
  id,
  object: 'payment_intent',
  customer: CUS,
  status: 'requires_payment_method',
  invoice: null,
  charges: { object: 'list', data: chargeIds.map((c) => ({ id: c, object: 'charge' })) },
  ...extra,
});
const charge = (id: string, extra: Json = {}): Json => ({
  id,
  object: 'charge',
  customer: CUS,
  payment_intent: null,
  status: 'failed',
  ...extra,
});
/** An invoice of 2025-03-31.basil or later: no payment_intent, charge, paid or subscription. */
const invoice = (id: string, extra: Json = {}): Json => ({
  id,
  object: 'invoice',
  customer: CUS,
  customer_account: null,
  status: 'open',
  collection_method: 'charge_automatically',
  attempt_count: 1,
  next_payment_attempt: null,
  parent: { type: 'subscription_details', subscription_details: { subscription: 'sub_1' } },
  ...extra,
});
/** An invoice before 2025-03-31.basil. */
const oldInvoice = (id: string, extra: Json = {}): Json => ({
  id,
  object: 'invoice',
  customer: CUS,
  status: 'open',
  paid: false,
  payment_intent: null,
  charge: null,
  subscription: 'sub_1',
  attempt_count: 1,
  next_payment_attempt: null,
  ...extra,
});
const invoicePayment = (id: string, invoiceId: string, piId: string): Json => ({
  id,
  object: 'invoice_payment',
  invoice: invoiceId,
  is_default: true,
  status: 'paid',
  payment: { type: 'payment_intent', payment_intent: piId },
});
const dispute = (id: string, chargeId: string, extra: Json = {}): Json => ({
  id,
  object: 'dispute',
  charge: chargeId,
  payment_intent: null,
  status: 'needs_response',
  ...extra,
});
const pmCard = (id: string, month: number, year: number, extra: Json = {}): Json => ({
  id,
  object: 'payment_method',
  type: 'card',
  customer: CUS,
  card: { brand: 'visa', last4: '4242', exp_month: month, exp_year: year },
  ...extra,
});
const legacyCard = (id: string, month: number, year: number, extra: Json = {}): Json => ({
  id,
  object: 'card',
  customer: CUS,
  brand: 'Visa',
  last4: '4242',
  exp_month: month,
  exp_year: year,
  ...extra,
});
const subscription = (id: string, subStatus: string | undefined, extra: Json = {}): Json => ({
  id,
  object: 'subscription',
  customer: CUS,
  ...(subStatus !== undefined ? { status: subStatus } : {}),
  ...extra,
});
const customer = (id: string, extra: Json = {}): Json => ({ id, object: 'customer', ...extra });

const override = (
  id: string,
  mode: 'allow' | 'deny' | null,
  setAt: string,
  extra: Partial<ReferenceOverride> = {},
): ReferenceOverride => ({
  id,
  customerId: CUS,
  mode,
  reason: mode === null ? null : 'ticket 7',
  setAt,
  expiresAt: null,
  actor: 'local:test',
  ...extra,
});

const failedPi = (id: string, piId: string, created: number, extra: Json = {}) =>
  evt(id, 'payment_intent.payment_failed', created, pi(piId, extra));

// ---------------------------------------------------------------------------------------

describe('the record', () => {
  it('is null for a customer no applied event names and no override set', () => {
    // Prepare
    const events = [evt('evt_1', 'customer.created', T, customer(OTHER))];
    const clearOnly = [override('ovr_1', null, iso(T * 1000))];

    // Act
    const s = derive(events, { overrides: clearOnly });

    // Assess
    expect(s).toBeNull();
  });

  it('shows a new customer as an empty record, keys in the documented order', () => {
    // Prepare
    const created = evt('evt_1', 'customer.created', T, customer(CUS), { livemode: true });

    // Act
    const s = derive([at(created, '2026-11-01T00:00:01.250Z')]);

    // Assess
    expect(JSON.stringify(s)).toBe(
      JSON.stringify({
        customerId: CUS,
        canAllocate: true,
        blockers: [],
        warnings: [],
        paymentMethods: [],
        override: null,
        livemode: true,
        lastEventId: 'evt_1',
        updatedAt: '2026-11-01T00:00:01.250Z',
        nextChangeAt: null,
      }),
    );
  });

  it('applies a duplicate once, at its earliest commit', () => {
    // Prepare
    const failed = failedPi('evt_1', 'pi_1', T);
    const updated = evt('evt_2', 'customer.updated', T + 5, customer(CUS));

    // Act
    const s = status([
      at(failed, '2026-11-01T00:00:09.000Z'),
      at(updated, '2026-11-01T00:00:05.000Z'),
      at(failed, '2026-11-01T00:00:01.000Z'),
    ]);

    // Assess
    expect(s.blockers).toStrictEqual([
      { reason: 'payment_failed', objectId: 'pi_1', since: T, eventId: 'evt_1' },
    ]);
    expect(s.lastEventId).toBe('evt_2');
    expect(s.updatedAt).toBe('2026-11-01T00:00:05.000Z');
  });

  it('takes livemode, lastEventId and updatedAt from the last commit: appliedAt, then id', () => {
    // Prepare: evt_9 was created last but committed first; evt_b and evt_a tie on appliedAt.
    const events = [
      at(evt('evt_9', 'customer.updated', T + 90, customer(CUS)), '2026-11-01T00:00:01.000Z'),
      at(
        evt('evt_b', 'customer.updated', T, customer(CUS), { livemode: true }),
        '2026-11-01T00:00:02.000Z',
      ),
      at(evt('evt_a', 'customer.updated', T, customer(CUS)), '2026-11-01T00:00:02.000Z'),
    ];

    // Act
    const s = status(events);

    // Assess
    expect([s.livemode, s.lastEventId, s.updatedAt]).toEqual([
      true,
      'evt_b',
      '2026-11-01T00:00:02.000Z',
    ]);
  });

  it('gives the same status whatever the delivery order', () => {
    // Prepare
    const deliveries = [
      at(failedPi('evt_1', 'pi_1', T)),
      at(evt('evt_2', 'invoice.payment_failed', T + 1, invoice('in_1'))),
      at(
        evt('evt_3', 'customer.subscription.updated', T + 2, subscription('sub_1', 'past_due'), {
          previous: { status: 'active' },
        }),
      ),
      at(evt('evt_4', 'payment_intent.succeeded', T + 3, pi('pi_2', { status: 'succeeded' }))),
      at(evt('evt_5', 'invoice.paid', T + 4, invoice('in_1', { status: 'paid' }))),
    ];

    // Act
    const forward = status(deliveries);
    const backward = status([...deliveries].reverse());
    const shuffled = status([
      deliveries[2]!,
      deliveries[4]!,
      deliveries[0]!,
      deliveries[3]!,
      deliveries[1]!,
    ]);

    // Assess
    expect(forward.blockers).toStrictEqual([
      { reason: 'subscription_past_due', objectId: 'sub_1', since: T + 2, eventId: 'evt_3' },
    ]);
    expect(backward).toStrictEqual(forward);
    expect(shuffled).toStrictEqual(forward);
  });

  it('never applies an event from a connected account', () => {
    // Prepare
    const connect = evt('evt_1', 'payment_intent.payment_failed', T, pi('pi_1'), {
      account: 'acct_9',
    });
    const platform = evt('evt_2', 'customer.updated', T, customer(CUS), { account: null });

    // Act
    const onlyConnect = derive([connect]);
    const both = status([connect, platform]);

    // Assess
    expect(onlyConnect).toBeNull();
    expect(both.blockers).toStrictEqual([]);
    expect(both.lastEventId).toBe('evt_2');
  });

  it('never applies an event whose ids hold other characters than letters, digits, _ and - or exceed 255', () => {
    // Prepare
    const hashInRead = failedPi('evt_1', 'pi_1', T, { latest_charge: 'ch_1#x' });
    const longObject = failedPi('evt_2', `pi_${'x'.repeat(253)}`, T);
    const longest = failedPi('evt_3', `pi_${'y'.repeat(252)}`, T);
    const badEventId = failedPi('evt_4 ', 'pi_4', T);

    // Act
    const s = status([hashInRead, longObject, longest, badEventId]);

    // Assess
    expect(s.blockers).toStrictEqual([
      { reason: 'payment_failed', objectId: `pi_${'y'.repeat(252)}`, since: T, eventId: 'evt_3' },
    ]);
    expect(s.lastEventId).toBe('evt_3');
  });

  it('changes no record for an object whose customer is not cus_ followed by letters and digits', () => {
    // Prepare
    const malformed = failedPi('evt_1', 'pi_1', T, { customer: 'cus_A1-x' });

    // Act
    const s = derive([malformed], { customerId: 'cus_A1' });

    // Assess
    expect(s).toBeNull();
  });

  it('ignores event types the deployment does not handle', () => {
    // Prepare
    const unhandled = evt('evt_1', 'invoice.finalized', T, invoice('in_1'));

    // Act
    const s = derive([unhandled]);

    // Assess
    expect(s).toBeNull();
  });
});

describe('payments: PaymentIntents and legacy charges', () => {
  it('blocks on a failed PaymentIntent', () => {
    // Prepare
    const failed = failedPi('evt_1', 'pi_1', T);

    // Act
    const s = status([failed]);

    // Assess
    expect(s).toStrictEqual({
      customerId: CUS,
      canAllocate: false,
      blockers: [{ reason: 'payment_failed', objectId: 'pi_1', since: T, eventId: 'evt_1' }],
      warnings: [],
      paymentMethods: [],
      override: null,
      livemode: false,
      lastEventId: 'evt_1',
      updatedAt: '2026-11-01T00:00:00.500Z',
      nextChangeAt: null,
    });
  });

  it('ends a PaymentIntent that succeeded or was canceled, also by the status of a late event', () => {
    // Prepare
    const events = [
      failedPi('evt_1', 'pi_1', T),
      evt('evt_2', 'payment_intent.canceled', T - 50, pi('pi_1', { status: 'canceled' })),
      failedPi('evt_3', 'pi_2', T),
      failedPi('evt_4', 'pi_2', T - 60, { status: 'succeeded' }),
      failedPi('evt_5', 'pi_3', T + 10),
    ];

    // Act
    const s = status(events);

    // Assess: pi_1 canceled (delivered in any order), pi_2 says succeeded on one of its events.
    expect(s.blockers).toStrictEqual([
      { reason: 'payment_failed', objectId: 'pi_3', since: T + 10, eventId: 'evt_5' },
    ]);
  });

  it('lets a successful payment at or after a failure supersede it, and a later failure block again', () => {
    // Prepare
    const events = [
      failedPi('evt_1', 'pi_1', T),
      evt('evt_2', 'payment_intent.succeeded', T, pi('pi_2', { status: 'succeeded' })),
      failedPi('evt_3', 'pi_3', T - 100),
      failedPi('evt_4', 'pi_3', T + 30),
      failedPi('evt_5', 'pi_3', T + 20),
    ];

    // Act
    const s = status(events);

    // Assess: pi_1 (same second as the success) and pi_3's first failure are superseded.
    expect(s.blockers).toStrictEqual([
      { reason: 'payment_failed', objectId: 'pi_3', since: T + 20, eventId: 'evt_5' },
    ]);
  });

  it('blocks on a legacy charge failure, never on a charge of a PaymentIntent', () => {
    // Prepare
    const events = [
      evt('evt_1', 'charge.failed', T, charge('ch_1')),
      evt('evt_2', 'charge.failed', T, charge('ch_2', { payment_intent: 'pi_9' })),
    ];

    // Act
    const s = status(events);

    // Assess
    expect(s.blockers).toStrictEqual([
      { reason: 'payment_failed', objectId: 'ch_1', since: T, eventId: 'evt_1' },
    ]);
  });

  it('counts a legacy charge.succeeded as a successful payment, not one of a PaymentIntent', () => {
    // Prepare
    const events = [
      evt('evt_1', 'charge.failed', T, charge('ch_1')),
      failedPi('evt_2', 'pi_1', T),
      evt(
        'evt_3',
        'charge.succeeded',
        T + 5,
        charge('ch_2', { payment_intent: 'pi_7', status: 'succeeded' }),
      ),
    ];
    const legacySuccess = evt(
      'evt_4',
      'charge.succeeded',
      T + 5,
      charge('ch_3', { status: 'succeeded' }),
    );

    // Act
    const before = status(events);
    const after = status([...events, legacySuccess]);

    // Assess
    expect(before.blockers.map((b) => b.objectId)).toEqual(['ch_1', 'pi_1']);
    expect(after.blockers).toStrictEqual([]);
  });

  it('names the smallest event id among failures of the same second', () => {
    // Prepare
    const events = [
      failedPi('evt_b', 'pi_1', T),
      failedPi('evt_a', 'pi_1', T),
      failedPi('evt_0', 'pi_1', T + 1),
    ];

    // Act
    const s = status(events);

    // Assess
    expect(s.blockers).toStrictEqual([
      { reason: 'payment_failed', objectId: 'pi_1', since: T, eventId: 'evt_a' },
    ]);
  });
});

describe('invoices', () => {
  it('blocks on a failed invoice until it is paid, whatever is paid elsewhere', () => {
    // Prepare
    const failed = evt('evt_1', 'invoice.payment_failed', T, invoice('in_1'));
    const elsewhere = evt(
      'evt_2',
      'payment_intent.succeeded',
      T + 10,
      pi('pi_2', { status: 'succeeded' }),
    );

    // Act
    const s = status([failed, elsewhere]);

    // Assess
    expect(s.blockers).toStrictEqual([
      { reason: 'payment_failed', objectId: 'in_1', since: T, eventId: 'evt_1' },
    ]);
  });

  it('ends an invoice that is paid or void: by event type, by status, or by paid: true in old versions', () => {
    // Prepare
    const events = [
      evt('evt_1', 'invoice.payment_failed', T, invoice('in_1')),
      evt('evt_2', 'invoice.paid', T - 10, invoice('in_1', { status: 'paid' })),
      evt('evt_3', 'invoice.payment_failed', T, invoice('in_2')),
      evt('evt_4', 'invoice.voided', T + 1, invoice('in_2', { status: 'void' })),
      evt('evt_5', 'invoice.payment_failed', T, invoice('in_3')),
      evt('evt_6', 'invoice.payment_action_required', T + 1, invoice('in_3', { status: 'paid' })),
      evt('evt_7', 'invoice.payment_failed', T, oldInvoice('in_4'), { version: PRE_BASIL }),
      evt(
        'evt_8',
        'invoice.payment_action_required',
        T + 1,
        oldInvoice('in_4', { status: undefined, paid: true }),
        { version: PRE_BASIL },
      ),
      evt('evt_9', 'invoice.payment_failed', T, oldInvoice('in_5'), { version: PRE_BASIL }),
      evt(
        'evt_10',
        'invoice.payment_succeeded',
        T + 2,
        oldInvoice('in_5', { status: 'paid', paid: true }),
        { version: PRE_BASIL },
      ),
      evt('evt_11', 'invoice.payment_failed', T + 3, oldInvoice('in_6'), { version: PRE_BASIL }),
    ];

    // Act
    const s = status(events);

    // Assess
    expect(s.blockers).toStrictEqual([
      { reason: 'payment_failed', objectId: 'in_6', since: T + 3, eventId: 'evt_11' },
    ]);
    expect(s.warnings).toStrictEqual([]);
  });

  it('replaces the failure with invoice_uncollectible, dated by the earliest of both', () => {
    // Prepare
    const events = [
      evt(
        'evt_1',
        'invoice.marked_uncollectible',
        T + 100,
        invoice('in_1', { status: 'uncollectible' }),
        { version: PRE_BASIL },
      ),
      evt('evt_2', 'invoice.payment_failed', T, invoice('in_1')),
      evt(
        'evt_3',
        'invoice.marked_uncollectible',
        T + 5,
        invoice('in_2', { status: 'uncollectible' }),
      ),
    ];

    // Act
    const s = status(events);

    // Assess
    expect(s.blockers).toStrictEqual([
      { reason: 'invoice_uncollectible', objectId: 'in_1', since: T, eventId: 'evt_2' },
      { reason: 'invoice_uncollectible', objectId: 'in_2', since: T + 5, eventId: 'evt_3' },
    ]);
  });

  it('warns while an invoice needs a payment action', () => {
    // Prepare
    const action = evt('evt_1', 'invoice.payment_action_required', T, invoice('in_1'));

    // Act
    const s = status([action]);

    // Assess
    expect(s.canAllocate).toBe(true);
    expect(s.warnings).toStrictEqual([
      { reason: 'payment_action_required', objectId: 'in_1', since: T, eventId: 'evt_1' },
    ]);
  });

  it('blocks on an overdue invoice from its earliest notice until paid; uncollectible replaces it', () => {
    // Prepare
    const sendInvoice = {
      collection_method: 'send_invoice',
      attempt_count: 0,
      next_payment_attempt: null,
    };
    const events = [
      evt('evt_1', 'invoice.overdue', T + 50, invoice('in_1', sendInvoice)),
      evt('evt_2', 'invoice.overdue', T + 20, invoice('in_1', sendInvoice)),
      evt('evt_3', 'invoice.overdue', T, invoice('in_2', sendInvoice)),
      evt('evt_4', 'invoice.paid', T + 60, invoice('in_2', { ...sendInvoice, status: 'paid' })),
      evt('evt_5', 'invoice.overdue', T, invoice('in_3', sendInvoice)),
      evt(
        'evt_6',
        'invoice.marked_uncollectible',
        T + 70,
        invoice('in_3', {
          ...sendInvoice,
          status: 'uncollectible',
          status_details: { uncollectible: { reason: 'payment_not_received' } },
        }),
      ),
    ];

    // Act
    const s = status(events);

    // Assess: in_3's uncollectible is dated by its mark, not by its overdue notice.
    expect(s.blockers).toStrictEqual([
      { reason: 'invoice_overdue', objectId: 'in_1', since: T + 20, eventId: 'evt_2' },
      { reason: 'invoice_uncollectible', objectId: 'in_3', since: T + 70, eventId: 'evt_6' },
    ]);
  });

  it('opens nothing for an invoice whose collection is paused, and ends its failure and overdue', () => {
    // Prepare
    const paused = {
      status: 'uncollectible',
      status_details: { uncollectible: { reason: 'subscription_paused' } },
    };
    const events = [
      evt('evt_1', 'invoice.marked_uncollectible', T, invoice('in_1', paused)),
      evt('evt_2', 'invoice.payment_failed', T - 10, invoice('in_2')),
      evt('evt_3', 'invoice.marked_uncollectible', T, invoice('in_2', paused)),
      evt(
        'evt_4',
        'invoice.overdue',
        T - 10,
        invoice('in_3', { collection_method: 'send_invoice' }),
      ),
      evt(
        'evt_5',
        'invoice.overdue',
        T + 10,
        invoice('in_3', { collection_method: 'send_invoice', ...paused }),
      ),
    ];

    // Act
    const s = status(events);

    // Assess
    expect(s.blockers).toStrictEqual([]);
    expect(s.canAllocate).toBe(true);
  });

  it('keeps invoice_uncollectible for other reasons, or none in versions before endive', () => {
    // Prepare
    const events = [
      evt(
        'evt_1',
        'invoice.marked_uncollectible',
        T,
        invoice('in_1', {
          status: 'uncollectible',
          status_details: { uncollectible: { reason: 'user_forgiven' } },
        }),
      ),
      evt(
        'evt_2',
        'invoice.marked_uncollectible',
        T + 1,
        invoice('in_2', {
          status: 'uncollectible',
          status_details: { uncollectible: { reason: 'max_payment_attempts' } },
        }),
      ),
      evt(
        'evt_3',
        'invoice.marked_uncollectible',
        T + 2,
        invoice('in_3', { status: 'uncollectible' }),
        { version: BASIL },
      ),
      evt(
        'evt_4',
        'invoice.marked_uncollectible',
        T + 3,
        oldInvoice('in_4', { status: 'uncollectible' }),
        { version: PRE_BASIL },
      ),
    ];

    // Act
    const s = status(events);

    // Assess
    expect(s.blockers.map((b) => `${b.reason}:${b.objectId}`)).toEqual([
      'invoice_uncollectible:in_1',
      'invoice_uncollectible:in_2',
      'invoice_uncollectible:in_3',
      'invoice_uncollectible:in_4',
    ]);
  });
});

describe('PaymentIntents of invoices', () => {
  it('opens nothing for a PaymentIntent that names its invoice (before basil); the invoice decides', () => {
    // Prepare
    const events = [
      evt(
        'evt_1',
        'payment_intent.payment_failed',
        T,
        oldPi('pi_1', ['ch_1'], { invoice: 'in_1' }),
        { version: PRE_BASIL },
      ),
      evt(
        'evt_2',
        'invoice.payment_failed',
        T + 1,
        oldInvoice('in_1', { payment_intent: 'pi_1' }),
        { version: PRE_BASIL },
      ),
      evt(
        'evt_3',
        'payment_intent.payment_failed',
        T,
        pi('pi_2', { invoice: { id: 'in_2', object: 'invoice' } }),
        { version: PRE_BASIL },
      ),
    ];

    // Act
    const s = status(events);

    // Assess: pi_2's expanded invoice links it just as an id does.
    expect(s.blockers).toStrictEqual([
      { reason: 'payment_failed', objectId: 'in_1', since: T + 1, eventId: 'evt_2' },
    ]);
  });

  it('links a PaymentIntent through the invoice that names it, in either delivery order', () => {
    // Prepare
    const piFailed = evt('evt_1', 'payment_intent.payment_failed', T, pi('pi_1'), {
      version: PRE_BASIL,
    });
    const invoiceFailed = evt(
      'evt_2',
      'invoice.payment_failed',
      T,
      oldInvoice('in_1', { payment_intent: { id: 'pi_1' } }),
      { version: PRE_BASIL },
    );

    // Act
    const piFirst = status([
      at(piFailed, '2026-11-01T00:00:01.000Z'),
      at(invoiceFailed, '2026-11-01T00:09:00.000Z'),
    ]);
    const invoiceFirst = status([
      at(invoiceFailed, '2026-11-01T00:00:01.000Z'),
      at(piFailed, '2026-11-01T00:09:00.000Z'),
    ]);

    // Assess
    const expected = [{ reason: 'payment_failed', objectId: 'in_1', since: T, eventId: 'evt_2' }];
    expect(piFirst.blockers).toStrictEqual(expected);
    expect(invoiceFirst.blockers).toStrictEqual(expected);
  });

  it('opens nothing for a legacy charge that names its invoice', () => {
    // Prepare
    const failed = evt('evt_1', 'charge.failed', T, charge('ch_1', { invoice: 'in_1' }), {
      version: PRE_BASIL,
    });

    // Act
    const s = status([failed]);

    // Assess
    expect(s.blockers).toStrictEqual([]);
  });

  it('links through a charge of the PaymentIntent that names the invoice', () => {
    // Prepare
    const events = [
      evt('evt_1', 'payment_intent.payment_failed', T, pi('pi_1', { latest_charge: 'ch_1' }), {
        version: PRE_BASIL,
      }),
      evt(
        'evt_2',
        'charge.failed',
        T,
        charge('ch_1', { payment_intent: 'pi_1', invoice: 'in_1' }),
        { version: PRE_BASIL },
      ),
    ];

    // Act
    const s = status(events);

    // Assess
    expect(s.blockers).toStrictEqual([]);
  });

  it('applies invoice_payment.paid (basil) to the customer of its PaymentIntent and links them', () => {
    // Prepare
    const piFailed = evt('evt_1', 'payment_intent.payment_failed', T, pi('pi_1'), {
      version: BASIL,
    });
    const paid = evt(
      'evt_2',
      'invoice_payment.paid',
      T + 10,
      invoicePayment('inpay_1', 'in_1', 'pi_1'),
      { version: BASIL },
    );

    // Act
    const before = status([piFailed]);
    const after = status([piFailed, at(paid, '2026-11-01T00:00:20.000Z')]);

    // Assess
    expect(before.blockers.map((b) => b.objectId)).toEqual(['pi_1']);
    expect(after.blockers).toStrictEqual([]);
    expect(after.lastEventId).toBe('evt_2');
    expect(after.updatedAt).toBe('2026-11-01T00:00:20.000Z');
  });

  it('commits a waiting invoice payment when a charge reveals the customer of its PaymentIntent', () => {
    // Prepare: the invoice payment arrives first; the charge naming the PaymentIntent later.
    const paid = at(
      evt('evt_8', 'invoice_payment.paid', T + 10, invoicePayment('inpay_1', 'in_1', 'pi_1'), {
        version: BASIL,
      }),
      '2026-11-01T00:00:11.000Z',
    );
    const chargeOk = at(
      evt(
        'evt_2',
        'charge.succeeded',
        T + 9,
        charge('ch_1', { payment_intent: 'pi_1', status: 'succeeded' }),
        {
          version: BASIL,
        },
      ),
      '2026-11-01T00:05:00.000Z',
    );

    // Act
    const s = status([paid, chargeOk]);

    // Assess
    expect([s.lastEventId, s.updatedAt]).toEqual(['evt_8', '2026-11-01T00:05:00.000Z']);
    expect(s.blockers).toStrictEqual([]);
  });

  it('keeps an invoice payment waiting while its PaymentIntent has no known customer', () => {
    // Prepare
    const updated = evt('evt_1', 'customer.updated', T, customer(CUS));
    const paid = evt(
      'evt_2',
      'invoice_payment.paid',
      T + 10,
      invoicePayment('inpay_1', 'in_1', 'pi_1'),
      { version: BASIL },
    );
    const guestPi = evt(
      'evt_3',
      'payment_intent.succeeded',
      T + 11,
      pi('pi_1', { customer: null, status: 'succeeded' }),
    );

    // Act
    const s = status([updated, paid, guestPi]);

    // Assess: the guest PaymentIntent reveals no customer; the invoice payment is not applied.
    expect(s.lastEventId).toBe('evt_1');
  });

  it('asks the Stripe answer about a failed PaymentIntent only: an invoice links it, null leaves it standalone', () => {
    // Prepare
    const events = [
      failedPi('evt_1', 'pi_1', T),
      failedPi('evt_2', 'pi_2', T + 1),
      failedPi('evt_3', 'pi_3', T + 2),
    ];
    const stripe = { invoiceOfPaymentIntent: { pi_1: 'in_1', pi_2: null } };

    // Act
    const withKey = status(events, { stripe });
    const withoutKey = status(events);

    // Assess
    expect(withKey.blockers.map((b) => b.objectId)).toEqual(['pi_2', 'pi_3']);
    expect(withoutKey.blockers.map((b) => b.objectId)).toEqual(['pi_1', 'pi_2', 'pi_3']);
  });

  it('still counts the success of an invoice PaymentIntent as a successful payment', () => {
    // Prepare
    const events = [
      evt('evt_1', 'charge.failed', T, charge('ch_9')),
      evt(
        'evt_2',
        'payment_intent.succeeded',
        T + 5,
        pi('pi_1', { status: 'succeeded', invoice: 'in_1' }),
        { version: PRE_BASIL },
      ),
    ];

    // Act
    const s = status(events);

    // Assess
    expect(s.blockers).toStrictEqual([]);
  });
});

describe('disputes', () => {
  const opened = (id: string, created: number, object: Json) =>
    evt(id, 'charge.dispute.created', created, object);
  const blocker = (dp: string, since: number, eventId: string) => ({
    reason: 'dispute_open',
    objectId: dp,
    since,
    eventId,
  });

  it('finds its customer through a charge event of its charge, delivered before or after', () => {
    // Prepare
    const disputeOpened = opened('evt_1', T, dispute('dp_1', 'ch_1'));
    const chargeOk = evt(
      'evt_2',
      'charge.succeeded',
      T - 100,
      charge('ch_1', { status: 'succeeded' }),
    );

    // Act
    const s = status([disputeOpened, chargeOk]);

    // Assess
    expect(s.blockers).toStrictEqual([blocker('dp_1', T, 'evt_1')]);
    expect(s.canAllocate).toBe(false);
  });

  it('finds it through a PaymentIntent: its latest_charge, its charges list in old versions, its id', () => {
    // Prepare
    const events = [
      opened('evt_1', T, dispute('dp_1', 'ch_1')),
      evt(
        'evt_2',
        'payment_intent.succeeded',
        T - 9,
        pi('pi_1', { latest_charge: 'ch_1', status: 'succeeded' }),
      ),
      opened('evt_3', T + 1, dispute('dp_2', 'ch_2')),
      evt(
        'evt_4',
        'payment_intent.succeeded',
        T - 8,
        oldPi('pi_2', ['ch_2'], { status: 'succeeded' }),
        { version: BEFORE_LATEST_CHARGE },
      ),
      opened('evt_5', T + 2, dispute('dp_3', 'ch_3', { payment_intent: 'pi_3' })),
      evt('evt_6', 'payment_intent.succeeded', T - 7, pi('pi_3', { status: 'succeeded' })),
    ];

    // Act
    const s = status(events);

    // Assess
    expect(s.blockers).toStrictEqual([
      blocker('dp_1', T, 'evt_1'),
      blocker('dp_2', T + 1, 'evt_3'),
      blocker('dp_3', T + 2, 'evt_5'),
    ]);
  });

  it("finds it through a charge event naming the dispute's PaymentIntent", () => {
    // Prepare
    const events = [
      opened('evt_1', T, dispute('dp_1', 'ch_1', { payment_intent: 'pi_1' })),
      evt('evt_2', 'charge.failed', T - 5, charge('ch_0', { payment_intent: 'pi_1' })),
    ];

    // Act
    const s = status(events);

    // Assess
    expect(s.blockers).toStrictEqual([blocker('dp_1', T, 'evt_1')]);
  });

  it('waits while no event reveals the customer, and guests reveal none', () => {
    // Prepare
    const disputeOpened = opened('evt_1', T, dispute('dp_1', 'ch_1'));
    const guestCharge = evt(
      'evt_2',
      'charge.succeeded',
      T - 5,
      charge('ch_1', { customer: null, status: 'succeeded' }),
    );

    // Act
    const s = derive([disputeOpened, guestCharge]);

    // Assess
    expect(s).toBeNull();
  });

  it('takes the customer from the Stripe answer about the charge; a charge without customer changes no record', () => {
    // Prepare
    const events = [
      opened('evt_1', T, dispute('dp_1', 'ch_1')),
      opened('evt_2', T, dispute('dp_2', 'ch_2')),
      opened('evt_3', T, dispute('dp_3', 'ch_3')),
    ];
    const stripe = { chargeCustomer: { ch_1: CUS, ch_2: null } };

    // Act
    const s = status(events, { stripe });

    // Assess: the answer says nothing of ch_3, so dp_3 waits as without the key.
    expect(s.blockers).toStrictEqual([blocker('dp_1', T, 'evt_1')]);
    expect(s.lastEventId).toBe('evt_1');
  });

  it('commits a waiting dispute when its customer becomes known', () => {
    // Prepare: the dispute arrives first, the revealing charge nine minutes later.
    const disputeOpened = at(
      opened('evt_9', T, dispute('dp_1', 'ch_1')),
      '2026-11-01T00:00:01.000Z',
    );
    const chargeOk = at(
      evt('evt_1', 'charge.succeeded', T - 100, charge('ch_1', { status: 'succeeded' })),
      '2026-11-01T00:09:00.000Z',
    );

    // Act
    const s = status([disputeOpened, chargeOk]);

    // Assess: both commit at 00:09:00; the greater id is the last.
    expect(s.lastEventId).toBe('evt_9');
    expect(s.updatedAt).toBe('2026-11-01T00:09:00.000Z');
  });

  it('ends a dispute when closed, or when any of its events has a closed status', () => {
    // Prepare
    const events = [
      opened('evt_1', T, dispute('dp_1', 'ch_1')),
      evt('evt_2', 'charge.dispute.closed', T + 5, dispute('dp_1', 'ch_1', { status: 'lost' })),
      opened('evt_3', T, dispute('dp_2', 'ch_1')),
      evt('evt_4', 'charge.dispute.updated', T - 5, dispute('dp_2', 'ch_1', { status: 'won' })),
      opened('evt_5', T, dispute('dp_3', 'ch_1', { status: 'warning_needs_response' })),
      evt(
        'evt_6',
        'charge.dispute.updated',
        T + 1,
        dispute('dp_4', 'ch_1', { status: 'needs_response' }),
      ),
      evt('evt_7', 'charge.succeeded', T - 100, charge('ch_1', { status: 'succeeded' })),
    ];

    // Act
    const s = status(events);

    // Assess: an inquiry opens it; an update alone opens nothing.
    expect(s.blockers).toStrictEqual([blocker('dp_3', T, 'evt_5')]);
  });
});

describe('payment methods', () => {
  it('reads each shape: PaymentMethod, legacy Card, card Source, bank account, other types', () => {
    // Prepare
    const events = [
      evt(
        'evt_1',
        'payment_method.attached',
        T,
        pmCard('pm_1', 8, 2030, {
          card: {
            brand: 'amex',
            last4: '0005',
            exp_month: 8,
            exp_year: 2030,
            display_brand: 'american_express',
          },
        }),
      ),
      evt(
        'evt_2',
        'customer.source.created',
        T,
        legacyCard('card_1', 8, 2030, { brand: 'American Express', last4: '8431' }),
        { version: PRE_BASIL },
      ),
      evt('evt_3', 'customer.source.created', T, {
        id: 'src_1',
        object: 'source',
        type: 'card',
        customer: CUS,
        card: { brand: 'MasterCard', last4: '4444', exp_month: 8, exp_year: 2030 },
      }),
      evt('evt_4', 'customer.source.created', T, {
        id: 'ba_1',
        object: 'bank_account',
        customer: CUS,
        bank_name: 'STRIPE TEST BANK',
        last4: '6789',
      }),
      evt('evt_5', 'payment_method.attached', T, {
        id: 'pm_2',
        object: 'payment_method',
        type: 'sepa_debit',
        customer: CUS,
        sepa_debit: { last4: '3000', bank_code: '37040044' },
      }),
      evt('evt_6', 'customer.source.created', T, {
        id: 'src_2',
        object: 'source',
        type: 'ach_credit_transfer',
        customer: CUS,
        ach_credit_transfer: { account_number: 'test_52796e3294dc' },
      }),
      evt(
        'evt_7',
        'customer.source.created',
        T,
        legacyCard('card_2', 8, 2030, { brand: 'Eftpos Australia', last4: '0001' }),
      ),
    ];

    // Act
    const s = status(events, { now: T });

    // Assess
    const exp = { expMonth: 8, expYear: 2030 };
    const none = { brand: null, last4: null, expMonth: null, expYear: null };
    expect(s.paymentMethods).toStrictEqual([
      { id: 'ba_1', type: 'bank_account', status: 'active', ...none, last4: '6789' },
      { id: 'card_1', type: 'card', status: 'active', brand: 'amex', last4: '8431', ...exp },
      { id: 'card_2', type: 'card', status: 'active', brand: 'eftpos_au', last4: '0001', ...exp },
      { id: 'pm_1', type: 'card', status: 'active', brand: 'amex', last4: '0005', ...exp },
      { id: 'pm_2', type: 'sepa_debit', status: 'active', ...none, last4: '3000' },
      { id: 'src_1', type: 'card', status: 'active', brand: 'mastercard', last4: '4444', ...exp },
      { id: 'src_2', type: 'ach_credit_transfer', status: 'active', ...none },
    ]);
    expect(Object.keys(s.paymentMethods[0]!)).toEqual([
      'id',
      'type',
      'status',
      'brand',
      'last4',
      'expMonth',
      'expYear',
    ]);
    // Each card's warning window (2030-09-01 minus 30 days) is the next change.
    expect(s.nextChangeAt).toBe(1_911_859_200);
  });

  it('takes details from the newest event: greatest created, then the later expiry, then the greatest id', () => {
    // Prepare
    const events = [
      evt('evt_1', 'payment_method.updated', T + 1, pmCard('pm_1', 1, 2031)),
      evt('evt_2', 'payment_method.attached', T, pmCard('pm_1', 2, 2031)),
      evt('evt_3', 'payment_method.updated', T + 5, pmCard('pm_2', 1, 2031)),
      evt('evt_4', 'payment_method.automatically_updated', T + 5, pmCard('pm_2', 3, 2031)),
      evt('evt_5', 'payment_method.updated', T + 5, {
        ...pmCard('pm_2', 3, 2031),
        card: { brand: 'visa', last4: '1111', exp_month: 3, exp_year: 2031 },
      }),
      evt('evt_6', 'payment_method.updated', T + 5, {
        id: 'pm_2',
        object: 'payment_method',
        type: 'card',
        customer: CUS,
        card: { brand: 'visa', last4: '9999' },
      }),
    ];

    // Act
    const s = status(events);

    // Assess
    expect(s.paymentMethods.map((m) => [m.id, m.last4, m.expMonth])).toEqual([
      ['pm_1', '4242', 1],
      ['pm_2', '1111', 3],
    ]);
  });

  it('computes each status at the reading time: expired, expiring, active, deleted', () => {
    // Prepare: now is 2026-11-02.
    const events = [
      evt('evt_1', 'payment_method.attached', T - 90 * DAY, pmCard('pm_old', 10, 2026)),
      evt('evt_2', 'payment_method.attached', T - 90 * DAY, pmCard('pm_soon', 11, 2026)),
      evt('evt_3', 'payment_method.attached', T - 90 * DAY, pmCard('pm_later', 12, 2026)),
      evt('evt_4', 'payment_method.attached', T - 90 * DAY, pmCard('pm_gone', 12, 2030)),
      evt('evt_5', 'payment_method.detached', T, pmCard('pm_gone', 12, 2030, { customer: null }), {
        previous: { customer: CUS },
      }),
    ];

    // Act
    const s = status(events);

    // Assess
    expect(s.paymentMethods.map((m) => `${m.id}:${m.status}`)).toEqual([
      'pm_gone:deleted',
      'pm_later:active',
      'pm_old:expired',
      'pm_soon:expiring',
    ]);
    expect(s.warnings).toStrictEqual([
      { reason: 'payment_method_expiring', objectId: 'pm_soon', since: T, eventId: null },
    ]);
    // pm_soon expires on 2026-12-01, a day before pm_later's window opens.
    expect(s.nextChangeAt).toBe(DEC_1);
  });

  it('expires a card at the first second of the month after its expiry month', () => {
    // Prepare
    const attached = evt('evt_1', 'payment_method.attached', T - DAY, pmCard('pm_1', 11, 2026));

    // Act
    const lastSecond = status([attached], { now: DEC_1 - 1 });
    const instant = status([attached], { now: DEC_1 });

    // Assess
    expect(lastSecond.paymentMethods[0]!.status).toBe('expiring');
    expect(instant.paymentMethods[0]!.status).toBe('expired');
    expect(instant.nextChangeAt).toBeNull();
  });

  it('counts a customer.source.expiring announcing exactly the current expiry, dated by it', () => {
    // Prepare
    const events = [
      evt('evt_1', 'customer.source.created', T - 10, legacyCard('card_1', 12, 2026)),
      evt('evt_2', 'customer.source.expiring', T - 5, legacyCard('card_1', 12, 2026)),
      evt('evt_3', 'customer.source.created', T - 10, legacyCard('card_2', 2, 2027)),
      evt('evt_4', 'customer.source.expiring', T - 8, legacyCard('card_2', 1, 2027)),
      evt('evt_5', 'customer.source.updated', T - 6, legacyCard('card_2', 2, 2027)),
    ];

    // Act
    const s = status(events);

    // Assess: card_2's announcement named an older expiry.
    expect(s.paymentMethods.map((m) => `${m.id}:${m.status}`)).toEqual([
      'card_1:expiring',
      'card_2:active',
    ]);
    expect(s.warnings).toStrictEqual([
      { reason: 'payment_method_expiring', objectId: 'card_1', since: T - 5, eventId: 'evt_2' },
    ]);
    // card_1's window needs no announcing; its expiry (2027-01-01) and card_2's window (2027-02-01 - 30d) remain.
    expect(s.nextChangeAt).toBe(JAN_1);
  });

  it('warns no_valid_payment_method from the latest moment a method stopped being valid', () => {
    // Prepare
    const events = [
      evt('evt_1', 'payment_method.attached', T - 90 * DAY, pmCard('pm_1', 10, 2026)),
      evt('evt_2', 'payment_method.attached', T - 90 * DAY, pmCard('pm_2', 12, 2030)),
      evt(
        'evt_3',
        'payment_method.detached',
        T - 2 * DAY,
        pmCard('pm_2', 12, 2030, { customer: null }),
        { previous: { customer: CUS } },
      ),
      evt('evt_4', 'customer.source.created', T - 90 * DAY, legacyCard('card_1', 9, 2026)),
      evt('evt_5', 'customer.source.deleted', T - 10 * DAY, legacyCard('card_1', 9, 2026)),
    ];

    // Act
    const s = status(events);

    // Assess: pm_1 expired at T (2026-11-01), pm_2 deleted at T-2d, card_1 expired 2026-10-01
    // before its deletion.
    expect(s.warnings).toStrictEqual([
      { reason: 'no_valid_payment_method', objectId: CUS, since: T, eventId: null },
    ]);
    expect(s.canAllocate).toBe(true);
  });

  it('names the deletion when it is the latest moment', () => {
    // Prepare
    const events = [
      evt('evt_1', 'payment_method.attached', T - 90 * DAY, pmCard('pm_1', 12, 2030)),
      evt('evt_2', 'payment_method.detached', T, pmCard('pm_1', 12, 2030, { customer: null }), {
        previous: { customer: CUS },
      }),
    ];

    // Act
    const s = status(events);

    // Assess
    expect(s.warnings).toStrictEqual([
      { reason: 'no_valid_payment_method', objectId: CUS, since: T, eventId: 'evt_2' },
    ]);
    expect(s.nextChangeAt).toBeNull();
  });

  it("finds a detached method's customer through its other events, and waits otherwise", () => {
    // Prepare
    const attached = evt('evt_1', 'payment_method.attached', T - DAY, pmCard('pm_1', 12, 2030));
    const detachedBare = evt(
      'evt_2',
      'payment_method.detached',
      T,
      pmCard('pm_1', 12, 2030, { customer: null }),
    );
    const detachedAlone = evt(
      'evt_3',
      'payment_method.detached',
      T,
      pmCard('pm_2', 12, 2030, { customer: null }),
    );

    // Act
    const s = status([attached, detachedBare, detachedAlone]);

    // Assess
    expect(s.paymentMethods.map((m) => `${m.id}:${m.status}`)).toEqual(['pm_1:deleted']);
  });

  it('takes the details of a method known only from its deletion from that event', () => {
    // Prepare
    const deleted = evt(
      'evt_1',
      'customer.source.deleted',
      T,
      legacyCard('card_1', 5, 2029, { brand: 'JCB', last4: '0000' }),
    );

    // Act
    const s = status([deleted]);

    // Assess
    expect(s.paymentMethods).toStrictEqual([
      {
        id: 'card_1',
        type: 'card',
        status: 'deleted',
        brand: 'jcb',
        last4: '0000',
        expMonth: 5,
        expYear: 2029,
      },
    ]);
    expect(s.warnings).toStrictEqual([
      { reason: 'no_valid_payment_method', objectId: CUS, since: T, eventId: 'evt_1' },
    ]);
  });
});

describe('subscriptions', () => {
  const sub = (
    id: string,
    type: string,
    created: number,
    subStatus: string | undefined,
    previous?: string,
  ) =>
    evt(
      id,
      `customer.subscription.${type}`,
      created,
      subscription('sub_1', subStatus),
      previous ? { previous: { status: previous } } : {},
    );

  it('blocks past_due, unpaid and paused with reasons of their own', () => {
    // Prepare
    const events = [
      evt('evt_1', 'customer.subscription.updated', T, subscription('sub_1', 'past_due'), {
        previous: { status: 'active' },
      }),
      evt('evt_2', 'customer.subscription.updated', T, subscription('sub_2', 'unpaid'), {
        previous: { status: 'past_due' },
      }),
      evt('evt_3', 'customer.subscription.updated', T, subscription('sub_3', 'paused'), {
        previous: { status: 'trialing' },
      }),
      evt('evt_4', 'customer.subscription.created', T, subscription('sub_4', 'active')),
    ];

    // Act
    const s = status(events);

    // Assess
    expect(s.blockers).toStrictEqual([
      { reason: 'subscription_past_due', objectId: 'sub_1', since: T, eventId: 'evt_1' },
      { reason: 'subscription_unpaid', objectId: 'sub_2', since: T, eventId: 'evt_2' },
      { reason: 'subscription_paused', objectId: 'sub_3', since: T, eventId: 'evt_3' },
    ]);
  });

  it('takes the status of the newest event; canceled is terminal, also a .deleted without status', () => {
    // Prepare
    const recovered = [
      sub('evt_1', 'updated', T, 'past_due', 'active'),
      sub('evt_2', 'updated', T + 1, 'active', 'past_due'),
    ];
    const canceled = [
      sub('evt_1', 'updated', T + 10, 'past_due', 'active'),
      sub('evt_2', 'deleted', T, undefined),
    ];

    // Act
    const a = status(recovered);
    const b = status(canceled);

    // Assess
    expect(a.blockers).toStrictEqual([]);
    expect(b.blockers).toStrictEqual([]);
  });

  it('orders a tie by the previous status that names the other event', () => {
    // Prepare: unpaid outranks active, but the active event says it came from unpaid.
    const events = [
      sub('evt_1', 'updated', T, 'unpaid', 'past_due'),
      sub('evt_2', 'updated', T, 'active', 'unpaid'),
    ];

    // Act
    const s = status(events);

    // Assess
    expect(s.blockers).toStrictEqual([]);
  });

  it('orders a tie by status when both or neither name the other, then by the greater id', () => {
    // Prepare
    const bothName = [
      sub('evt_1', 'updated', T, 'past_due', 'active'),
      sub('evt_2', 'updated', T, 'active', 'past_due'),
    ];
    const neither = [sub('evt_1', 'updated', T, 'paused'), sub('evt_2', 'updated', T, 'trialing')];
    const sameStatus = [
      sub('evt_1', 'updated', T, 'unpaid', 'past_due'),
      sub('evt_2', 'updated', T, 'unpaid'),
    ];

    // Act
    const a = status(bothName);
    const b = status(neither);
    const c = status(sameStatus);

    // Assess
    expect(a.blockers).toStrictEqual([
      { reason: 'subscription_past_due', objectId: 'sub_1', since: T, eventId: 'evt_1' },
    ]);
    expect(b.blockers).toStrictEqual([
      { reason: 'subscription_paused', objectId: 'sub_1', since: T, eventId: 'evt_1' },
    ]);
    expect(c.blockers).toStrictEqual([
      { reason: 'subscription_unpaid', objectId: 'sub_1', since: T, eventId: 'evt_1' },
    ]);
  });

  it('breaks a cycle of previous statuses by status order, then id', () => {
    // Prepare: active <- past_due <- unpaid <- active, all in one second.
    const events = [
      sub('evt_1', 'updated', T, 'active', 'unpaid'),
      sub('evt_2', 'updated', T, 'past_due', 'active'),
      sub('evt_3', 'updated', T, 'unpaid', 'past_due'),
    ];

    // Act
    const s = status(events);

    // Assess
    expect(s.blockers).toStrictEqual([
      { reason: 'subscription_unpaid', objectId: 'sub_1', since: T, eventId: 'evt_3' },
    ]);
  });

  it('dates the blocker by the newest event that entered the status, else the earliest with it', () => {
    // Prepare
    const reentered = [
      sub('evt_1', 'updated', T, 'past_due', 'active'),
      sub('evt_2', 'updated', T + 10, 'active', 'past_due'),
      sub('evt_3', 'updated', T + 20, 'past_due', 'active'),
      sub('evt_4', 'updated', T + 30, 'past_due'),
    ];
    const unknownEntry = [
      sub('evt_5', 'updated', T + 40, 'unpaid'),
      sub('evt_6', 'updated', T + 5, 'unpaid'),
    ];

    // Act
    const a = status(reentered);
    const b = status(unknownEntry);

    // Assess
    expect(a.blockers).toStrictEqual([
      { reason: 'subscription_past_due', objectId: 'sub_1', since: T + 20, eventId: 'evt_3' },
    ]);
    expect(b.blockers).toStrictEqual([
      { reason: 'subscription_unpaid', objectId: 'sub_1', since: T + 5, eventId: 'evt_6' },
    ]);
  });

  it('counts an event without a status in the history only', () => {
    // Prepare
    const events = [
      sub('evt_1', 'updated', T, 'past_due', 'active'),
      sub('evt_2', 'updated', T + 5, undefined),
    ];

    // Act
    const s = status(events);

    // Assess
    expect(s.blockers.map((b) => b.reason)).toEqual(['subscription_past_due']);
    expect(s.lastEventId).toBe('evt_2');
  });
});

describe('the customer', () => {
  it('blocks a deleted customer for good', () => {
    // Prepare
    const events = [
      evt('evt_2', 'customer.deleted', T, customer(CUS, { deleted: true })),
      evt('evt_3', 'customer.updated', T + 5, customer(CUS)),
    ];

    // Act
    const s = status(events);

    // Assess
    expect(s.blockers).toStrictEqual([
      { reason: 'customer_deleted', objectId: CUS, since: T, eventId: 'evt_2' },
    ]);
  });
});

describe('overrides', () => {
  const failed = failedPi('evt_1', 'pi_1', T);

  it('allow lets the customer allocate with the blockers still listed', () => {
    // Prepare
    const overrides = [override('ovr_1', 'allow', '2026-11-01T10:00:00.000Z')];

    // Act
    const s = status([failed], { overrides });

    // Assess
    expect(s.canAllocate).toBe(true);
    expect(s.blockers.map((b) => b.reason)).toEqual(['payment_failed']);
    expect(s.override).toStrictEqual({
      mode: 'allow',
      reason: 'ticket 7',
      setAt: '2026-11-01T10:00:00.000Z',
      expiresAt: null,
    });
    expect(Object.keys(s.override!)).toEqual(['mode', 'reason', 'setAt', 'expiresAt']);
    expect([s.lastEventId, s.updatedAt]).toEqual(['ovr_1', '2026-11-01T10:00:00.000Z']);
  });

  it('deny adds operator_deny since the second it was set, and makes a record of its own', () => {
    // Prepare
    const overrides = [override('ovr_1', 'deny', '2026-11-01T10:00:00.900Z')];

    // Act
    const s = status([], { overrides });

    // Assess
    expect(s).toStrictEqual({
      customerId: CUS,
      canAllocate: false,
      blockers: [{ reason: 'operator_deny', objectId: CUS, since: T + 36_000, eventId: null }],
      warnings: [],
      paymentMethods: [],
      override: {
        mode: 'deny',
        reason: 'ticket 7',
        setAt: '2026-11-01T10:00:00.900Z',
        expiresAt: null,
      },
      livemode: false,
      lastEventId: 'ovr_1',
      updatedAt: '2026-11-01T10:00:00.900Z',
      nextChangeAt: null,
    });
  });

  it('lets the latest set or clear win, by setAt then id', () => {
    // Prepare
    const overrides = [
      override('ovr_3', 'allow', '2026-11-01T09:00:00.000Z'),
      override('ovr_2', null, '2026-11-01T10:00:00.000Z'),
      override('ovr_1', 'deny', '2026-11-01T10:00:00.000Z'),
    ];

    // Act
    const s = status([failed], { overrides });

    // Assess: ovr_2 is the latest (same setAt as ovr_1, greater id).
    expect(s.override).toBeNull();
    expect(s.canAllocate).toBe(false);
    expect(s.lastEventId).toBe('ovr_2');
  });

  it('ends an expiring override at its expiresAt, with no commit of its own', () => {
    // Prepare
    const expiresAt = T + 2 * DAY;
    const overrides = [override('ovr_1', 'allow', '2026-11-01T10:00:00.000Z', { expiresAt })];

    // Act
    const before = status([failed], { overrides, now: expiresAt - 1 });
    const atExpiry = status([failed], { overrides, now: expiresAt });

    // Assess
    expect(before.canAllocate).toBe(true);
    expect(before.override).toStrictEqual({
      mode: 'allow',
      reason: 'ticket 7',
      setAt: '2026-11-01T10:00:00.000Z',
      expiresAt,
    });
    expect(before.nextChangeAt).toBe(expiresAt);
    expect(atExpiry.canAllocate).toBe(false);
    expect(atExpiry.override).toBeNull();
    expect(atExpiry.nextChangeAt).toBeNull();
    expect([atExpiry.lastEventId, atExpiry.updatedAt]).toEqual([
      'ovr_1',
      '2026-11-01T10:00:00.000Z',
    ]);
  });

  it('lets a later set replace an earlier one before it expires', () => {
    // Prepare
    const overrides = [
      override('ovr_1', 'allow', '2026-11-01T10:00:00.000Z', { expiresAt: T + DAY / 2 }),
      override('ovr_2', 'deny', '2026-11-01T11:00:00.000Z'),
    ];

    // Act
    const s = status([failed], { overrides });

    // Assess
    expect(s.override?.mode).toBe('deny');
    expect(s.blockers.map((b) => b.reason)).toEqual(['payment_failed', 'operator_deny']);
    expect(s.nextChangeAt).toBeNull();
  });

  it('ignores the overrides of other customers', () => {
    // Prepare
    const overrides = [
      { ...override('ovr_1', 'deny', '2026-11-01T10:00:00.000Z'), customerId: OTHER },
    ];

    // Act
    const s = derive([], { overrides });

    // Assess
    expect(s).toBeNull();
  });
});

describe('the access policy', () => {
  it('lists a warn reason under warnings and an ignored one nowhere, its events still in the history', () => {
    // Prepare
    const policy = parsePolicy({
      payment_failed: { action: 'warn' },
      dispute_open: { action: 'ignore' },
    });
    const events = [
      failedPi('evt_1', 'pi_1', T),
      evt(
        'evt_2',
        'charge.succeeded',
        T - 100,
        charge('ch_1', { payment_intent: 'pi_0', status: 'succeeded' }),
      ),
      evt('evt_3', 'charge.dispute.created', T + 5, dispute('dp_1', 'ch_1')),
    ];

    // Act
    const s = status(events, { policy });

    // Assess
    expect(s.canAllocate).toBe(true);
    expect(s.blockers).toStrictEqual([]);
    expect(s.warnings).toStrictEqual([
      { reason: 'payment_failed', objectId: 'pi_1', since: T, eventId: 'evt_1' },
    ]);
    expect(s.lastEventId).toBe('evt_3');
  });

  it('warns during grace with blocksAt, and blocks from since + grace on', () => {
    // Prepare
    const policy = parsePolicy({ payment_failed: { action: 'block', grace: '7d' } });
    const events = [failedPi('evt_1', 'pi_1', T)];
    const condition = {
      reason: 'payment_failed',
      objectId: 'pi_1',
      since: T,
      eventId: 'evt_1',
      blocksAt: T + 7 * DAY,
    };

    // Act
    const during = status(events, { policy, now: T + 7 * DAY - 1 });
    const after = status(events, { policy, now: T + 7 * DAY });

    // Assess
    expect(during.canAllocate).toBe(true);
    expect(during.warnings).toStrictEqual([condition]);
    expect(during.nextChangeAt).toBe(T + 7 * DAY);
    expect(Object.keys(during.warnings[0]!)).toEqual([
      'reason',
      'objectId',
      'since',
      'eventId',
      'blocksAt',
    ]);
    expect(after.canAllocate).toBe(false);
    expect(after.blockers).toStrictEqual([condition]);
    expect(after.nextChangeAt).toBeNull();
  });

  it('dates grace from the earliest open failure however retries arrive', () => {
    // Prepare: Stripe's retries of the invoice delivered newest first.
    const policy = parsePolicy({ payment_failed: { action: 'block', grace: 3600 } });
    const deliveries = [
      at(
        evt('evt_3', 'invoice.payment_failed', T + 200, invoice('in_1', { attempt_count: 3 })),
        '2026-11-01T00:00:01.000Z',
      ),
      at(
        evt('evt_2', 'invoice.payment_failed', T + 100, invoice('in_1', { attempt_count: 2 })),
        '2026-11-01T00:00:02.000Z',
      ),
      at(
        evt('evt_1', 'invoice.payment_failed', T, invoice('in_1', { attempt_count: 1 })),
        '2026-11-01T00:00:03.000Z',
      ),
    ];

    // Act
    const s = status(deliveries, { policy, now: T + 3000 });

    // Assess
    expect(s.warnings).toStrictEqual([
      {
        reason: 'payment_failed',
        objectId: 'in_1',
        since: T,
        eventId: 'evt_1',
        blocksAt: T + 3600,
      },
    ]);
  });

  it('keeps an invoice failure under warnings while Stripe retries it (whileRetrying)', () => {
    // Prepare
    const policy = parsePolicy({ payment_failed: { action: 'block', whileRetrying: true } });
    const retrying = [
      evt(
        'evt_1',
        'invoice.payment_failed',
        T,
        invoice('in_1', { attempt_count: 1, next_payment_attempt: T + 3 * DAY }),
      ),
    ];
    // The newest is the greatest attempt_count, even delivered with an earlier created.
    const givenUp = [
      ...retrying,
      evt(
        'evt_2',
        'invoice.payment_failed',
        T + 5 * DAY,
        invoice('in_1', { attempt_count: 4, next_payment_attempt: null }),
      ),
      evt(
        'evt_3',
        'invoice.payment_failed',
        T + 6 * DAY,
        invoice('in_1', { attempt_count: 3, next_payment_attempt: T + 9 * DAY }),
      ),
    ];

    // Act
    const a = status(retrying, { policy, now: T + DAY });
    const b = status(givenUp, { policy, now: T + 7 * DAY });

    // Assess
    expect(a.canAllocate).toBe(true);
    expect(a.warnings).toStrictEqual([
      { reason: 'payment_failed', objectId: 'in_1', since: T, eventId: 'evt_1', blocksAt: null },
    ]);
    expect(a.nextChangeAt).toBeNull();
    expect(b.canAllocate).toBe(false);
    expect(b.blockers).toStrictEqual([
      {
        reason: 'payment_failed',
        objectId: 'in_1',
        since: T,
        eventId: 'evt_1',
        blocksAt: T + 5 * DAY,
      },
    ]);
  });

  it('with grace and whileRetrying blocks at whichever moment comes first', () => {
    // Prepare
    const policy = parsePolicy({
      payment_failed: { action: 'block', grace: '7d', whileRetrying: true },
    });
    const first = evt(
      'evt_1',
      'invoice.payment_failed',
      T,
      invoice('in_1', { attempt_count: 1, next_payment_attempt: T + DAY }),
    );
    const last = evt(
      'evt_2',
      'invoice.payment_failed',
      T + 2 * DAY,
      invoice('in_1', { attempt_count: 2, next_payment_attempt: null }),
    );

    // Act
    const stillRetrying = status([first], { policy, now: T + DAY });
    const retriesOver = status([first, last], { policy, now: T + 2 * DAY });
    const graceOver = status([first], { policy, now: T + 7 * DAY });

    // Assess
    expect(stillRetrying.warnings).toStrictEqual([
      {
        reason: 'payment_failed',
        objectId: 'in_1',
        since: T,
        eventId: 'evt_1',
        blocksAt: T + 7 * DAY,
      },
    ]);
    expect(retriesOver.blockers).toStrictEqual([
      {
        reason: 'payment_failed',
        objectId: 'in_1',
        since: T,
        eventId: 'evt_1',
        blocksAt: T + 2 * DAY,
      },
    ]);
    expect(graceOver.blockers.map((b) => b.blocksAt)).toEqual([T + 7 * DAY]);
  });

  it('never holds a standalone payment by whileRetrying: it blocks at once without blocksAt, or by grace', () => {
    // Prepare
    const retryOnly = parsePolicy({ payment_failed: { action: 'block', whileRetrying: true } });
    const withGrace = parsePolicy({
      payment_failed: { action: 'block', grace: '1h', whileRetrying: true },
    });
    const events = [
      failedPi('evt_1', 'pi_1', T),
      evt('evt_2', 'charge.failed', T + 1, charge('ch_1')),
    ];

    // Act
    const a = status(events, { policy: retryOnly, now: T + 60 });
    const b = status(events, { policy: withGrace, now: T + 60 });

    // Assess
    expect(a.blockers).toStrictEqual([
      { reason: 'payment_failed', objectId: 'pi_1', since: T, eventId: 'evt_1' },
      { reason: 'payment_failed', objectId: 'ch_1', since: T + 1, eventId: 'evt_2' },
    ]);
    expect(b.warnings).toStrictEqual([
      {
        reason: 'payment_failed',
        objectId: 'pi_1',
        since: T,
        eventId: 'evt_1',
        blocksAt: T + 3600,
      },
      {
        reason: 'payment_failed',
        objectId: 'ch_1',
        since: T + 1,
        eventId: 'evt_2',
        blocksAt: T + 3601,
      },
    ]);
    expect(b.nextChangeAt).toBe(T + 3600);
  });

  it('answers by the policy document of docs/behaviour.md#the-policy-document', () => {
    // Prepare: the documented example, a retried invoice, a past_due subscription, one
    // expiring card that is the only method.
    const policy = parsePolicy({
      payment_failed: { action: 'block', grace: '7d', whileRetrying: true },
      subscription_past_due: { action: 'warn' },
      no_valid_payment_method: { action: 'block', grace: '3d' },
      payment_method_expiring: { action: 'ignore' },
    });
    const events = [
      evt(
        'evt_1',
        'invoice.payment_failed',
        T,
        invoice('in_1', { attempt_count: 1, next_payment_attempt: T + 2 * DAY }),
      ),
      evt('evt_2', 'customer.subscription.updated', T, subscription('sub_1', 'past_due'), {
        previous: { status: 'active' },
      }),
      evt('evt_3', 'payment_method.attached', T - 90 * DAY, pmCard('pm_1', 11, 2026)),
    ];

    // Act: on 2026-12-02 the card has expired a day ago; the invoice is still retried.
    const s = status(events, { policy, now: DEC_1 + DAY });

    // Assess: payment_failed blocks after 7 days of grace (T + 7d < Dec 2); no valid method
    // is in grace until Dec 4; the subscription warns; the expiring warning was ignored.
    expect(s.canAllocate).toBe(false);
    expect(s.blockers).toStrictEqual([
      {
        reason: 'payment_failed',
        objectId: 'in_1',
        since: T,
        eventId: 'evt_1',
        blocksAt: T + 7 * DAY,
      },
    ]);
    expect(s.warnings).toStrictEqual([
      { reason: 'subscription_past_due', objectId: 'sub_1', since: T, eventId: 'evt_2' },
      {
        reason: 'no_valid_payment_method',
        objectId: CUS,
        since: DEC_1,
        eventId: null,
        blocksAt: DEC_1 + 3 * DAY,
      },
    ]);
    expect(s.paymentMethods.map((m) => m.status)).toEqual(['expired']);
    expect(s.nextChangeAt).toBe(DEC_1 + 3 * DAY);
  });

  it('lists an ignored expiring warning nowhere, while the card status and its times still count', () => {
    // Prepare
    const policy = parsePolicy({ payment_method_expiring: { action: 'ignore' } });
    const events = [evt('evt_1', 'payment_method.attached', T, pmCard('pm_1', 12, 2026))];

    // Act: ten days before the card expires on 2027-01-01.
    const s = status(events, { policy, now: JAN_1 - 10 * DAY });

    // Assess
    expect(s.warnings).toStrictEqual([]);
    expect(s.paymentMethods.map((m) => m.status)).toEqual(['expiring']);
    expect(s.nextChangeAt).toBe(JAN_1);
  });

  it('applies grace to any blocking reason, dated by its own since', () => {
    // Prepare
    const policy = parsePolicy({
      invoice_overdue: { action: 'block', grace: '2d' },
      subscription_unpaid: { action: 'block', grace: '90s' },
      customer_deleted: { action: 'warn' },
    });
    const events = [
      evt('evt_1', 'invoice.overdue', T, invoice('in_1', { collection_method: 'send_invoice' })),
      evt('evt_2', 'customer.subscription.updated', T + 10, subscription('sub_1', 'unpaid'), {
        previous: { status: 'past_due' },
      }),
      evt('evt_3', 'customer.deleted', T + 20, customer(CUS)),
    ];

    // Act
    const s = status(events, { policy, now: T + 100 });

    // Assess
    expect(s.blockers).toStrictEqual([
      {
        reason: 'subscription_unpaid',
        objectId: 'sub_1',
        since: T + 10,
        eventId: 'evt_2',
        blocksAt: T + 100,
      },
    ]);
    expect(s.warnings).toStrictEqual([
      {
        reason: 'invoice_overdue',
        objectId: 'in_1',
        since: T,
        eventId: 'evt_1',
        blocksAt: T + 2 * DAY,
      },
      { reason: 'customer_deleted', objectId: CUS, since: T + 20, eventId: 'evt_3' },
    ]);
    expect(s.nextChangeAt).toBe(T + 2 * DAY);
  });
});

describe('Accounts v2', () => {
  it('learns the alias from an object naming both ids and shows customerAccount', () => {
    // Prepare
    const created = evt(
      'evt_1',
      'customer.created',
      T,
      customer(CUS, { customer_account: 'acct_1' }),
    );
    const onlyAccount = evt(
      'evt_2',
      'invoice.payment_failed',
      T + 5,
      invoice('in_1', { customer: null, customer_account: 'acct_1' }),
    );

    // Act
    const s = status([onlyAccount, created]);

    // Assess
    expect(Object.keys(s).slice(0, 3)).toEqual(['customerId', 'customerAccount', 'canAllocate']);
    expect(s.customerAccount).toBe('acct_1');
    expect(s.blockers).toStrictEqual([
      { reason: 'payment_failed', objectId: 'in_1', since: T + 5, eventId: 'evt_2' },
    ]);
  });

  it('keeps an event naming only an unknown account waiting; the Stripe answer resolves it', () => {
    // Prepare
    const updated = evt('evt_1', 'customer.updated', T, customer(CUS));
    const onlyAccount = evt(
      'evt_2',
      'payment_intent.payment_failed',
      T + 5,
      pi('pi_1', { customer: null, customer_account: 'acct_2' }),
    );

    // Act
    const waiting = status([updated, onlyAccount]);
    const told = status([updated, onlyAccount], { stripe: { customerOfAccount: { acct_2: CUS } } });

    // Assess
    expect(waiting.blockers).toStrictEqual([]);
    expect(waiting.customerAccount).toBeUndefined();
    expect(told.blockers.map((b) => b.objectId)).toEqual(['pi_1']);
    expect(told.customerAccount).toBe('acct_2');
  });

  it('learns the alias from any object naming both, and a dispute finds the customer through it', () => {
    // Prepare
    const events = [
      evt(
        'evt_1',
        'payment_method.attached',
        T,
        pmCard('pm_1', 12, 2030, { customer_account: 'acct_3' }),
      ),
      evt(
        'evt_2',
        'charge.succeeded',
        T + 1,
        charge('ch_1', { customer: null, customer_account: 'acct_3', status: 'succeeded' }),
      ),
      evt('evt_3', 'charge.dispute.created', T + 2, dispute('dp_1', 'ch_1')),
    ];

    // Act
    const s = status(events, { now: T + 10 });

    // Assess
    expect(s.customerAccount).toBe('acct_3');
    expect(s.blockers).toStrictEqual([
      { reason: 'dispute_open', objectId: 'dp_1', since: T + 2, eventId: 'evt_3' },
    ]);
  });

  it('answers null for a customer whose only events name an account it is not the alias of', () => {
    // Prepare
    const events = [
      evt('evt_1', 'customer.created', T, customer(OTHER, { customer_account: 'acct_4' })),
      evt(
        'evt_2',
        'invoice.payment_failed',
        T,
        invoice('in_1', { customer: null, customer_account: 'acct_4' }),
      ),
    ];

    // Act
    const mine = derive(events);
    const theirs = derive(events, { customerId: OTHER });

    // Assess
    expect(mine).toBeNull();
    expect(theirs?.blockers.map((b) => b.objectId)).toEqual(['in_1']);
  });
});

describe('nextChangeAt', () => {
  it('is the earliest future second among blocksAt, card windows and expiries, and override expiry', () => {
    // Prepare
    const policy = parsePolicy({ dispute_open: { action: 'block', grace: '40d' } });
    const events = [
      evt('evt_1', 'payment_method.attached', T, pmCard('pm_1', 12, 2026)),
      evt('evt_2', 'charge.dispute.created', T, dispute('dp_1', 'ch_1')),
      evt('evt_3', 'charge.succeeded', T - 5, charge('ch_1', { status: 'succeeded' })),
    ];
    const overrides = [
      override('ovr_1', 'allow', '2026-11-01T00:00:00.000Z', { expiresAt: T + 35 * DAY }),
    ];

    // Act: card window 2026-12-02 (T+31d), override T+35d, card expiry T+61d, grace T+40d.
    const early = status(events, { policy, overrides, now: NOW });
    const afterWindow = status(events, { policy, overrides, now: T + 32 * DAY });
    const afterOverride = status(events, { policy, overrides, now: T + 36 * DAY });
    const afterGrace = status(events, { policy, overrides, now: T + 41 * DAY });

    // Assess
    expect(early.nextChangeAt).toBe(JAN_1 - 30 * DAY);
    expect(afterWindow.nextChangeAt).toBe(T + 35 * DAY);
    expect(afterOverride.nextChangeAt).toBe(T + 40 * DAY);
    expect(afterGrace.nextChangeAt).toBe(JAN_1);
  });
});

describe('scale', () => {
  it('derives two thousand events of one customer', () => {
    // Prepare: a thousand failed PaymentIntents, each later canceled, save the last ten.
    const events: StripeEvent[] = [];
    for (let i = 0; i < 1000; i += 1) {
      events.push(failedPi(`evt_f${i}`, `pi_${i}`, T + i));
      if (i < 990)
        events.push(
          evt(
            `evt_c${i}`,
            'payment_intent.canceled',
            T + i + 1,
            pi(`pi_${i}`, { status: 'canceled' }),
          ),
        );
    }
    for (let i = 0; i < 10; i += 1)
      events.push(evt(`evt_u${i}`, 'customer.updated', T + 2000 + i, customer(CUS)));

    // Act
    const s = status(events);

    // Assess
    expect(events).toHaveLength(2000);
    expect(s.blockers.map((b) => b.objectId)).toEqual(
      [990, 991, 992, 993, 994, 995, 996, 997, 998, 999].map((i) => `pi_${i}`),
    );
    expect(s.lastEventId).toBe('evt_u9');
  });
});
