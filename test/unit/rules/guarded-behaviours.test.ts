// Behaviours that mutation testing of lambdas/core found unguarded: each test below fails
// when the rule it names is weakened, deleted or inverted. Written against the public
// derivation (statusOf / deriveBillingStatus over events built from Stripe's fixtures), so
// they hold whatever shape the rules' code takes.
import { describe, expect, it } from 'vitest';
import { buildEvent } from '../../../bin/events/stripe-events';
import {
  DEFAULT_STATUS_SETTINGS,
  deriveBillingStatus,
  statusFromRecord,
} from '../../../lambdas/core/billing-status';
import type { OverrideRecord } from '../../../lambdas/core/facts';
import type { StripeEvent } from '../../../lambdas/core/stripe-event';
import {
  CUSTOMER,
  applied,
  foldedRecord,
  reasons,
  statusOf,
  warningReasons,
} from '../../support/derive';

const DAY = 86_400;
const utc = (year: number, monthIndex: number, day = 1) => Date.UTC(year, monthIndex, day) / 1000;

/** A subscription event of sub_1; `previous` is `previous_attributes.status`. */
const sub = (
  type: string,
  created: number,
  status: string | undefined,
  previous: string | null,
  id: string,
) =>
  buildEvent(type, {
    id,
    created,
    object: { id: 'sub_1', status },
    ...(previous ? { previousAttributes: { status: previous } } : {}),
  });
const updated = (
  created: number,
  status: string | undefined,
  previous: string | null,
  id: string,
) => sub('customer.subscription.updated', created, status, previous, id);

/** The subscription status each input order gives, as the blocker it yields (or none). */
function subscriptionOutcomes(events: StripeEvent[]): string[] {
  const orders = [events, [...events].reverse(), [...events.slice(1), events[0]!]];
  return orders.map((order) => reasons(statusOf(order)).join(',') || 'none');
}

describe('subscription ties at the same second, without previous statuses', () => {
  // The status order: incomplete < trialing < active < paused < past_due < unpaid; the
  // greater status wins even when the lesser one has the greater event id.
  it.each([
    ['paused', 'active', 'subscription_paused:sub_1'],
    ['paused', 'trialing', 'subscription_paused:sub_1'],
    ['paused', 'incomplete', 'subscription_paused:sub_1'],
    ['past_due', 'paused', 'subscription_past_due:sub_1'],
    ['unpaid', 'paused', 'subscription_unpaid:sub_1'],
    ['past_due', 'active', 'subscription_past_due:sub_1'],
    ['unpaid', 'active', 'subscription_unpaid:sub_1'],
    ['unpaid', 'trialing', 'subscription_unpaid:sub_1'],
    ['past_due', 'incomplete', 'subscription_past_due:sub_1'],
    ['unpaid', 'past_due', 'subscription_unpaid:sub_1'],
  ])('lets %s win over %s, whatever the ids', (greater, lesser, blocker) => {
    for (const [greaterId, lesserId] of [
      ['evt_1', 'evt_2'],
      ['evt_2', 'evt_1'],
    ]) {
      const s = statusOf([
        updated(500, lesser, null, lesserId!),
        updated(500, greater, null, greaterId!),
      ]);
      expect(reasons(s)).toEqual([blocker]);
    }
  });

  it('lets a blocking status lose to a later-named one only through previous_attributes', () => {
    // active names paused as its previous status: active comes after, although paused ranks higher.
    const s = statusOf([
      updated(500, 'paused', null, 'evt_2'),
      updated(500, 'active', 'paused', 'evt_1'),
    ]);
    expect(s.blockers).toEqual([]);
  });
});

