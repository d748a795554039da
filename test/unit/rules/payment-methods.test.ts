// Payment methods and sources: details (brand words, details partly missing or not numbers),
// statuses, card expiry at the edges of the year, and derived warnings, with expiring
// announcements that no longer match the card (docs/behaviour.md#payment-methods).
import { describe, expect, it } from 'vitest';
import { buildEvent, fixture } from '../../../bin/events/stripe-events';
import { expiryInstant } from '../../../lambdas/core/billing-status';
import { paymentMethodRule } from '../../../lambdas/core/rules/payment-method';
import { normalizeBrand } from '../../../lambdas/core/rules/payment-method-details';
import { CUSTOMER, applied, statusOf, warningReasons } from '../../support/derive';

const DAY = 86_400;
const utc = (year: number, monthIndex: number, day = 1) => Date.UTC(year, monthIndex, day) / 1000;
// 2026-11-22T00:00:00Z
const NOW = utc(2026, 10, 22);

const pm = (type: string, created: number, card: Record<string, unknown> = {}, evt?: string) =>
  buildEvent(type, {
    created,
    object: { id: 'pm_1', card: { ...(fixture('payment_method').card as object), ...card } },
    ...(evt ? { id: evt } : {}),
  });
const legacy = (
  type: string,
  created: number,
  fields: Record<string, unknown> = {},
  evt?: string,
) =>
  buildEvent(type, { created, object: { id: 'card_1', ...fields }, ...(evt ? { id: evt } : {}) });

describe('payment method details', () => {
  it('reads a PaymentMethod card under `card`', () => {
    const s = statusOf([pm('payment_method.attached', 100)], { now: NOW });
    expect(s.paymentMethods).toEqual([
      {
        id: 'pm_1',
        type: 'card',
        status: 'active',
        brand: 'visa',
        last4: '4242',
        expMonth: 8,
        expYear: 2030,
      },
    ]);
  });

  it('reads a legacy Card at its top level and maps its brand', () => {
    const s = statusOf([legacy('customer.source.created', 100, { brand: 'American Express' })], {
      now: NOW,
    });
    expect(s.paymentMethods[0]).toMatchObject({
      id: 'card_1',
      type: 'card',
      brand: 'amex',
      last4: '4242',
      expMonth: 8,
      expYear: 2030,
    });
  });

  it('reads a card Source under `card` and a non-card Source by its type', () => {
    const source = fixture('source');
    const s = statusOf(
      [
        buildEvent('customer.source.created', { object: { ...source, customer: CUSTOMER } }),
        buildEvent('customer.source.created', {
          object: {
            id: 'src_sepa',
            object: 'source',
            type: 'sepa_debit',
            sepa_debit: { last4: '3000' },
          },
        }),
      ],
      { now: NOW },
    );
    expect(s.paymentMethods).toEqual([
      {
        id: 'src_123',
        type: 'card',
        status: 'active',
        brand: 'visa',
        last4: '5556',
        expMonth: 12,
        expYear: 2034,
      },
      {
        id: 'src_sepa',
        type: 'sepa_debit',
        status: 'active',
        brand: null,
        last4: '3000',
        expMonth: null,
        expYear: null,
      },
    ]);
  });

  it('maps every legacy brand name of docs/behaviour.md#the-billing-status', () => {
    const table: Record<string, string> = {
      'American Express': 'amex',
      'Cartes Bancaires': 'cartes_bancaires',
      'Diners Club': 'diners',
      Discover: 'discover',
      'Eftpos Australia': 'eftpos_au',
      Girocard: 'girocard',
      JCB: 'jcb',
      MasterCard: 'mastercard',
      UnionPay: 'unionpay',
      Visa: 'visa',
      Unknown: 'unknown',
    };
    for (const [legacyName, word] of Object.entries(table))
      expect(normalizeBrand(legacyName)).toBe(word);
    expect(normalizeBrand('visa')).toBe('visa');
  });

  it('takes details from the newest event: created, then later expiry, then greater id', () => {
    const s = statusOf(
      [
        pm('payment_method.updated', 200, { exp_year: 2031, last4: '1111' }, 'evt_a'),
        pm('payment_method.updated', 200, { exp_year: 2032, last4: '2222' }, 'evt_b'),
        pm('payment_method.attached', 100, { exp_year: 2040, last4: '0000' }),
      ],
      { now: NOW },
    );
    expect(s.paymentMethods[0]).toMatchObject({ last4: '2222', expYear: 2032 });
  });

  it('resolves a detach through previous_attributes.customer, else through a lookup', () => {
    const withPrevious = buildEvent('payment_method.detached', { customer: 'cus_A1' });
    expect(paymentMethodRule.resolveCustomer(withPrevious)).toEqual({
      kind: 'customer',
      customerId: 'cus_A1',
    });
    const without = buildEvent('payment_method.detached', {
      object: { id: 'pm_9' },
      previousAttributes: {},
    });
    expect(paymentMethodRule.resolveCustomer(without)).toEqual({
      kind: 'lookup',
      keys: ['pm_9'],
      chargeId: null,
    });
  });
});

