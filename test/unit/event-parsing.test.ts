// How the core reads loosely typed Stripe payloads: what is a Stripe event at all, which
// customer an event names when fields are missing or odd, and what an old-API
// PaymentIntent reveals. Payload shapes only; the rules' effects are tested elsewhere.
import { describe, expect, it } from 'vitest';
import { buildEvent } from '../../bin/events/stripe-events';
import { ruleForType } from '../../lambdas/core/rules';
import { idOf, stripeEventProblem } from '../../lambdas/core/stripe-event';

const valid = () =>
  JSON.parse(JSON.stringify(buildEvent('invoice.paid'))) as Record<string, unknown>;
const withField = (key: string, value: unknown) => ({ ...valid(), [key]: value });
const resolve = (type: string, event = buildEvent(type)) =>
  ruleForType(type)!.resolveCustomer(event);

describe('what counts as a Stripe event', () => {
  it('accepts a built event', () => {
    expect(stripeEventProblem(valid())).toBeNull();
  });

  it.each([null, [], 42, 'evt_1', true])('rejects %j: not a JSON object', (value) => {
    expect(stripeEventProblem(value)).toBe('payload is not a JSON object');
  });

  it('rejects an id that is not a string, or that does not start with evt_', () => {
    for (const id of [42, null, 'ch_1']) {
      expect(stripeEventProblem(withField('id', id))).toMatch(/"id" must start with "evt_"/);
    }
  });

  it('takes backfill ids (bf_) only where they are allowed', () => {
    const backfill = withField('id', 'bf_in_1_1700000000');
    expect(stripeEventProblem(backfill)).toMatch(/"id"/);
    expect(stripeEventProblem(backfill, { allowBackfillIds: true })).toBeNull();
    expect(stripeEventProblem(withField('id', 'ch_1'), { allowBackfillIds: true })).toMatch(/"id"/);
  });

  it('rejects an empty or missing type', () => {
    expect(stripeEventProblem(withField('type', ''))).toMatch(/"type"/);
    expect(stripeEventProblem(withField('type', 7))).toMatch(/"type"/);
  });

  it('rejects a created that is not a finite number', () => {
    for (const created of ['1700000000', null, Infinity, NaN]) {
      expect(stripeEventProblem(withField('created', created))).toMatch(/"created"/);
    }
  });

  it('rejects data or data.object that is missing, null or not an object', () => {
    for (const data of [
      undefined,
      null,
      'x',
      { object: null },
      { object: [] },
      { object: 'in_1' },
    ]) {
      expect(stripeEventProblem(withField('data', data))).toMatch(/"data.object"/);
    }
  });
});

describe('ids that Stripe sends as strings or expanded objects', () => {
  it('reads a string id or an expanded object with a string id, and nothing else', () => {
    expect(idOf({ customer: 'cus_1' }, 'customer')).toBe('cus_1');
    expect(idOf({ customer: { id: 'cus_1', object: 'customer' } }, 'customer')).toBe('cus_1');
    expect(idOf({ customer: { id: 42 } }, 'customer')).toBeNull();
    expect(idOf({ customer: null }, 'customer')).toBeNull();
    expect(idOf(undefined, 'customer')).toBeNull();
  });
});

describe('whose record an event touches, with fields missing', () => {
  it('touches no record for a customer event whose object is not a customer', () => {
    // No id at all: nothing names an owner. An id that is not a cus_ id: an owner the gate
    // cannot key a record by, counted as unsupported (and still no record changes).
    const event = buildEvent('customer.updated', { object: { id: undefined } });
    expect(resolve('customer.updated', event)).toEqual({ kind: 'none' });
    for (const id of ['acct_1', '', 'cus_', 'cus_a-b']) {
      const event = buildEvent('customer.updated', { object: { id } });
      expect(resolve('customer.updated', event)).toEqual({
        kind: 'unsupported',
        reason: 'customer is not a cus_ id',
      });
    }
    const valid = buildEvent('customer.updated', { object: { id: 'cus_A1' } });
    expect(resolve('customer.updated', valid)).toEqual({ kind: 'customer', customerId: 'cus_A1' });
  });

  it('touches no record for a dispute with neither charge nor PaymentIntent', () => {
    for (const refs of [
      { charge: null, payment_intent: null },
      { charge: '', payment_intent: '' },
    ]) {
      const event = buildEvent('charge.dispute.created', { object: { id: 'dp_1', ...refs } });
      expect(resolve('charge.dispute.created', event)).toEqual({ kind: 'none' });
    }
  });

  it('looks a dispute up through its PaymentIntent alone when it has no charge', () => {
    const event = buildEvent('charge.dispute.created', {
      object: { id: 'dp_1', charge: null, payment_intent: 'pi_1' },
    });
    expect(resolve('charge.dispute.created', event)).toEqual({
      kind: 'lookup',
      keys: ['pi_1'],
      chargeId: null,
    });
  });

  it('touches no record for an update of a payment method attached to no customer', () => {
    const event = buildEvent('payment_method.updated', {
      customer: null,
      object: { id: 'pm_1' },
      previousAttributes: { customer: 'cus_old' },
    });
    expect(resolve('payment_method.updated', event)).toEqual({ kind: 'none' });
  });

  it('takes a detached method customer from the object when previous_attributes lacks it', () => {
    const event = buildEvent('payment_method.detached', {
      object: { id: 'pm_1', customer: 'cus_obj' },
      previousAttributes: {},
    });
    expect(resolve('payment_method.detached', event)).toEqual({
      kind: 'customer',
      customerId: 'cus_obj',
    });
  });

  it('touches no record for a detach that names neither customer nor method', () => {
    const event = buildEvent('payment_method.detached', {
      object: { id: undefined },
      previousAttributes: {},
    });
    expect(resolve('payment_method.detached', event)).toEqual({ kind: 'none' });
  });
});

describe('what an old-API PaymentIntent reveals', () => {
  const oldPi = (charges: unknown) =>
    buildEvent('payment_intent.payment_failed', {
      object: { id: 'pi_1', latest_charge: undefined, charges },
    });
  const rule = ruleForType('payment_intent.payment_failed')!;

  it('reveals the first charge of charges.data', () => {
    const event = oldPi({ object: 'list', data: [{ id: 'ch_1' }, { id: 'ch_2' }] });
    expect(rule.revealKeys(event)).toEqual(['pi_1', 'ch_1']);
  });

  it.each([
    ['an empty list', { object: 'list', data: [] }],
    ['a first charge without an id', { object: 'list', data: [{ object: 'charge' }] }],
    ['a first charge whose id is not a string', { object: 'list', data: [{ id: 7 }] }],
  ])('reveals only itself for %s', (_case, charges) => {
    const event = oldPi(charges);
    expect(rule.revealKeys(event)).toEqual(['pi_1']);
  });
});
