// `npm start`'s environment, validated before anything starts: an invalid value stops
// start-up with a message naming the variable and what it expects.

import { localWebhookSecrets } from '../../lambdas/adapters/webhook-secrets';
import { isStripeApiKey } from '../../lambdas/adapters/stripe-api';
import {
  DEFAULTS,
  expiryWarningDays,
  integer,
  optionalString,
  signatureTolerance,
  stripeMode,
  type Env,
  type StripeMode,
} from '../../lambdas/config';
import { ConfigError } from '../../lambdas/core/errors';
import { ENV } from '../../lambdas/lambda-env';

export interface LocalConfig {
  port: number;
  secrets: readonly string[];
  /** STRIPE_WEBHOOK_SECRET was set (its value is never printed), or the dev default is used. */
  secretFromEnv: boolean;
  toleranceSeconds: number;
  stripeMode: StripeMode | null;
  stripeApiKey: string | undefined;
  stripeApiBase: string | undefined;
  expiryWarningDays: number;
  /** How much the handlers log (LOG_LEVEL), as the Lambda functions read it. */
  logLevel: LogLevel;
  /** Local-only knobs (tests shorten redelivery); not part of the AWS configuration. */
  visibilityTimeoutSeconds: number;
  maxReceiveCount: number;
}

/** The values LOG_LEVEL takes, quietest last. */
export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** LOG_LEVEL, in any letter case; INFO when unset. */
export function logLevel(env: Env): LogLevel {
  const value = optionalString(env, 'LOG_LEVEL')?.trim();
  if (value === undefined) return 'INFO';
  const level = LOG_LEVELS.find((l) => l === value.toUpperCase());
  if (!level) {
    throw new ConfigError(
      `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (any letter case), got "${value}"`,
    );
  }
  return level;
}

export function loadLocalConfig(env: Env): LocalConfig {
  const apiKey = optionalString(env, ENV.apiKey)?.trim();
  if (apiKey !== undefined && !isStripeApiKey(apiKey)) {
    throw new ConfigError(
      `${ENV.apiKey} must be a Stripe secret or restricted key (sk_... or rk_...)`,
    );
  }
  const apiBase = optionalString(env, ENV.apiBase)?.trim();
  if (apiBase !== undefined && !/^https?:\/\/[^/\s]+/.test(apiBase)) {
    throw new ConfigError(`${ENV.apiBase} must be an http(s) URL, got "${apiBase}"`);
  }
  const { secrets, fromEnv } = localWebhookSecrets(env);
  return {
    port: integer(env, 'PORT', DEFAULTS.port, { min: 1, max: 65_535 }),
    secrets,
    secretFromEnv: fromEnv,
    toleranceSeconds: signatureTolerance(env),
    stripeMode: stripeMode(env),
    stripeApiKey: apiKey,
    stripeApiBase: apiBase,
    expiryWarningDays: expiryWarningDays(env),
    logLevel: logLevel(env),
    visibilityTimeoutSeconds: integer(env, 'LOCAL_VISIBILITY_TIMEOUT_SECONDS', 30, {
      min: 0,
      max: 43_200,
    }),
    maxReceiveCount: integer(env, 'LOCAL_MAX_RECEIVE_COUNT', 5, { min: 1, max: 1000 }),
  };
}
