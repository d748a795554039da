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
import { DEFAULT_POLICY } from '../../lambdas/core/policy';
import { ENV } from '../../lambdas/lambda-env';
import { gateSettings, readPolicy, type GateSettings } from '../../lambdas/settings';

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
  /** The access policy (`--policy <file>` or GATE_POLICY) and warning window every reader uses. */
  settings: GateSettings;
  /** Where the policy came from, for the banner: a flag, the variable, or the defaults. */
  policySource: '--policy' | 'GATE_POLICY' | null;
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

/** The arguments `npm start -- ...` takes: `--ingress <mode>` and `--policy <file>`. */
export function startArguments(argv: readonly string[]): { ingress?: string; policy?: string } {
  const found: { ingress?: string; policy?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const flag = (['ingress', 'policy'] as const).find(
      (f) => arg === `--${f}` || arg.startsWith(`--${f}=`),
    );
    if (!flag) {
      throw new ConfigError(
        `unknown argument "${arg}": npm start takes --ingress <mode> and --policy <file>`,
      );
    }
    const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
    if (value === undefined || value === '') throw new ConfigError(`--${flag} needs a value`);
    found[flag] = value;
  }
  return found;
}

export function loadLocalConfig(env: Env, argv: readonly string[] = []): LocalConfig {
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
  const flag = startArguments(argv).policy;
  const variable = optionalString(env, ENV.policy);
  const policy =
    flag !== undefined
      ? readPolicy(flag, '--policy')
      : variable !== undefined
        ? readPolicy(variable, ENV.policy)
        : DEFAULT_POLICY;
  const days = expiryWarningDays(env);
  return {
    port: integer(env, 'PORT', DEFAULTS.port, { min: 1, max: 65_535 }),
    secrets,
    secretFromEnv: fromEnv,
    toleranceSeconds: signatureTolerance(env),
    stripeMode: stripeMode(env),
    stripeApiKey: apiKey,
    stripeApiBase: apiBase,
    expiryWarningDays: days,
    settings: gateSettings(policy, days),
    policySource: flag !== undefined ? '--policy' : variable !== undefined ? 'GATE_POLICY' : null,
    logLevel: logLevel(env),
    visibilityTimeoutSeconds: integer(env, 'LOCAL_VISIBILITY_TIMEOUT_SECONDS', 30, {
      min: 0,
      max: 43_200,
    }),
    maxReceiveCount: integer(env, 'LOCAL_MAX_RECEIVE_COUNT', 5, { min: 1, max: 1000 }),
  };
}
