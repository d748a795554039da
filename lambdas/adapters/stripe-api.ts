// The Stripe API calls the functions make, each to learn whose something is: a dispute's
// charge's customer, the invoice a failed PaymentIntent pays, the customer behind an Accounts
// v2 id. Plain fetch instead of the `stripe` package keeps the bundles small.

import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { optionalString, type Env } from '../config';
import { ENV } from '../lambda-env';
import { readSecretString } from './webhook-secrets';

/**
 * Lookups in the Stripe API. Each answers the id it looked for, null when Stripe says there
 * is none, or `undefined` when no API key is configured (the caller then waits for an event
 * to tell it); any failure throws (and is retried).
 */
export interface StripeLookup {
  /** The charge's customer id, or null for a guest charge. */
  chargeCustomer(chargeId: string): Promise<string | null | undefined>;
  /** The invoice the PaymentIntent pays (the invoice payments API), or null: standalone. */
  paymentIntentInvoice(paymentIntentId: string): Promise<string | null | undefined>;
  /** The customer id of an Accounts v2 id, or null when Stripe knows none. */
  accountCustomer(accountId: string): Promise<string | null | undefined>;
}

export const STRIPE_API_DEFAULT_BASE = 'https://api.stripe.com';

/** Whether a secret value is a usable Stripe API key (secret or restricted). */
export function isStripeApiKey(value: string | null | undefined): value is string {
  return typeof value === 'string' && /^(sk|rk)_(live|test)_[A-Za-z0-9_]+$/.test(value.trim());
}

/** An id, or an expanded object's id. */
function idOf(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { id?: unknown }).id === 'string') {
    return (value as { id: string }).id;
  }
  return null;
}

export function makeStripeLookup(
  apiKey: string | (() => Promise<string | null>),
  apiBase = STRIPE_API_DEFAULT_BASE,
): StripeLookup {
  const base = apiBase.replace(/\/+$/, '');
  const get = async (path: string, what: string): Promise<Record<string, unknown> | undefined> => {
    const key = typeof apiKey === 'string' ? apiKey : await apiKey();
    if (!key) return undefined;
    const res = await fetch(`${base}${path}`, {
      headers: { Authorization: `Bearer ${key}` },
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`Stripe API answered ${res.status} for ${what}`);
    return (await res.json()) as Record<string, unknown>;
  };
  const first = (list: Record<string, unknown> | undefined) =>
    list === undefined
      ? undefined
      : ((Array.isArray(list.data)
          ? (list.data[0] as Record<string, unknown> | undefined)
          : null) ?? null);
  return {
    async chargeCustomer(chargeId) {
      const charge = await get(`/v1/charges/${encodeURIComponent(chargeId)}`, `charge ${chargeId}`);
      return charge === undefined ? undefined : idOf(charge.customer);
    },
    async paymentIntentInvoice(paymentIntentId) {
      const query = new URLSearchParams({
        'payment[type]': 'payment_intent',
        'payment[payment_intent]': paymentIntentId,
        limit: '1',
      });
      const payment = first(
        await get(`/v1/invoice_payments?${query}`, `the invoice payments of ${paymentIntentId}`),
      );
      return payment === undefined ? undefined : payment === null ? null : idOf(payment.invoice);
    },
    async accountCustomer(accountId) {
      // v1 APIs take an Accounts v2 id as `customer_account` wherever they take `customer`.
      const query = new URLSearchParams({ customer_account: accountId, limit: '1' });
      const customer = first(await get(`/v1/customers?${query}`, `the customer of ${accountId}`));
      return customer === undefined ? undefined : customer === null ? null : idOf(customer.id);
    },
  };
}

/**
 * The Stripe lookups configured for a Lambda: the API key lives in the Secrets Manager secret
 * named by STRIPE_API_KEY_SECRET_ARN; a value that is not a Stripe key (the stack's
 * placeholder) means "not configured", and the events that would ask wait instead.
 */
export function stripeLookupFromEnv(env: Env): StripeLookup | null {
  const arn = optionalString(env, ENV.apiKeySecretArn);
  if (!arn) return null;
  const client = new SecretsManagerClient({});
  return makeStripeLookup(
    async () => {
      // Re-read every few minutes: an operator may store the key after deployment.
      const value = await readSecretString(client, arn, { maxAgeMs: 5 * 60_000 });
      return isStripeApiKey(value) ? value.trim() : null;
    },
    optionalString(env, ENV.apiBase),
  );
}
