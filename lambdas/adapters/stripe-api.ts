// The one Stripe API call a processor makes: whose charge is this (to find a dispute's
// customer). Plain fetch instead of the `stripe` package keeps the processor bundle small.

import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { optionalString, type Env } from '../config';
import { ENV } from '../lambda-env';
import { readSecretString } from './webhook-secrets';

export interface ChargeLookup {
  /** The charge's customer id, or null for a guest charge. Throws on any failure (retried). */
  chargeCustomer(chargeId: string): Promise<string | null>;
}

export const STRIPE_API_DEFAULT_BASE = 'https://api.stripe.com';

/** Whether a secret value is a usable Stripe API key (secret or restricted). */
export function isStripeApiKey(value: string | null | undefined): value is string {
  return typeof value === 'string' && /^(sk|rk)_(live|test)_[A-Za-z0-9_]+$/.test(value.trim());
}

export function makeChargeLookup(
  apiKey: string | (() => Promise<string | null>),
  apiBase = STRIPE_API_DEFAULT_BASE,
): ChargeLookup {
  const base = apiBase.replace(/\/+$/, '');
  return {
    async chargeCustomer(chargeId) {
      const key = typeof apiKey === 'string' ? apiKey : await apiKey();
      if (!key) throw new Error('no Stripe API key configured');
      const res = await fetch(`${base}/v1/charges/${encodeURIComponent(chargeId)}`, {
        headers: { Authorization: `Bearer ${key}` },
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) {
        throw new Error(`Stripe API answered ${res.status} for charge ${chargeId}`);
      }
      const charge = (await res.json()) as { customer?: unknown };
      const c = charge.customer;
      if (typeof c === 'string') return c;
      if (c && typeof c === 'object' && typeof (c as { id?: unknown }).id === 'string') {
        return (c as { id: string }).id;
      }
      return null;
    },
  };
}

/**
 * The charge lookup configured for a Lambda: the API key lives in the Secrets Manager
 * secret named by STRIPE_API_KEY_SECRET_ARN; a value that is not a Stripe key (the
 * stack's placeholder) means "not configured", and disputes then park.
 */
export function chargeLookupFromEnv(env: Env): ChargeLookup | null {
  const arn = optionalString(env, ENV.apiKeySecretArn);
  if (!arn) return null;
  const client = new SecretsManagerClient({});
  return makeChargeLookup(
    async () => {
      // Re-read every few minutes: an operator may store the key after deployment.
      const value = await readSecretString(client, arn, { maxAgeMs: 5 * 60_000 });
      return isStripeApiKey(value) ? value.trim() : null;
    },
    optionalString(env, ENV.apiBase),
  );
}
