// The operator commands' `stripe` client against the fake Stripe API: where it connects,
// and how it answers rate limiting (stripe-node alone retries a 429 only when Stripe says
// `Stripe-Should-Retry: true`, and never reads `Retry-After`).
import Stripe from 'stripe';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  makeStripeClient,
  retryAfterMs,
  stripeApiKey,
  stripeApiLocation,
  stripeKeyMode,
  type RateLimitNotice,
} from '../../bin/ops/stripe-client';
import { invoiceObject } from '../support/fake-stripe-api';
import { stripeHarness, type StripeHarness } from '../support/stripe-commands';

let h: StripeHarness;

beforeEach(async () => {
  h = await stripeHarness();
});

afterEach(async () => {
  await h.fake.close();
});

async function listAll(stripe: Stripe): Promise<string[]> {
  const ids: string[] = [];
  for await (const invoice of stripe.invoices.list({ limit: 2 })) ids.push(invoice.id!);
  return ids;
}

describe('the Stripe client of the operator commands', () => {
  it('talks to STRIPE_API_BASE with the Bearer key', async () => {
    h.fake.invoices.push(invoiceObject({ customer: 'cus_A', status: 'open' }));

    const ids = await listAll(h.stripe);

    expect(ids).toEqual([h.fake.invoices[0]!.id]);
    expect(h.fake.requests.map((r) => r.status)).toEqual([200]);
  });

  it('auto-paginates with starting_after', async () => {
    for (let i = 0; i < 5; i++) {
      h.fake.invoices.push(invoiceObject({ customer: 'cus_A', status: 'open', created: 100 + i }));
    }

    const ids = await listAll(h.stripe);

    expect(ids).toEqual([...h.fake.invoices].reverse().map((o) => o.id));
    expect(h.fake.requests.map((r) => r.query.starting_after)).toEqual([undefined, ids[1], ids[3]]);
  });

  it('retries a 429 that carries no hint, with a backoff', async () => {
    h.fake.invoices.push(invoiceObject({ customer: 'cus_A', status: 'open' }));
    h.fake.rateLimitNext(2);

    const ids = await listAll(h.stripe);

    expect(ids).toHaveLength(1);
    expect(h.fake.requests.map((r) => r.status)).toEqual([429, 429, 200]);
    expect(h.waits).toHaveLength(2);
  });

  it('waits what Retry-After asks', async () => {
    h.fake.rateLimitNext(1, { retryAfter: 3 });

    await listAll(h.stripe);

    expect(h.waits).toEqual([3000]);
  });

  it('retries in the middle of a pagination and goes on from the same page', async () => {
    for (let i = 0; i < 3; i++) {
      h.fake.invoices.push(invoiceObject({ customer: 'cus_A', status: 'open', created: 100 + i }));
    }
    const notices: RateLimitNotice[] = [];
    const stripe = makeStripeClient(h.env, {
      sleep: async () => undefined,
      onRateLimited: (n) => void notices.push(n),
    });
    const ids: string[] = [];

    for await (const invoice of stripe.invoices.list({ limit: 2 })) {
      ids.push(invoice.id!);
      if (ids.length === 1) h.fake.rateLimitNext(1, { retryAfter: 1 });
    }

    expect(ids).toHaveLength(3);
    expect(notices).toEqual([{ attempt: 1, delayMs: 1000, basis: 'retry-after' }]);
  });

  it('gives up when Stripe says Stripe-Should-Retry: false', async () => {
    h.fake.rateLimitNext(1, { shouldRetry: false });

    await expect(listAll(h.stripe)).rejects.toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect(h.fake.requests).toHaveLength(1);
  });

  it('gives up after its retries are spent', async () => {
    const stripe = makeStripeClient(h.env, {
      sleep: async () => undefined,
      maxRateLimitRetries: 2,
      maxNetworkRetries: 0,
    });
    h.fake.rateLimitNext(10);

    await expect(listAll(stripe)).rejects.toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect(h.fake.requests).toHaveLength(3);
  });
});

describe('its configuration', () => {
  it('requires STRIPE_API_KEY, naming it', () => {
    expect(() => stripeApiKey({})).toThrow(/STRIPE_API_KEY is required/);
  });

  it('rejects a value that is not a Stripe key without echoing it', () => {
    expect(() => stripeApiKey({ STRIPE_API_KEY: 'pk_test_publishable123' })).toThrow(
      /^STRIPE_API_KEY is not a Stripe API key(?!.*pk_test_publishable123)/,
    );
  });

  it('tells live keys from test keys, restricted ones included', () => {
    expect(['sk_live_a', 'rk_live_a', 'sk_test_a', 'rk_test_a'].map(stripeKeyMode)).toEqual([
      'live',
      'live',
      'test',
      'test',
    ]);
  });

  it("defaults to Stripe's API", () => {
    expect(stripeApiLocation({})).toEqual({ host: 'api.stripe.com', port: 443, protocol: 'https' });
  });

  it('reads host, port and protocol from STRIPE_API_BASE', () => {
    expect(stripeApiLocation({ STRIPE_API_BASE: 'http://127.0.0.1:12111' })).toEqual({
      host: '127.0.0.1',
      port: 12111,
      protocol: 'http',
    });
  });

  it('rejects a STRIPE_API_BASE with a path', () => {
    expect(() => stripeApiLocation({ STRIPE_API_BASE: 'http://127.0.0.1:1/v1' })).toThrow(
      /STRIPE_API_BASE must be a scheme, host and optional port/,
    );
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-11-22T10:00:00Z');
    expect(retryAfterMs('2', now)).toBe(2000);
    expect(retryAfterMs('Sun, 22 Nov 2026 10:00:05 GMT', now)).toBe(5000);
    expect(retryAfterMs('soon', now)).toBeNull();
  });
});
