// Lambda entry of the verifier: real clients and configuration at module scope. The
// signing secrets come from Secrets Manager (never from a plain environment value).

import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import {
  DEFAULTS,
  optionalString,
  parseWebhookSecrets,
  requiredString,
  signatureTolerance,
  stripeMode,
} from '../config';
import { makeSqsEventQueue } from '../adapters/event-queue';
import { cachedSecretString } from '../adapters/secrets';
import { parseEnabledTypes } from '../core/registry';
import { ENV } from '../lambda-env';
import { makeLogger, makeMetrics } from '../observability';
import { makeVerifierHandler } from './make-verifier';

const env = process.env;
const readSecret = cachedSecretString(
  new SecretsManagerClient({}),
  requiredString(env, ENV.webhookSecretArn),
);

export const handler = makeVerifierHandler({
  secrets: async (options) =>
    parseWebhookSecrets((await readSecret(options)) ?? '', ENV.webhookSecretArn),
  queue: makeSqsEventQueue(new SQSClient({}), requiredString(env, ENV.queueUrlPrefix)),
  enabledTypes: new Set(parseEnabledTypes(optionalString(env, ENV.enabledEventTypes))),
  stripeMode: stripeMode(env),
  toleranceSeconds: signatureTolerance(env),
  maxBodyBytes: DEFAULTS.maxBodyBytes,
  clock: () => new Date(),
  logger: makeLogger('verifier'),
  metrics: makeMetrics('verifier'),
});