describe('subscription events without a status', () => {
  it.each([
    ['past_due', 'subscription_past_due'],
    ['unpaid', 'subscription_unpaid'],
  ])('keeps %s blocking (%s) when a newer update carries no status', (status, reason) => {
    const events = [
      updated(100, status, 'active', 'evt_pd'),
      updated(200, undefined, null, 'evt_nostatus'),
    ];
    for (const order of [events, [...events].reverse()]) {
      expect(statusOf(order).blockers).toEqual([
        { reason, objectId: 'sub_1', since: 100, eventId: 'evt_pd' },
      ]);
    }
  });

  it('keeps subscription_paused when a same-second update carries no status', () => {
    const s = statusOf([
      updated(100, 'paused', 'active', 'evt_1'),
      updated(100, undefined, 'paused', 'evt_2'),
    ]);
    expect(reasons(s)).toEqual(['subscription_paused:sub_1']);
  });
});

describe('three subscription events in the same second', () => {
  it('lets the event that names both others as previous win, whatever its rank', () => {
    // Two past_due events, then active naming past_due: active comes after each of them.
    const events = [
      updated(500, 'past_due', 'trialing', 'evt_2'),
      updated(500, 'active', 'past_due', 'evt_0'),
      updated(500, 'past_due', null, 'evt_1'),
    ];
    expect(subscriptionOutcomes(events)).toEqual(['none', 'none', 'none']);
  });

  it('falls back to the status order when one naming and two ranks make a cycle', () => {
    // trialing names unpaid (after it), unpaid ranks above past_due, past_due above
    // trialing: no event comes after both others, so the greatest status, unpaid, decides.
    const events = [
      updated(500, 'past_due', null, 'evt_1'),
      updated(500, 'unpaid', null, 'evt_2'),
      updated(500, 'trialing', 'unpaid', 'evt_0'),
    ];
    expect(subscriptionOutcomes(events)).toEqual([
      'subscription_unpaid:sub_1',
      'subscription_unpaid:sub_1',
      'subscription_unpaid:sub_1',
    ]);
  });

  it('lets the event that comes after both others win: one by naming, one by rank', () => {
    // active names past_due (so comes after it) and ranks above trialing: active wins and
    // nothing blocks, although past_due also ranks above trialing.
    const events = [
      updated(500, 'active', 'past_due', 'evt_1'),
      updated(500, 'past_due', null, 'evt_2'),
      updated(500, 'trialing', null, 'evt_3'),
    ];
    expect(subscriptionOutcomes(events)).toEqual(['none', 'none', 'none']);
  });
});

describe('the status order, seen through three events of the same second', () => {
  // With two events the pairwise rule always picks one; with three it can go round in a
  // circle, and then the greatest status wins. Each case below has one event that comes
  // after both others only because of the rank or id it is testing.
  it('ranks trialing above incomplete', () => {
    // trialing names paused (after it) and outranks incomplete: trialing wins, nothing blocks.
    const events = [
      updated(500, 'incomplete', null, 'evt_1'),
      updated(500, 'trialing', 'paused', 'evt_2'),
      updated(500, 'paused', null, 'evt_3'),
    ];
    expect(subscriptionOutcomes(events)).toEqual(['none', 'none', 'none']);
  });

  it.each(['foo', ''])('ranks a status unknown to the order (%j) below incomplete', (unknown) => {
    // The unknown status names paused (after it) but ranks below incomplete, which ranks
    // below paused: a circle, so the greatest status, paused, decides.
    const events = [
      updated(500, 'incomplete', null, 'evt_1'),
      updated(500, 'paused', null, 'evt_2'),
      updated(500, unknown, 'paused', 'evt_3'),
    ];
    expect(subscriptionOutcomes(events)).toEqual([
      'subscription_paused:sub_1',
      'subscription_paused:sub_1',
      'subscription_paused:sub_1',
    ]);
  });

  it('ranks an empty status below every known one in a plain tie', () => {
    expect(
      reasons(statusOf([updated(500, 'paused', null, 'evt_1'), updated(500, '', null, 'evt_2')])),
    ).toEqual(['subscription_paused:sub_1']);
  });

  it('orders two events of the same status by the greater id, which can decide the winner', () => {
    // active (named after paused) vs active: the greater id comes after. When that is the
    // event that left paused, it comes after both others; otherwise the three go round in
    // a circle and paused, the greatest status, decides.
    const withIds = (namer: string, other: string) => [
      updated(500, 'active', null, other),
      updated(500, 'active', 'paused', namer),
      updated(500, 'paused', null, 'evt_5'),
    ];
    expect(subscriptionOutcomes(withIds('evt_2', 'evt_1'))).toEqual(['none', 'none', 'none']);
    expect(subscriptionOutcomes(withIds('evt_1', 'evt_2'))).toEqual([
      'subscription_paused:sub_1',
      'subscription_paused:sub_1',
      'subscription_paused:sub_1',
    ]);
  });
});

