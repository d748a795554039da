// Lambda entry of the verifier: real clients and configuration at module scope (a bad value
// fails the cold start, naming its variable); the logic is in make-verifier.ts.

import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { makeSqsEventQueue } from '../adapters/event-queue';
import { webhookSecretsFromSecretsManager } from '../adapters/webhook-secrets';
import { optionalString, requiredString, signatureTolerance, stripeMode } from '../config';
import { ConfigError } from '../core/errors';
import { parseEnabledTypes } from '../core/registry';
import { ENV } from '../lambda-env';
import { makeLogger, makeMetrics, withLambdaContext } from '../observability';
import { makeVerifierHandler } from './make-verifier';

const env = process.env;

function enabledTypes(): Set<string> {
  try {
    return new Set(parseEnabledTypes(optionalString(env, ENV.enabledEventTypes)));
  } catch (err) {
    throw new ConfigError(`${ENV.enabledEventTypes}: ${(err as Error).message}`);
  }
}

const logger = makeLogger('verifier');

export const handler = withLambdaContext(
  logger,
  makeVerifierHandler({
    secrets: webhookSecretsFromSecretsManager(
      new SecretsManagerClient({}),
      requiredString(env, ENV.webhookSecretArn),
    ),
    // Three attempts of at most ~3 s end in a 503 within the function's 10 s timeout.
    queue: makeSqsEventQueue(
      new SQSClient({
        maxAttempts: 3,
        requestHandler: { connectionTimeout: 1000, requestTimeout: 2000 },
      }),
      requiredString(env, ENV.queueUrlPrefix),
    ),
    enabledTypes: enabledTypes(),
    stripeMode: stripeMode(env),
    toleranceSeconds: signatureTolerance(env),
    clock: () => new Date(),
    logger,
    metrics: makeMetrics('verifier'),
  }),
);
