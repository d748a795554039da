// Secrets Manager reads, cached per cold start. `refresh` lets the verifier re-read after a
// failed verification (rotation without redeploy) at most once per interval.

import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export interface CachedSecret {
  (options?: { refresh?: boolean }): Promise<string | null>;
}

export function cachedSecretString(
  client: SecretsManagerClient,
  secretId: string,
  minRefreshIntervalMs = 30_000,
): CachedSecret {
  let value: Promise<string | null> | null = null;
  let fetchedAt = 0;
  const fetchValue = async () => {
    const got = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    return got.SecretString ?? null;
  };
  return (options = {}) => {
    const stale = options.refresh === true && Date.now() - fetchedAt >= minRefreshIntervalMs;
    if (value === null || stale) {
      fetchedAt = Date.now();
      value = fetchValue().catch((err: unknown) => {
        value = null; // a failed read is retried on the next call
        throw err;
      });
    }
    return value;
  };
}