describe('payment method status and warnings', () => {
  it('computes the expiry instant as the first second of the next month (UTC)', () => {
    expect(expiryInstant(12, 2026)).toBe(Date.UTC(2027, 0, 1) / 1000);
    expect(expiryInstant(2, 2028)).toBe(Date.UTC(2028, 2, 1) / 1000);
  });

  it('is expiring within EXPIRY_WARNING_DAYS of the expiry instant, dated from the window', () => {
    // Expires end of Nov 2026: instant 2026-12-01, 9 days after NOW.
    const s = statusOf([pm('payment_method.attached', 100, { exp_month: 11, exp_year: 2026 })], {
      now: NOW,
    });
    const instant = Date.UTC(2026, 11, 1) / 1000;
    expect(s.paymentMethods[0]?.status).toBe('expiring');
    expect(s.warnings).toEqual([
      {
        reason: 'payment_method_expiring',
        objectId: 'pm_1',
        since: instant - 30 * DAY,
        eventId: null,
      },
    ]);
    expect(s.canAllocate).toBe(true);
  });

  it('honours EXPIRY_WARNING_DAYS', () => {
    const s = statusOf([pm('payment_method.attached', 100, { exp_month: 11, exp_year: 2026 })], {
      now: NOW,
      days: 5,
    });
    expect(s.paymentMethods[0]?.status).toBe('active');
  });

  it('is valid through the last second of its expiry month, expired from the next', () => {
    const card = [pm('payment_method.attached', 100, { exp_month: 11, exp_year: 2026 })];
    const instant = Date.UTC(2026, 11, 1) / 1000;
    expect(statusOf(card, { now: instant - 1 }).paymentMethods[0]?.status).toBe('expiring');
    expect(statusOf(card, { now: instant }).paymentMethods[0]?.status).toBe('expired');
  });

  it('is expiring when customer.source.expiring announced exactly its current expiry', () => {
    const s = statusOf(
      [
        legacy('customer.source.created', 100),
        legacy('customer.source.expiring', 150, {}, 'evt_exp'),
      ],
      { now: NOW },
    );
    expect(s.paymentMethods[0]?.status).toBe('expiring');
    expect(s.warnings).toEqual([
      { reason: 'payment_method_expiring', objectId: 'card_1', since: 150, eventId: 'evt_exp' },
    ]);
  });

  it('ignores an expiring announcement for an expiry the card no longer has', () => {
    const s = statusOf(
      [
        legacy('customer.source.expiring', 150, { exp_year: 2030 }),
        legacy('customer.source.updated', 200, { exp_year: 2033 }),
      ],
      { now: NOW },
    );
    expect(s.paymentMethods[0]?.status).toBe('active');
  });

  it('marks a detached method deleted for good and warns no_valid_payment_method', () => {
    const s = statusOf(
      [
        pm('payment_method.attached', 100),
        buildEvent('payment_method.detached', {
          created: 200,
          object: { id: 'pm_1' },
          id: 'evt_det',
        }),
        pm('payment_method.updated', 300),
      ],
      { now: NOW },
    );
    expect(s.paymentMethods[0]?.status).toBe('deleted');
    expect(s.warnings).toEqual([
      { reason: 'no_valid_payment_method', objectId: CUSTOMER, since: 200, eventId: 'evt_det' },
    ]);
  });

  it('takes a method known only from its deletion event from that event', () => {
    const s = statusOf(
      [legacy('customer.source.deleted', 200, { brand: 'MasterCard', last4: '4444' })],
      { now: NOW },
    );
    expect(s.paymentMethods[0]).toMatchObject({
      status: 'deleted',
      brand: 'mastercard',
      last4: '4444',
    });
  });

  it('dates no_valid_payment_method from the latest moment a method stopped being valid', () => {
    const expiredInstant = Date.UTC(2025, 0, 1) / 1000; // card expired end of Dec 2024
    const s = statusOf(
      [
        pm('payment_method.attached', 100, { exp_month: 12, exp_year: 2024 }),
        legacy('customer.source.created', 100),
        legacy('customer.source.deleted', 1_600_000_000, {}, 'evt_del'),
      ],
      { now: NOW },
    );
    expect(s.paymentMethods.map((m) => m.status)).toEqual(['deleted', 'expired']);
    expect(s.warnings).toEqual([
      {
        reason: 'no_valid_payment_method',
        objectId: CUSTOMER,
        since: expiredInstant,
        eventId: null,
      },
    ]);
  });

  it('uses the earlier of deletion and expiry for a method that expired before its deletion', () => {
    const instant = Date.UTC(2025, 0, 1) / 1000;
    const s = statusOf(
      [
        pm('payment_method.attached', 100, { exp_month: 12, exp_year: 2024 }),
        buildEvent('payment_method.detached', { created: instant + 50, object: { id: 'pm_1' } }),
      ],
      { now: NOW },
    );
    expect(s.warnings).toEqual([
      { reason: 'no_valid_payment_method', objectId: CUSTOMER, since: instant, eventId: null },
    ]);
  });

  it('does not warn no_valid_payment_method while one method is still usable', () => {
    const s = statusOf(
      [
        legacy('customer.source.deleted', 200),
        pm('payment_method.attached', 100, { exp_year: 2040 }),
      ],
      { now: NOW },
    );
    expect(warningReasons(s)).toEqual([]);
  });
});

