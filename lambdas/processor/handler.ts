// Lambda entry of every processor (one function per registry entry, EVENT_TYPE telling
// which): real clients and configuration at module scope, logic in make-processor.ts.

import { requiredString } from '../config';
import { makeDynamoClient } from '../adapters/dynamo-client';
import { FactStore } from '../adapters/fact-store';
import { stripeLookupFromEnv } from '../adapters/stripe-api';
import { settingsFromEnv } from '../settings';
import { ENV } from '../lambda-env';
import { withLambdaContext, makeLogger, makeMetrics } from '../observability';
import { makeProcessorHandler } from './make-processor';

const env = process.env;

const logger = makeLogger('processor');
const settings = settingsFromEnv(env);
const store = new FactStore(makeDynamoClient(), requiredString(env, ENV.tableName), {
  settings,
  settingsHash: settings.hash,
  clock: Date.now,
});

export const handler = withLambdaContext(
  logger,
  makeProcessorHandler({
    eventType: requiredString(env, ENV.eventType),
    store,
    // Only the types that may ask Stripe get the key's secret (lib/processing.ts).
    stripe: stripeLookupFromEnv(env),
    markOversize: (customerId) => store.status.markOversize(customerId),
    clock: () => new Date(),
    logger,
    metrics: makeMetrics('processor'),
  }),
);
