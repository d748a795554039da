// The checks at the door, at every boundary: ids and dates Stripe never sends
// (docs/behaviour.md#ids-and-dates-stripe-never-sends), the event envelope
// (docs/behaviour.md#the-webhook-verifier), customer and Accounts v2 ids
// (docs/behaviour.md#whose-record-an-event-touches) and the readers of loose objects.
import { describe, expect, it } from 'vitest';
import { PRE_BASIL_API_VERSION, buildEvent } from '../../bin/events/stripe-events';
import { eventProblem } from '../../lambdas/core/rules';
import { accountAlias, customerOf } from '../../lambdas/core/rules/common';
import {
  ACCOUNT_ID,
  BACKFILL_ID_PREFIX,
  CUSTOMER_ID,
  MAX_CREATED_AHEAD_SECONDS,
  STRIPE_ID,
  idOf,
  idsAndDatesProblem,
  num,
  obj,
  str,
  stripeEventProblem,
  type StripeEvent,
} from '../../lambdas/core/stripe-event';

const NOW = 1_800_000_000;
const CHARACTER = 'an id holds a character other than letters, digits, "_" and "-"';
const LENGTH = (n: number) => `an id is longer than 255 characters (${n})`;
const AHEAD = '"created" is more than a day in the future';
const WHOLE = '"created" must be a whole number of seconds';

const envelope = (fields: Partial<StripeEvent> = {}): StripeEvent => ({
  id: 'evt_1',
  object: 'event',
  type: 'invoice.paid',
  created: NOW,
  livemode: false,
  data: { object: { id: 'in_1' } },
  ...fields,
});

describe('ids Stripe never sends', () => {
  const check = (id: string) => idsAndDatesProblem(envelope(), [id], NOW);

  it.each([
    ['one character', 'a'],
    ['upper case', 'ABCXYZ'],
    ['lower case', 'abcxyz'],
    ['digits', '0123456789'],
    ['underscore and hyphen', 'in_1-2_3'],
    ['255 characters', 'x'.repeat(255)],
  ])('accepts %s', (_, id) => {
    expect(check(id)).toBeNull();
    expect(STRIPE_ID.test(id)).toBe(true);
  });

  it.each([
    ['the empty id', ''],
    ['a space', 'in 1'],
    ['a dot', 'in.1'],
    ['a "#" (the key separator)', 'in#1'],
    ['a "%"', 'in%1'],
    ['a "!"', 'in!1'],
    ['"@" (just before A)', 'in@'],
    ['"[" (just after Z)', 'in['],
    ['"`" (just before a)', 'in`'],
    ['"{" (just after z)', 'in{'],
    ['"/" (just before 0)', 'in/'],
    ['":" (just after 9)', 'in:'],
    ['a bad first character', '!in_1'],
    ['a bad last character', 'in_1!'],
    ['a trailing newline', 'in_1\n'],
    ['a leading newline', '\nin_1'],
    ['a letter outside ASCII', 'in_é'],
    ['a lone surrogate', 'in_\ud800'],
    ['255 characters with a bad one', `${'x'.repeat(254)}!`],
  ])('refuses an id with %s as holding a character', (_, id) => {
    expect(check(id)).toBe(CHARACTER);
    expect(STRIPE_ID.test(id)).toBe(false);
  });

  it.each([256, 257, 1_000])('refuses an id of %i characters, naming its length', (n) => {
    expect(check('x'.repeat(n))).toBe(LENGTH(n));
    expect(check(`${'!'.repeat(n)}`)).toBe(LENGTH(n));
  });

  it('checks the event id first, then every id read, in order', () => {
    expect(idsAndDatesProblem(envelope({ id: 'evt 1' }), ['x'.repeat(300)], NOW)).toBe(CHARACTER);
    expect(idsAndDatesProblem(envelope(), ['in_1', 'x'.repeat(300), 'a b'], NOW)).toBe(LENGTH(300));
    expect(idsAndDatesProblem(envelope(), ['in_1', 'cus_1', 'a b'], NOW)).toBe(CHARACTER);
    expect(idsAndDatesProblem(envelope({ id: 'x'.repeat(256) }), [], NOW)).toBe(LENGTH(256));
  });

  it('refuses a bad id before a bad date', () => {
    expect(idsAndDatesProblem(envelope({ created: NOW + 10 * 86_400 }), ['a b'], NOW)).toBe(
      CHARACTER,
    );
  });
});

