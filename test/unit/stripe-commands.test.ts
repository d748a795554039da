// The pure parts of the Stripe-facing operator commands: --since, type chunks for the Events
// API, endpoint URL checks, stored webhook secrets, and the shape of backfill events.
import { describe, expect, it } from 'vitest';
import { backfillType, syntheticEvent } from '../../bin/backfill';
import { parseSince, typeChunks } from '../../bin/reconcile';
import { checkEndpointUrl, storedSecrets } from '../../bin/register-endpoint';
import { PINNED_API_VERSION, fixture } from '../../bin/events/stripe-events';
import { HANDLED_TYPES } from '../../lambdas/core/registry';
import { stripeEventProblem, type StripeObject } from '../../lambdas/core/stripe-event';

const NOW = new Date('2026-11-22T10:00:00Z');
const NOW_S = NOW.getTime() / 1000;

describe('reconcile --since', () => {
  it('reads a duration back from now', () => {
    expect([parseSince('90m', NOW), parseSince('6h', NOW), parseSince('3d', NOW)]).toEqual([
      NOW_S - 5400,
      NOW_S - 6 * 3600,
      NOW_S - 3 * 86_400,
    ]);
  });

  it('reads an ISO 8601 time', () => {
    expect(parseSince('2026-11-01T00:00:00Z', NOW)).toBe(Date.parse('2026-11-01T00:00:00Z') / 1000);
  });

  it('accepts exactly 30 days back', () => {
    expect(parseSince('30d', NOW)).toBe(NOW_S - 30 * 86_400);
  });

  it('rejects more than 30 days back, naming the Events API limit', () => {
    expect(() => parseSince('2026-10-01T00:00:00Z', NOW)).toThrow(
      /more than 30 days: Stripe's Events API only keeps 30 days/,
    );
  });

  it('rejects a time in the future', () => {
    expect(() => parseSince('2026-11-23T00:00:00Z', NOW)).toThrow(/is in the future/);
  });

  it('rejects something that is neither a time nor a duration', () => {
    expect(() => parseSince('yesterday', NOW)).toThrow(/must be an ISO 8601 time .* or a duration/);
  });
});

describe('Events API type chunks', () => {
  it('splits the handled types into requests of at most 20 types, in registry order', () => {
    const chunks = typeChunks(HANDLED_TYPES);

    expect(chunks.map((c) => c.length)).toEqual([20, 8]);
    expect(chunks.flat()).toEqual([...HANDLED_TYPES]);
  });
});

describe('register-endpoint --url', () => {
  it('accepts https', () => {
    expect(checkEndpointUrl('https://x.example/webhook', false)).toBe('https://x.example/webhook');
  });

  it('accepts plain http on the loopback with --local only', () => {
    expect(checkEndpointUrl('http://127.0.0.1:3000/webhook', true)).toBe(
      'http://127.0.0.1:3000/webhook',
    );
    expect(() => checkEndpointUrl('http://127.0.0.1:3000/webhook', false)).toThrow(/--local/);
  });

  it('refuses plain http elsewhere, even with --local', () => {
    expect(() => checkEndpointUrl('http://x.example/webhook', true)).toThrow(/https URL/);
  });

  it('refuses credentials in the URL', () => {
    expect(() => checkEndpointUrl('https://u:p@x.example/webhook', false)).toThrow(/credentials/);
  });
});

describe('stored webhook secrets', () => {
  it('keeps the signing secrets of a comma-separated value and drops placeholders', () => {
    expect(storedSecrets(' whsec_a, placeholder ,whsec_b\n')).toEqual(['whsec_a', 'whsec_b']);
  });
});

describe('backfill events', () => {
  const invoice: StripeObject = { ...fixture('invoice'), status: 'uncollectible' };

  it('names the event after the object and the listing time, created at the listing time', () => {
    const event = syntheticEvent('invoice.marked_uncollectible', invoice, 1_790_000_000, false);

    expect(event).toMatchObject({
      id: `bf_${invoice.id as string}_1790000000`,
      object: 'event',
      type: 'invoice.marked_uncollectible',
      created: 1_790_000_000,
      api_version: PINNED_API_VERSION,
      data: { object: invoice },
    });
  });

  it('passes the processors envelope check for backfill ids', () => {
    const event = syntheticEvent('invoice.marked_uncollectible', invoice, 1_790_000_000, false);

    expect(stripeEventProblem(event, { allowBackfillIds: true })).toBeNull();
  });

  it('maps each listed kind to the event type of docs/behaviour.md#backfill', () => {
    expect([
      backfillType('invoices', { status: 'open' }),
      backfillType('invoices', { status: 'uncollectible' }),
      backfillType('subscriptions', {}),
      backfillType('disputes', {}),
      backfillType('payment_methods', {}),
      backfillType('card_sources', {}),
    ]).toEqual([
      'invoice.payment_failed',
      'invoice.marked_uncollectible',
      'customer.subscription.updated',
      'charge.dispute.created',
      'payment_method.attached',
      'customer.source.created',
    ]);
  });
});
