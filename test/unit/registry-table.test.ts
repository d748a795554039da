// Every line of the event registry: which rule applies each handled event type, what the type
// means to it, and which types' processors may call the Stripe API. Each test loads the
// registry afresh, so the table is read inside the test (under mutation testing, a mutant of
// the table is then active while it is built).
import { describe, expect, it, vi } from 'vitest';

async function registry() {
  vi.resetModules();
  return import('../../lambdas/core/registry');
}

/** type: [rule kind, meaning, Stripe API use] as docs/behaviour.md#rules describes them. */
const EXPECTED: Record<string, [string, string, string?]> = {
  'payment_intent.payment_failed': ['payment_intent', 'failed', 'invoice_payment'],
  'payment_intent.succeeded': ['payment_intent', 'succeeded'],
  'payment_intent.canceled': ['payment_intent', 'canceled'],
  'charge.failed': ['charge', 'failed'],
  'charge.succeeded': ['charge', 'succeeded'],
  'invoice.payment_failed': ['invoice', 'failed'],
  'invoice.marked_uncollectible': ['invoice', 'uncollectible'],
  'invoice.payment_action_required': ['invoice', 'action_required'],
  'invoice.paid': ['invoice', 'settled'],
  'invoice.payment_succeeded': ['invoice', 'settled'],
  'invoice.voided': ['invoice', 'settled'],
  'invoice.overdue': ['invoice', 'overdue'],
  'invoice_payment.paid': ['invoice_payment', 'paid'],
  'charge.dispute.created': ['dispute', 'opened', 'charge'],
  'charge.dispute.updated': ['dispute', 'updated', 'charge'],
  'charge.dispute.closed': ['dispute', 'closed', 'charge'],
  'customer.source.created': ['source', 'details'],
  'customer.source.updated': ['source', 'details'],
  'customer.source.expiring': ['source', 'expiring'],
  'customer.source.deleted': ['source', 'deleted'],
  'payment_method.attached': ['payment_method', 'details'],
  'payment_method.updated': ['payment_method', 'details'],
  'payment_method.automatically_updated': ['payment_method', 'details'],
  'payment_method.detached': ['payment_method', 'deleted'],
  'customer.subscription.created': ['subscription', 'created'],
  'customer.subscription.updated': ['subscription', 'updated'],
  'customer.subscription.deleted': ['subscription', 'deleted'],
  'customer.created': ['customer', 'record'],
  'customer.updated': ['customer', 'record'],
  'customer.deleted': ['customer', 'deleted'],
};

describe('the event registry', () => {
  it('handles exactly the documented types, each once, in the documented order', async () => {
    const { HANDLED_TYPES, REGISTRY } = await registry();
    expect(HANDLED_TYPES).toEqual(Object.keys(EXPECTED));
    expect(REGISTRY).toHaveLength(Object.keys(EXPECTED).length);
  });

  it.each(Object.entries(EXPECTED))('routes %s to its rule with its meaning', async (type, row) => {
    const { meaningsOf, registryEntry, usesStripeApi } = await registry();
    const [kind, meaning, stripeApi] = row;
    const entry = registryEntry(type);

    expect(entry).toEqual({ type, kind, meaning, ...(stripeApi ? { stripeApi } : {}) });
    expect(meaningsOf(entry!.kind).get(type)).toBe(meaning);
    expect(usesStripeApi(type)).toBe(stripeApi !== undefined);
  });

  it('knows no other type', async () => {
    const { registryEntry, usesStripeApi } = await registry();
    expect(registryEntry('invoice.created')).toBeUndefined();
    expect(usesStripeApi('invoice.created')).toBe(false);
  });
});