describe('dates Stripe never sends', () => {
  const at = (created: number) => idsAndDatesProblem(envelope({ created }), [], NOW);

  it('allows one day of clock skew', () => {
    expect(MAX_CREATED_AHEAD_SECONDS).toBe(86_400);
  });

  it.each([
    ['long ago', 0],
    ['a second ago', NOW - 1],
    ['now', NOW],
    ['a second ahead', NOW + 1],
    ['exactly a day ahead', NOW + 86_400],
  ])('accepts a created %s', (_, created) => {
    expect(at(created)).toBeNull();
  });

  it.each([
    ['a day and a second ahead', NOW + 86_401],
    ['a year ahead', NOW + 365 * 86_400],
  ])('refuses a created %s', (_, created) => {
    expect(at(created)).toBe(AHEAD);
  });

  it.each([
    ['negative', -1],
    ['fractional', NOW + 0.5],
    ['not a number', Number.NaN],
    ['infinite', Number.POSITIVE_INFINITY],
    ['beyond the safe integers', 2 ** 53],
  ])('refuses a %s created as not whole seconds', (_, created) => {
    expect(at(created)).toBe(WHOLE);
  });

  it('judges the date against the time given', () => {
    expect(idsAndDatesProblem(envelope({ created: NOW }), [], NOW - 86_400)).toBeNull();
    expect(idsAndDatesProblem(envelope({ created: NOW }), [], NOW - 86_401)).toBe(AHEAD);
  });
});

describe('eventProblem: the ids each rule reads', () => {
  const bad = 'x'.repeat(256);

  it('passes the events the builders make', () => {
    for (const type of [
      'invoice.payment_failed',
      'invoice_payment.paid',
      'payment_intent.payment_failed',
      'charge.failed',
      'charge.dispute.created',
      'payment_method.detached',
      'customer.source.created',
      'customer.subscription.updated',
      'customer.deleted',
    ]) {
      expect(eventProblem(buildEvent(type, { created: NOW }), NOW), type).toBeNull();
    }
  });

  it.each([
    ['the event id', 'invoice.paid', { id: 'evt_a.b' }],
    ['the object id', 'customer.subscription.updated', { object: { id: 'sub_a.b' } }],
    ['the customer', 'invoice.paid', { object: { customer: 'cus_a.b' } }],
    ['an expanded customer', 'invoice.paid', { object: { customer: { id: 'cus_a.b' } } }],
    ['the customer account', 'invoice.paid', { object: { customer_account: 'acct_a.b' } }],
    [
      "an old invoice's PaymentIntent",
      'invoice.payment_failed',
      { apiVersion: PRE_BASIL_API_VERSION, object: { payment_intent: 'pi_a.b' } },
    ],
    ["a charge's PaymentIntent", 'charge.failed', { object: { payment_intent: 'pi_a.b' } }],
    [
      "an old charge's invoice",
      'charge.failed',
      { apiVersion: PRE_BASIL_API_VERSION, object: { invoice: 'in_a.b' } },
    ],
    [
      "a PaymentIntent's latest charge",
      'payment_intent.payment_failed',
      { object: { latest_charge: 'ch_a.b' } },
    ],
    ["a dispute's charge", 'charge.dispute.created', { object: { charge: 'ch_a.b' } }],
    [
      "a dispute's PaymentIntent",
      'charge.dispute.created',
      { object: { payment_intent: 'pi_a.b' } },
    ],
    [
      "an invoice payment's PaymentIntent",
      'invoice_payment.paid',
      { object: { payment: { type: 'payment_intent', payment_intent: 'pi_a.b' } } },
    ],
    [
      "an invoice payment's charge",
      'invoice_payment.paid',
      { object: { payment: { type: 'charge', charge: 'ch_a.b' } } },
    ],
    ["an invoice payment's invoice", 'invoice_payment.paid', { object: { invoice: 'in_a.b' } }],
    [
      "a detach's previous customer",
      'payment_method.detached',
      { previousAttributes: { customer: 'cus_a.b' } },
    ],
  ] as const)('refuses a bad id in %s', (_, type, options) => {
    const event = buildEvent(type, { created: NOW, ...options });
    expect(eventProblem(event, NOW)).toBe(CHARACTER);
  });

  it('refuses a too long object id and a created too far ahead', () => {
    expect(
      eventProblem(buildEvent('invoice.paid', { created: NOW, object: { id: bad } }), NOW),
    ).toBe(LENGTH(256));
    expect(eventProblem(buildEvent('invoice.paid', { created: NOW + 86_401 }), NOW)).toBe(AHEAD);
    expect(eventProblem(buildEvent('invoice.paid', { created: NOW + 86_400 }), NOW)).toBeNull();
  });

  it('does not check events of a type no processor handles', () => {
    const event = {
      ...envelope({ id: 'evt a', created: NOW + 10 * 86_400 }),
      type: 'plan.created',
    };
    expect(eventProblem(event, NOW)).toBeNull();
  });
});

