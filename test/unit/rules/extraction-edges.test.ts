// Reading events whose shape is unusual: an owner named as a Stripe Accounts v2
// customer_account (looked up through the account, never dropped or guessed), and an old-API
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
  ])('%s waits for the account to be resolved to its customer', (type) => {
    expect(resolve(type, { customer_account: 'acct_1' })).toEqual({
      kind: 'lookup',
      keys: ['acct_1'],
      chargeId: null,
      accountId: 'acct_1',
    });
  });

  it('also when the account is expanded into an object', () => {
    expect(resolve('invoice.payment_failed', { customer_account: { id: 'acct_1' } })).toEqual({
      kind: 'lookup',
      keys: ['acct_1'],
      chargeId: null,
      accountId: 'acct_1',
    });
  });

  it('changes no record when the customer is not a cus_ id, even beside an account', () => {
    expect(
      resolve('invoice.payment_failed', { customer: 'acct_1', customer_account: 'acct_1' }),
    ).toMatchObject({ kind: 'unsupported' });
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
