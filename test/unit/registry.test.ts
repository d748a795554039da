// The registry's configuration helpers: which event types a deployment enables
// (ENABLED_EVENT_TYPES / the enabledEventTypes context key) and their resource-safe names.
import { describe, expect, it } from 'vitest';
import { HANDLED_TYPES, parseEnabledTypes, typeSlug } from '../../lambdas/core/registry';

describe('enabled event types', () => {
  it('enables every handled type when the setting is empty or absent', () => {
    for (const value of [undefined, '', ' , ', []]) {
      expect(parseEnabledTypes(value)).toEqual([...HANDLED_TYPES]);
    }
  });

  it('reads a comma-separated subset, trimming spaces, in registry order', () => {
    expect(parseEnabledTypes(' invoice.paid , charge.failed,,')).toEqual([
      'charge.failed',
      'invoice.paid',
    ]);
    expect(parseEnabledTypes(['invoice.paid', ' customer.deleted '])).toEqual([
      'invoice.paid',
      'customer.deleted',
    ]);
  });

  it('refuses unknown types, naming each of them', () => {
    expect(() => parseEnabledTypes('invoice.paid,invoice.created, plan.updated')).toThrow(
      /^unknown event type\(s\) invoice\.created, plan\.updated: expected a subset of payment_intent\.payment_failed, payment_intent\.succeeded,/,
    );
  });
});

describe('type slugs', () => {
  it('turns each run of other characters into one dash', () => {
    expect(typeSlug('charge.dispute.created')).toBe('charge-dispute-created');
    expect(typeSlug('payment_method.automatically_updated')).toBe(
      'payment-method-automatically-updated',
    );
    expect(typeSlug('a._b')).toBe('a-b');
  });

  it('gives every handled type a distinct slug of letters, digits and dashes', () => {
    const slugs = HANDLED_TYPES.map(typeSlug);
    expect(new Set(slugs).size).toBe(HANDLED_TYPES.length);
    for (const slug of slugs) expect(slug).toMatch(/^[a-zA-Z0-9-]+$/);
  });
});