describe('customer and Accounts v2 ids', () => {
  it.each(['cus_1', 'cus_QXg1o8vcGmoR32', 'cus_ABCxyz09'])('takes %s as a customer id', (id) => {
    expect(CUSTOMER_ID.test(id)).toBe(true);
    expect(customerOf({ customer: id })).toEqual({ kind: 'customer', customerId: id });
  });

  it.each([
    'cus_',
    'cus',
    'cus_a_b',
    'cus_a-b',
    'cus_a.b',
    'xcus_ab',
    'cus_ab\n',
    'CUS_ab',
    'acct_ab',
    'pi_ab',
    'cus_ab!',
    '',
  ])('changes no record for a customer %j that is not cus_ and letters and digits', (id) => {
    expect(CUSTOMER_ID.test(id)).toBe(false);
    expect(customerOf({ customer: id })).toEqual({
      kind: 'unsupported',
      reason: 'customer is not a cus_ id',
    });
  });

  it('reads an expanded customer by its id', () => {
    expect(customerOf({ customer: { id: 'cus_2', object: 'customer' } })).toEqual({
      kind: 'customer',
      customerId: 'cus_2',
    });
  });

  it.each(['acct_1', 'acct_ABCxyz09'])('takes %s as an Accounts v2 id', (id) => {
    expect(ACCOUNT_ID.test(id)).toBe(true);
  });

  it.each(['acct_', 'acct_a_b', 'acct_a-b', 'xacct_1', 'acct_1!', 'cus_1', 'ACCT_1'])(
    'refuses %j as an Accounts v2 id',
    (id) => {
      expect(ACCOUNT_ID.test(id)).toBe(false);
    },
  );

  it('looks an object naming only its customer account up by that account', () => {
    expect(customerOf({ customer: null, customer_account: 'acct_1' })).toEqual({
      kind: 'lookup',
      keys: ['acct_1'],
      chargeId: null,
      accountId: 'acct_1',
    });
    expect(customerOf({ customer: null })).toEqual({ kind: 'none' });
    expect(customerOf({ customer_account: '' })).toEqual({ kind: 'none' });
  });

  it('teaches an alias only beside a cus_ id', () => {
    expect(accountAlias({ customer: 'cus_1', customer_account: 'acct_1' })).toBe('acct_1');
    expect(accountAlias({ object: 'customer', id: 'cus_1', customer_account: 'acct_1' })).toBe(
      'acct_1',
    );
    expect(accountAlias({ customer: 'cus_a-b', customer_account: 'acct_1' })).toBeNull();
    expect(accountAlias({ customer: null, customer_account: 'acct_1' })).toBeNull();
    expect(accountAlias({ customer: 'cus_1' })).toBeNull();
    expect(accountAlias({ object: 'invoice', id: 'cus_1', customer_account: 'acct_1' })).toBeNull();
  });
});

