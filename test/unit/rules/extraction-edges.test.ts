// Reading events whose shape is unusual: an owner named as a Stripe Accounts v2
// customer_account (reported as unsupported, never dropped or guessed), and an old-API
// PaymentIntent whose charges list is malformed (docs/behaviour.md#whose-record-an-event-touches).
import { describe, expect, it } from 'vitest';
import { buildEvent } from '../../../bin/events/stripe-events';
import { ruleForType } from '../../../lambdas/core/rules';

const resolve = (type: string, object: Record<string, unknown>) =>
  ruleForType(type)!.resolveCustomer(buildEvent(type, { customer: null, object }));

describe('an owner named as customer_account (Accounts v2)', () => {
  it.each([
    'payment_intent.payment_failed',
    'charge.failed',
    'invoice.payment_failed',
    'customer.subscription.updated',
    'customer.source.created',
    'payment_method.attached',
  ])('%s is reported as unsupported, with the reason', (type) => {
    expect(resolve(type, { customer_account: 'acct_1' })).toEqual({
      kind: 'unsupported',
      reason: 'customer_account (Accounts v2)',
    });
  });

  it('also when the account is expanded into an object', () => {
    expect(resolve('invoice.payment_failed', { customer_account: { id: 'acct_1' } })).toEqual({
      kind: 'unsupported',
      reason: 'customer_account (Accounts v2)',
    });
  });

  it('still goes by the customer when the object names both', () => {
    expect(
      resolve('invoice.payment_failed', { customer: 'cus_B', customer_account: 'acct_1' }),
    ).toEqual({ kind: 'customer', customerId: 'cus_B' });
  });

  it('touches no record when the object names neither', () => {
    expect(resolve('invoice.payment_failed', {})).toEqual({ kind: 'none' });
  });
});

describe('an old-API PaymentIntent with a malformed charges list', () => {
  it.each([
    ['null', [null]],
    ['a string', ['ch_1']],
  ])('reveals only itself when the first charge is %s', (_case, data) => {
    const event = buildEvent('payment_intent.payment_failed', {
      object: { id: 'pi_1', latest_charge: undefined, charges: { object: 'list', data } },
    });
    expect(ruleForType(event.type)!.revealKeys(event)).toEqual(['pi_1']);
  });
});
