import { describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import { HANDLED_TYPES } from '../../lambdas/core/registry';
import { stripeEventProblem } from '../../lambdas/core/stripe-event';
import { BUILDABLE_TYPES, buildEvent, signatureHeader } from '../../bin/events/stripe-events';

describe('event builders', () => {
  it('can build every handled event type', () => {
    expect([...BUILDABLE_TYPES].sort()).toEqual([...HANDLED_TYPES].sort());
  });

  it.each(HANDLED_TYPES)('builds a valid Stripe event envelope for %s', (type) => {
    const event = buildEvent(type, { created: 1_700_000_000 });
    expect(stripeEventProblem(event)).toBeNull();
    expect(event.type).toBe(type);
    expect(event.created).toBe(1_700_000_000);
  });

  it('signs payloads so that the stripe package itself accepts them', () => {
    const payload = JSON.stringify(buildEvent('invoice.paid'));
    const secret = 'whsec_test_secret';
    const header = signatureHeader(payload, secret);
    const event = new Stripe('sk_test_x').webhooks.constructEvent(payload, header, secret);
    expect(event.type).toBe('invoice.paid');
  });
});