describe('stripeEventProblem: the envelope', () => {
  const valid = { id: 'evt_1', object: 'event', type: 'x.y', created: 5, data: { object: {} } };
  const problem = (fields: Record<string, unknown>, allowBackfillIds = false) =>
    stripeEventProblem({ ...valid, ...fields }, { allowBackfillIds });

  it('accepts an event', () => {
    expect(stripeEventProblem(valid)).toBeNull();
    expect(problem({ created: 5.5 })).toBeNull();
  });

  it.each([null, [], 'evt_1', 7, undefined])('refuses %j as not a JSON object', (value) => {
    expect(stripeEventProblem(value)).toBe('payload is not a JSON object');
  });

  it.each([{ object: 'invoice' }, { object: undefined }])(
    'refuses %j as not an event',
    (fields) => {
      expect(problem(fields)).toBe('payload is not a Stripe event: "object" must be "event"');
    },
  );

  it.each([{ id: 'in_1' }, { id: 7 }, { id: undefined }, { id: 'bf_1' }, { id: 'xevt_1' }])(
    'refuses the id of %j',
    (fields) => {
      expect(problem(fields)).toBe('payload is not a Stripe event: "id" must start with "evt_"');
    },
  );

  it('accepts backfill ids only where allowed', () => {
    expect(BACKFILL_ID_PREFIX).toBe('bf_');
    expect(problem({ id: 'bf_1' }, true)).toBeNull();
    expect(problem({ id: 'evt_1' }, true)).toBeNull();
    expect(problem({ id: 'in_1' }, true)).toBe(
      'payload is not a Stripe event: "id" must start with "evt_"',
    );
  });

  it.each([{ type: '' }, { type: 3 }, { type: undefined }])('refuses the type of %j', (fields) => {
    expect(problem(fields)).toBe('payload is not a Stripe event: "type" must be a string');
  });

  it.each([{ created: '5' }, { created: Number.NaN }, { created: Number.POSITIVE_INFINITY }])(
    'refuses the created of %j',
    (fields) => {
      expect(problem(fields)).toBe('payload is not a Stripe event: "created" must be a number');
    },
  );

  it.each([
    { data: undefined },
    { data: null },
    { data: 'x' },
    { data: {} },
    { data: { object: null } },
    { data: { object: [] } },
    { data: { object: 'in_1' } },
  ])('refuses %j without a data.object', (fields) => {
    expect(problem(fields)).toBe('payload is not a Stripe event: "data.object" must be an object');
  });
});

describe('readers of loose objects', () => {
  it('str reads strings only', () => {
    expect(str({ a: 'x' }, 'a')).toBe('x');
    expect(str({ a: '' }, 'a')).toBe('');
    expect(str({ a: 1 }, 'a')).toBeNull();
    expect(str({}, 'a')).toBeNull();
    expect(str(undefined, 'a')).toBeNull();
  });

  it('num reads finite numbers only', () => {
    expect(num({ a: 0 }, 'a')).toBe(0);
    expect(num({ a: -2.5 }, 'a')).toBe(-2.5);
    expect(num({ a: Number.NaN }, 'a')).toBeNull();
    expect(num({ a: Number.POSITIVE_INFINITY }, 'a')).toBeNull();
    expect(num({ a: '1' }, 'a')).toBeNull();
    expect(num(undefined, 'a')).toBeNull();
  });

  it('obj reads objects only, never arrays or null', () => {
    const inner = { b: 1 };
    expect(obj({ a: inner }, 'a')).toBe(inner);
    expect(obj({ a: [] }, 'a')).toBeUndefined();
    expect(obj({ a: null }, 'a')).toBeUndefined();
    expect(obj({ a: 'x' }, 'a')).toBeUndefined();
    expect(obj(undefined, 'a')).toBeUndefined();
  });

  it('idOf reads an id or an expanded object with a string id', () => {
    expect(idOf({ a: 'pi_1' }, 'a')).toBe('pi_1');
    expect(idOf({ a: { id: 'pi_2' } }, 'a')).toBe('pi_2');
    expect(idOf({ a: { id: 3 } }, 'a')).toBeNull();
    expect(idOf({ a: null }, 'a')).toBeNull();
    expect(idOf({ a: 3 }, 'a')).toBeNull();
    expect(idOf(undefined, 'a')).toBeNull();
  });
});