describe('when a blocking subscription status was entered', () => {
  it('dates from the .created event even when an earlier event already showed the status', () => {
    const s = statusOf([
      sub('customer.subscription.updated', 100, 'past_due', null, 'evt_u'),
      sub('customer.subscription.created', 200, 'past_due', null, 'evt_c'),
    ]);
    expect(s.blockers).toEqual([
      { reason: 'subscription_past_due', objectId: 'sub_1', since: 200, eventId: 'evt_c' },
    ]);
  });

  it('does not count an event whose previous status is the same status as entering it', () => {
    const s = statusOf([
      updated(100, 'past_due', 'active', 'evt_in'),
      updated(200, 'past_due', 'past_due', 'evt_again'),
    ]);
    expect(s.blockers).toEqual([
      { reason: 'subscription_past_due', objectId: 'sub_1', since: 100, eventId: 'evt_in' },
    ]);
  });

  it('dates subscription_unpaid from the move past_due -> unpaid, not from past_due', () => {
    const s = statusOf([
      updated(100, 'past_due', 'active', 'evt_pd'),
      updated(200, 'unpaid', 'past_due', 'evt_up'),
      updated(300, 'unpaid', 'unpaid', 'evt_again'),
    ]);
    expect(s.blockers).toEqual([
      { reason: 'subscription_unpaid', objectId: 'sub_1', since: 200, eventId: 'evt_up' },
    ]);
  });
});

describe('card expiry at the edges of the year', () => {
  const card = (month: number, year: number) =>
    buildEvent('payment_method.attached', {
      created: 100,
      object: {
        id: 'pm_1',
        card: { brand: 'visa', last4: '4242', exp_month: month, exp_year: year },
      },
    });

  it('treats a card expiring in January like any other month', () => {
    const events = [card(1, 2026)];
    const instant = utc(2026, 1); // valid through 31 January 2026
    expect(statusOf(events, { now: instant - 40 * DAY }).paymentMethods[0]?.status).toBe('active');
    expect(statusOf(events, { now: utc(2026, 0, 15) }).paymentMethods[0]?.status).toBe('expiring');
    expect(statusOf(events, { now: utc(2026, 0, 15) }).warnings).toEqual([
      {
        reason: 'payment_method_expiring',
        objectId: 'pm_1',
        since: instant - 30 * DAY,
        eventId: null,
      },
    ]);
    expect(statusOf(events, { now: instant }).paymentMethods[0]?.status).toBe('expired');
  });

  it('treats a card expiring in December as valid through 31 December', () => {
    const events = [card(12, 2026)];
    expect(statusOf(events, { now: utc(2026, 11, 31) }).paymentMethods[0]?.status).toBe('expiring');
    expect(statusOf(events, { now: utc(2027, 0) }).paymentMethods[0]?.status).toBe('expired');
  });

  it('has no expiry for a month outside 1-12, so the card stays active', () => {
    for (const month of [0, 13]) {
      const s = statusOf([card(month, 2020)], { now: utc(2026, 10, 22) });
      expect(s.paymentMethods[0]?.status).toBe('active');
      expect(s.warnings).toEqual([]);
    }
  });
});

