// Configuration read once, at cold start or at `npm start`, from environment variables
// (docs/behaviour.md#local-mode). Every reader fails loudly with the variable's name and
// what it expects; nothing falls back silently from an invalid value.

import { ConfigError } from './core/errors';

export type Env = Readonly<Record<string, string | undefined>>;

function raw(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v;
}

export function requiredString(env: Env, name: string): string {
  const v = raw(env, name);
  if (v === undefined) throw new ConfigError(`${name} is required`);
  return v;
}

export function optionalString(env: Env, name: string): string | undefined {
  return raw(env, name);
}

export function integer(
  env: Env,
  name: string,
  fallback: number,
  { min, max }: { min: number; max: number },
): number {
  const v = raw(env, name);
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v.trim()) || Number(v) < min || Number(v) > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${v}"`);
  }
  return Number(v);
}

export type StripeMode = 'live' | 'test';

/** `STRIPE_MODE`: `live`, `test`, or `both` (the default, also when unset); null means both. */
export function stripeMode(env: Env): StripeMode | null {
  const v = raw(env, 'STRIPE_MODE');
  if (v === undefined || v === 'both') return null;
  if (v !== 'live' && v !== 'test') {
    throw new ConfigError(
      `STRIPE_MODE must be "live" or "test" or "both" (the default when unset), got "${v}"`,
    );
  }
  return v;
}

/**
 * Splits a comma-separated list of webhook signing secrets. Surrounding whitespace (a
 * trailing newline from a pasted value or a file) is trimmed; anything that is not a
 * `whsec_` secret is rejected, without echoing the value.
 */
export function parseWebhookSecrets(value: string, name = 'STRIPE_WEBHOOK_SECRET'): string[] {
  const secrets = value
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (secrets.length === 0) throw new ConfigError(`${name} must name at least one secret`);
  secrets.forEach((s, i) => {
    if (!/^whsec_[A-Za-z0-9+/=_-]+$/.test(s)) {
      throw new ConfigError(
        `${name}: secret #${i + 1} is not a Stripe signing secret (expected "whsec_" followed by letters and digits)`,
      );
    }
  });
  return secrets;
}

export const DEFAULTS = {
  port: 3000,
  signatureToleranceSeconds: 300,
  expiryWarningDays: 30,
  /** Stripe's own maximum is 1 MiB of SQS message; the verifier refuses larger bodies. */
  maxBodyBytes: 1_000_000,
  /** A fixed secret for local development, printed by `npm start`. Never used in AWS. */
  localWebhookSecret: 'whsec_local_development_secret_do_not_use_in_production',
} as const;

export function signatureTolerance(env: Env): number {
  return integer(env, 'STRIPE_SIGNATURE_TOLERANCE_SECONDS', DEFAULTS.signatureToleranceSeconds, {
    min: 1,
    max: 86_400,
  });
}

export function expiryWarningDays(env: Env): number {
  return integer(env, 'EXPIRY_WARNING_DAYS', DEFAULTS.expiryWarningDays, { min: 0, max: 3650 });
}