describe('payment method details, more shapes', () => {
  it('reads a legacy bank account as bank_account without brand or expiry', () => {
    const s = statusOf(
      [
        buildEvent('customer.source.created', {
          object: { id: 'ba_1', object: 'bank_account', last4: '6789', bank_name: 'STRIPE' },
        }),
      ],
      { now: NOW },
    );
    expect(s.paymentMethods).toEqual([
      {
        id: 'ba_1',
        type: 'bank_account',
        status: 'active',
        brand: null,
        last4: '6789',
        expMonth: null,
        expYear: null,
      },
    ]);
  });

  it('reads a non-card PaymentMethod by its type, with last4 from under that type', () => {
    const s = statusOf(
      [
        buildEvent('payment_method.attached', {
          object: {
            id: 'pm_sepa',
            type: 'sepa_debit',
            card: undefined,
            sepa_debit: { last4: '3000', country: 'DE' },
          },
        }),
      ],
      { now: NOW },
    );
    expect(s.paymentMethods[0]).toEqual({
      id: 'pm_sepa',
      type: 'sepa_debit',
      status: 'active',
      brand: null,
      last4: '3000',
      expMonth: null,
      expYear: null,
    });
  });

  it('reads a deleted legacy card (id and deleted flag only) with null details', () => {
    // The published deleted_card shape as the whole object, not merged over a full card.
    const event = buildEvent('customer.source.deleted');
    event.data.object = { ...fixture('deleted_card'), customer: CUSTOMER };
    const s = statusOf([event], { now: NOW });
    expect(s.paymentMethods).toEqual([
      {
        id: 'obj_123',
        type: 'card',
        status: 'deleted',
        brand: null,
        last4: null,
        expMonth: null,
        expYear: null,
      },
    ]);
  });

  it('maps a brand neither vocabulary knows, even a prototype key, to unknown', () => {
    expect([normalizeBrand('Foo Card'), normalizeBrand('constructor')]).toEqual([
      'unknown',
      'unknown',
    ]);
  });

  it('keeps PaymentMethod brand words as they are', () => {
    const words = ['amex', 'cartes_bancaires', 'diners', 'eftpos_au', 'jcb', 'link', 'unionpay'];
    expect(words.map(normalizeBrand)).toEqual(words);
  });

  it('prefers the later expiry between two detail events of the same second', () => {
    const s = statusOf(
      [
        pm('payment_method.automatically_updated', 200, { exp_year: 2033 }, 'evt_z'),
        pm('payment_method.updated', 200, { exp_year: 2034 }, 'evt_a'),
      ],
      { now: NOW },
    );
    expect(s.paymentMethods[0]?.expYear).toBe(2034);
  });

  it('takes details from a later update, not from the deletion, for a deleted method', () => {
    const s = statusOf(
      [
        buildEvent('payment_method.detached', {
          created: 100,
          object: {
            id: 'pm_1',
            card: { brand: 'visa', last4: '0000', exp_month: 1, exp_year: 2031 },
          },
        }),
        pm('payment_method.updated', 50, { last4: '4242' }),
      ],
      { now: NOW },
    );
    expect(s.paymentMethods[0]).toMatchObject({ status: 'deleted', last4: '4242' });
  });

  it('sorts payment methods by id', () => {
    const s = statusOf(
      [
        legacy('customer.source.created', 100),
        buildEvent('payment_method.attached', { created: 100, object: { id: 'pm_0' } }),
        buildEvent('customer.source.created', {
          created: 100,
          object: { id: 'ba_1', object: 'bank_account', last4: '6789' },
        }),
      ],
      { now: NOW },
    );
    expect(s.paymentMethods.map((m) => m.id)).toEqual(['ba_1', 'card_1', 'pm_0']);
  });
});