describe('payment methods with part of their details missing', () => {
  const NOW = utc(2026, 10, 22);

  it('gives a card with an expiry month but no year no expiry: it stays active', () => {
    const s = statusOf(
      [
        buildEvent('payment_method.attached', {
          created: 100,
          object: {
            id: 'pm_1',
            card: { brand: 'visa', last4: '4242', exp_month: 3, exp_year: null },
          },
        }),
      ],
      { now: NOW },
    );
    expect(s.paymentMethods[0]).toMatchObject({ status: 'active', expMonth: 3, expYear: null });
    expect(s.warnings).toEqual([]);
  });

  it('never takes an expiring event without an expiry as announcing a method without one', () => {
    const bank = { id: 'ba_1', object: 'bank_account', last4: '6789' };
    const s = statusOf(
      [
        buildEvent('customer.source.created', { created: 100, object: bank }),
        buildEvent('customer.source.expiring', { created: 200, object: bank }),
      ],
      { now: NOW },
    );
    expect(s.paymentMethods[0]?.status).toBe('active');
    expect(s.warnings).toEqual([]);
  });

  it('names a method of no known type unknown', () => {
    const s = statusOf(
      [
        buildEvent('payment_method.attached', {
          created: 100,
          object: { id: 'pm_x', type: undefined, card: undefined, object: undefined },
        }),
      ],
      { now: NOW },
    );
    expect(s.paymentMethods[0]).toMatchObject({ id: 'pm_x', type: 'unknown', brand: null });
  });

  it.each([
    ['Mastercard', 'mastercard'],
    ['Cartes bancaires', 'cartes_bancaires'],
    ['Cartes  Bancaires', 'cartes_bancaires'],
    ['EFTPOS_AU', 'eftpos_au'],
  ])('reads the brand %j of a card Source as %s', (brand, word) => {
    const s = statusOf(
      [
        buildEvent('customer.source.created', {
          created: 100,
          object: { id: 'src_1', object: 'source', type: 'card', card: { brand, last4: '4242' } },
        }),
      ],
      { now: NOW },
    );
    expect(s.paymentMethods[0]?.brand).toBe(word);
  });
});

