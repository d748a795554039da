// Where the verifier's signing secrets come from. In AWS: the Secrets Manager secret named
// by STRIPE_WEBHOOK_SECRET_ARN, read once per cold start and re-read (at most once per
// interval) when a signature matches none of the cached secrets, so a rotation needs no
// redeploy. Locally: STRIPE_WEBHOOK_SECRET, or the printed development secret.

import {
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
} from '@aws-sdk/client-secrets-manager';
import { DEFAULTS, optionalString, parseWebhookSecrets, type Env } from '../config';
import { ConfigError } from '../core/errors';
import { ENV } from '../lambda-env';

/** The part of SecretsManagerClient used here (tests hand in a small fake). */
export interface SecretsPort {
  send(command: GetSecretValueCommand): Promise<Pick<GetSecretValueCommandOutput, 'SecretString'>>;
}

interface CachedRead {
  value: Promise<string | null>;
  readAt: number;
}

const reads = new WeakMap<SecretsPort, Map<string, CachedRead>>();

/**
 * A secret's string value, read once per container and cached; re-read when the cached
 * read is at least `maxAgeMs` old. A failed read is not cached, so the next call retries.
 */
export function readSecretString(
  client: SecretsPort,
  secretId: string,
  { maxAgeMs = Infinity, now = Date.now }: { maxAgeMs?: number; now?: () => number } = {},
): Promise<string | null> {
  let byId = reads.get(client);
  if (byId === undefined) {
    byId = new Map();
    reads.set(client, byId);
  }
  const cached = byId.get(secretId);
  if (cached !== undefined && now() - cached.readAt < maxAgeMs) return cached.value;
  const entry: CachedRead = {
    readAt: now(),
    value: client
      .send(new GetSecretValueCommand({ SecretId: secretId }))
      .then((got) => got.SecretString ?? null)
      .catch((err: unknown) => {
        if (byId.get(secretId) === entry) byId.delete(secretId);
        throw err;
      }),
  };
  byId.set(secretId, entry);
  return entry.value;
}

/**
 * The signing secrets in use. `refresh` asks for a re-read after a failed match; a source
 * returns the same array while the secrets are unchanged, so callers can tell.
 */
export type WebhookSecrets = (options?: { refresh?: boolean }) => Promise<readonly string[]>;

export function staticWebhookSecrets(secrets: readonly string[]): WebhookSecrets {
  return async () => secrets;
}

/** The value: one or several `whsec_...`, separated by commas or newlines. */
export function webhookSecretsFromSecretsManager(
  client: SecretsPort,
  secretArn: string,
  { minRefreshIntervalMs = 30_000, now = Date.now } = {},
): WebhookSecrets {
  const source = `the secret named by ${ENV.webhookSecretArn}`;
  let parsed: { value: string; secrets: readonly string[] } | null = null;
  return async ({ refresh = false } = {}) => {
    const value = await readSecretString(client, secretArn, {
      maxAgeMs: refresh ? minRefreshIntervalMs : Infinity,
      now,
    });
    if (value === null) throw new ConfigError(`${source} has no string value`);
    if (parsed?.value !== value) parsed = { value, secrets: parseWebhookSecrets(value, source) };
    return parsed.secrets;
  };
}

export interface LocalWebhookSecrets {
  secrets: readonly string[];
  /** Whether they came from STRIPE_WEBHOOK_SECRET (never printed) or are the dev default. */
  fromEnv: boolean;
}

/** `npm start`: STRIPE_WEBHOOK_SECRET (trimmed, validated) or the development secret. */
export function localWebhookSecrets(env: Env): LocalWebhookSecrets {
  const value = optionalString(env, ENV.webhookSecret);
  return value === undefined
    ? { secrets: [DEFAULTS.localWebhookSecret], fromEnv: false }
    : { secrets: parseWebhookSecrets(value, ENV.webhookSecret), fromEnv: true };
}