describe('payment method status and warnings, edges', () => {
  it('is active with no expiry at all (a bank account)', () => {
    const s = statusOf(
      [
        buildEvent('customer.source.created', {
          object: { id: 'ba_1', object: 'bank_account', last4: '6789' },
        }),
      ],
      { now: NOW },
    );
    expect(s.paymentMethods[0]?.status).toBe('active');
    expect(s.warnings).toEqual([]);
  });

  it('is expiring exactly EXPIRY_WARNING_DAYS before its expiry instant, active one second earlier', () => {
    const card = [pm('payment_method.attached', 100, { exp_month: 11, exp_year: 2026 })];
    const instant = Date.UTC(2026, 11, 1) / 1000;
    expect(statusOf(card, { now: instant - 30 * DAY }).paymentMethods[0]?.status).toBe('expiring');
    expect(statusOf(card, { now: instant - 30 * DAY - 1 }).paymentMethods[0]?.status).toBe(
      'active',
    );
  });

  it('reports expired rather than expiring for an announced expiry that has passed', () => {
    const s = statusOf(
      [legacy('customer.source.expiring', 100, { exp_month: 10, exp_year: 2026 })],
      { now: NOW },
    );
    expect(s.paymentMethods[0]?.status).toBe('expired');
    expect(warningReasons(s)).toEqual([`no_valid_payment_method:${CUSTOMER}`]);
  });

  it('reports deleted rather than expired for a deleted card past its expiry', () => {
    const s = statusOf([legacy('customer.source.deleted', 100, { exp_month: 1, exp_year: 2020 })], {
      now: NOW,
    });
    expect(s.paymentMethods[0]?.status).toBe('deleted');
  });

  it('dates an announced expiring warning from the announcement even inside the window', () => {
    const s = statusOf(
      [
        legacy(
          'customer.source.expiring',
          1_700_000_000,
          { exp_month: 11, exp_year: 2026 },
          'evt_x',
        ),
      ],
      { now: NOW },
    );
    expect(s.warnings).toEqual([
      {
        reason: 'payment_method_expiring',
        objectId: 'card_1',
        since: 1_700_000_000,
        eventId: 'evt_x',
      },
    ]);
  });

  it('warns payment_method_expiring for each expiring method, sorted by since then id', () => {
    const s = statusOf(
      [
        buildEvent('payment_method.attached', {
          created: 100,
          object: {
            id: 'pm_b',
            card: { brand: 'visa', last4: '1', exp_month: 11, exp_year: 2026 },
          },
        }),
        buildEvent('payment_method.attached', {
          created: 100,
          object: {
            id: 'pm_a',
            card: { brand: 'visa', last4: '2', exp_month: 11, exp_year: 2026 },
          },
        }),
        legacy('customer.source.expiring', 200, { exp_month: 12, exp_year: 2026 }),
      ],
      { now: NOW },
    );
    expect(warningReasons(s)).toEqual([
      'payment_method_expiring:card_1',
      'payment_method_expiring:pm_a',
      'payment_method_expiring:pm_b',
    ]);
  });

  it('does not warn no_valid_payment_method while a method is merely expiring', () => {
    const s = statusOf(
      [
        legacy('customer.source.deleted', 100),
        pm('payment_method.attached', 100, { exp_month: 11, exp_year: 2026 }),
      ],
      { now: NOW },
    );
    expect(warningReasons(s)).toEqual(['payment_method_expiring:pm_1']);
  });

  it('names the deletion when deletion and expiry are the same second', () => {
    const instant = Date.UTC(2025, 0, 1) / 1000;
    const s = statusOf(
      [legacy('customer.source.deleted', instant, { exp_month: 12, exp_year: 2024 }, 'evt_del')],
      { now: NOW },
    );
    expect(s.warnings).toEqual([
      { reason: 'no_valid_payment_method', objectId: CUSTOMER, since: instant, eventId: 'evt_del' },
    ]);
  });

  it('picks the smallest method id when two methods stopped being valid at the same second', () => {
    const s = statusOf(
      [
        buildEvent('customer.source.deleted', {
          created: 500,
          object: { id: 'card_b' },
          id: 'evt_b',
        }),
        buildEvent('customer.source.deleted', {
          created: 500,
          object: { id: 'card_a' },
          id: 'evt_a',
        }),
      ],
      { now: NOW },
    );
    expect(s.warnings).toEqual([
      { reason: 'no_valid_payment_method', objectId: CUSTOMER, since: 500, eventId: 'evt_a' },
    ]);
  });

  it('names the smallest event id, not the smallest method id, among deletions of one second', () => {
    // card_a was deleted by evt_z, card_b by evt_y: the events decide (the smallest id).
    const s = statusOf(
      [
        buildEvent('customer.source.deleted', {
          created: 500,
          object: { id: 'card_a' },
          id: 'evt_z',
        }),
        buildEvent('customer.source.deleted', {
          created: 500,
          object: { id: 'card_b' },
          id: 'evt_y',
        }),
      ],
      { now: NOW },
    );
    expect(s.warnings).toEqual([
      { reason: 'no_valid_payment_method', objectId: CUSTOMER, since: 500, eventId: 'evt_y' },
    ]);
  });

  it("names a deletion over another method's expiry at the same moment", () => {
    // card_a expires at the instant card_b is deleted: the deletion, an event, names it.
    const instant = Date.UTC(2025, 0, 1) / 1000;
    const s = statusOf(
      [
        legacy('customer.source.created', 100, { exp_month: 12, exp_year: 2024 }, 'evt_a'),
        buildEvent('customer.source.deleted', {
          created: instant,
          object: { id: 'card_b' },
          id: 'evt_del',
        }),
      ],
      { now: NOW },
    );
    expect(s.warnings).toEqual([
      { reason: 'no_valid_payment_method', objectId: CUSTOMER, since: instant, eventId: 'evt_del' },
    ]);
  });

  it('gives no payment-method warning when no method is known', () => {
    const s = statusOf([buildEvent('customer.created')], { now: NOW });
    expect(s.warnings).toEqual([]);
  });

  it('never blocks for payment methods: warnings only', () => {
    const s = statusOf([legacy('customer.source.deleted', 100)], { now: NOW });
    expect(s.canAllocate).toBe(true);
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

describe('payment-method warnings for a customer with no method', () => {
  it('never warns about payment methods when only other objects are known', () => {
    const s = statusOf([
      buildEvent('invoice.payment_failed', { created: 100, object: { id: 'in_1' } }),
    ]);
    expect(warningReasons(s)).toEqual([]);
    expect(s.paymentMethods).toEqual([]);
  });
});