describe('card brands and expiry fields as PaymentMethods send them', () => {
  const NOW = utc(2026, 10, 22);
  const pmCard = (card: Record<string, unknown> | undefined) =>
    statusOf(
      [
        buildEvent('payment_method.attached', {
          created: 100,
          object: { id: 'pm_1', type: 'card', card },
        }),
      ],
      {
        now: NOW,
      },
    ).paymentMethods[0];

  it.each([
    'amex',
    'cartes_bancaires',
    'diners',
    'discover',
    'eftpos_au',
    'girocard',
    'jcb',
    'link',
    'mastercard',
    'unionpay',
    'visa',
    'unknown',
  ])('keeps the PaymentMethod brand word %s', (brand) => {
    expect(pmCard({ brand, last4: '4242' })?.brand).toBe(brand);
  });

  it('reads an empty brand as unknown', () => {
    expect(pmCard({ brand: '', last4: '4242' })?.brand).toBe('unknown');
  });

  it('reads a card PaymentMethod without its card object with no details', () => {
    expect(pmCard(undefined)).toMatchObject({
      type: 'card',
      brand: null,
      last4: null,
      expMonth: null,
      expYear: null,
      status: 'active',
    });
  });

  it('records expiry fields that are not numbers as null in the stored fact', () => {
    const event = buildEvent('payment_method.attached', {
      object: {
        id: 'pm_1',
        type: 'card',
        card: { brand: 'visa', exp_month: '1', exp_year: '2020' },
      },
    });
    expect(applied(event).data).toMatchObject({ expMonth: null, expYear: null });
  });

  it('reads expiry fields that are not numbers as no expiry', () => {
    expect(
      pmCard({ brand: 'visa', last4: '4242', exp_month: '1', exp_year: '2020' }),
    ).toMatchObject({
      expMonth: null,
      expYear: null,
      status: 'active',
    });
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

describe('expiring announcements that no longer match the card', () => {
  const source = (type: string, created: number, month: number, year: number, id: string) =>
    buildEvent(type, {
      id,
      created,
      object: {
        id: 'card_1',
        object: 'card',
        brand: 'Visa',
        last4: '4242',
        exp_month: month,
        exp_year: year,
      },
    });
  const NOW = utc(2026, 10, 22);

  it('ignores a stale announcement for an earlier month of the same year', () => {
    const s = statusOf(
      [
        source('customer.source.expiring', 100, 3, 2028, 'evt_exp'),
        source('customer.source.updated', 200, 9, 2028, 'evt_upd'),
      ],
      { now: NOW },
    );
    expect(s.paymentMethods[0]).toMatchObject({ status: 'active', expMonth: 9, expYear: 2028 });
    expect(s.warnings).toEqual([]);
  });

  it('ignores a stale announcement for the same month of an earlier year', () => {
    const s = statusOf(
      [
        source('customer.source.expiring', 100, 9, 2027, 'evt_exp'),
        source('customer.source.updated', 200, 9, 2028, 'evt_upd'),
      ],
      { now: NOW },
    );
    expect(s.paymentMethods[0]?.status).toBe('active');
    expect(s.warnings).toEqual([]);
  });

  it('honours the announcement of exactly the current expiry, far from the window', () => {
    const s = statusOf(
      [
        source('customer.source.updated', 100, 9, 2028, 'evt_upd'),
        source('customer.source.expiring', 200, 9, 2028, 'evt_exp'),
      ],
      { now: NOW },
    );
    expect(s.paymentMethods[0]?.status).toBe('expiring');
    expect(s.warnings).toEqual([
      { reason: 'payment_method_expiring', objectId: 'card_1', since: 200, eventId: 'evt_exp' },
    ]);
  });
});

describe('closing by event type and closing by status, apart', () => {
  const obj = (id: string, status: string | undefined) => ({ id, status, paid: false });

  it.each(['payment_intent.canceled', 'payment_intent.succeeded'])(
    'ends a PaymentIntent on %s even when its object has no status',
    (type) => {
      const s = statusOf([
        buildEvent('payment_intent.payment_failed', { created: 300, object: { id: 'pi_1' } }),
        buildEvent(type, { created: 100, object: obj('pi_1', undefined) }),
      ]);
      expect(s.blockers).toEqual([]);
    },
  );

  it.each(['succeeded', 'canceled'])(
    'ends a PaymentIntent when a failure event already shows status %s',
    (status) => {
      const s = statusOf([
        buildEvent('payment_intent.payment_failed', { created: 100, object: { id: 'pi_1' } }),
        buildEvent('payment_intent.payment_failed', { created: 50, object: obj('pi_1', status) }),
      ]);
      expect(s.blockers).toEqual([]);
    },
  );

  it('keeps a PaymentIntent blocking while its statuses are not terminal', () => {
    const s = statusOf([
      buildEvent('payment_intent.payment_failed', {
        created: 100,
        object: obj('pi_1', 'processing'),
      }),
      buildEvent('payment_intent.payment_failed', { created: 200, object: obj('pi_1', undefined) }),
    ]);
    expect(reasons(s)).toEqual(['payment_failed:pi_1']);
  });

  it.each(['invoice.voided', 'invoice.paid', 'invoice.payment_succeeded'])(
    'ends an invoice on %s even when its object has no status',
    (type) => {
      const s = statusOf([
        buildEvent('invoice.payment_failed', { created: 300, object: { id: 'in_1' } }),
        buildEvent(type, { created: 100, object: obj('in_1', undefined) }),
      ]);
      expect(s.blockers).toEqual([]);
    },
  );

  it.each(['paid', 'void'])(
    'ends an invoice when a failure event already shows status %s',
    (status) => {
      const s = statusOf([
        buildEvent('invoice.payment_failed', { created: 100, object: { id: 'in_1' } }),
        buildEvent('invoice.payment_failed', { created: 50, object: obj('in_1', status) }),
      ]);
      expect(s.blockers).toEqual([]);
    },
  );

  it('keeps an invoice blocking while its statuses are open or uncollectible', () => {
    const s = statusOf([
      buildEvent('invoice.payment_failed', { created: 100, object: obj('in_1', 'open') }),
      buildEvent('invoice.payment_failed', { created: 200, object: obj('in_1', 'uncollectible') }),
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

describe('livemode of the record', () => {
  it('says livemode false for a test-mode event and true for a live one', () => {
    expect(statusOf([buildEvent('customer.created', { livemode: false })]).livemode).toBe(false);
    expect(statusOf([buildEvent('customer.created', { livemode: true })]).livemode).toBe(true);
  });

  it('says livemode false for a test-mode event even when an override is the last commit', () => {
    const ovr: OverrideRecord = {
      id: 'ovr_1',
      customerId: CUSTOMER,
      mode: 'deny',
      reason: 'fraud review',
      setAt: '2026-11-22T10:00:05.000Z',
      expiresAt: null,
      actor: 'local:test',
    };
    const s = deriveBillingStatus({
      customerId: CUSTOMER,
      facts: [
        applied(
          buildEvent('customer.created', { livemode: false }),
          CUSTOMER,
          '2026-11-22T10:00:00.000Z',
        ),
      ],
      overrides: [ovr],
      now: 0,
      settings: DEFAULT_STATUS_SETTINGS,
    });
    expect(s).toMatchObject({ livemode: false, lastEventId: 'ovr_1' });
  });
});

describe('payment-method warnings for a customer with no method', () => {
  it('never warns about payment methods when only other objects are known', () => {
    const s = statusOf([
      buildEvent('invoice.payment_failed', { created: 100, object: { id: 'in_1' } }),
    ]);
    expect(warningReasons(s)).toEqual([]);
    expect(s.paymentMethods).toEqual([]);
  });
});

describe('overrides with unusual fields', () => {
  const ovr = (
    id: string,
    mode: OverrideRecord['mode'],
    setAt: string,
    reason: string | null,
  ): OverrideRecord => ({
    id,
    customerId: CUSTOMER,
    mode,
    reason,
    setAt,
    expiresAt: null,
    actor: null,
  });

  it('reads an override set without a reason as an empty reason', () => {
    const s = statusOf([], {
      overrides: [ovr('ovr_1', 'allow', '2026-11-22T10:00:00.000Z', null)],
    });
    expect(s.override).toEqual({
      mode: 'allow',
      reason: '',
      setAt: '2026-11-22T10:00:00.000Z',
      expiresAt: null,
    });
  });

  it('never lets an override with an unreadable time win over a dated one', () => {
    // The status API writes setAt as the ISO time of the request, so an unreadable setAt
    // reaches the derivation only from a corrupted store. The reference (statusOf) refuses
    // such input outright; lambdas/core must still answer, in any order, and the dated
    // override must win. Checked against the full derivation and the folded record directly.
    const overrides = [
      ovr('ovr_2', 'deny', 'not a time', 'garbled'),
      ovr('ovr_1', 'allow', '2026-11-22T10:00:00.000Z', 'ticket 1'),
    ];
    for (const order of [overrides, [...overrides].reverse()]) {
      const s = deriveBillingStatus({
        customerId: CUSTOMER,
        facts: [],
        overrides: order,
        now: 1_700_000_000,
        settings: DEFAULT_STATUS_SETTINGS,
      });
      expect(s).toMatchObject({
        override: { mode: 'allow', reason: 'ticket 1' },
        lastEventId: 'ovr_1',
        updatedAt: '2026-11-22T10:00:00.000Z',
        canAllocate: true,
        blockers: [],
      });
      const folded = statusFromRecord(
        CUSTOMER,
        foldedRecord([], order)!,
        1_700_000_000,
        DEFAULT_STATUS_SETTINGS,
      );
      expect(folded).toEqual(s);
    }
  });
});

describe('blockers of the same second and object', () => {
  it('orders customer_deleted before operator_deny when both name the customer at one second', () => {
    const at = 1_700_000_000;
    const s = statusOf([buildEvent('customer.deleted', { customer: CUSTOMER, created: at })], {
      overrides: [
        {
          id: 'ovr_1',
          customerId: CUSTOMER,
          mode: 'deny',
          reason: 'fraud review',
          setAt: new Date(at * 1000).toISOString(),
          expiresAt: null,
          actor: null,
        },
      ],
    });
    expect(reasons(s)).toEqual([`customer_deleted:${CUSTOMER}`, `operator_deny:${CUSTOMER}`]);
  });
});
