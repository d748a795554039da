// Lambda entry of every processor (one function per registry entry, EVENT_TYPE telling
// which): real clients and configuration at module scope, logic in make-processor.ts.

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { requiredString } from '../config';
import { FactStore } from '../adapters/fact-store';
import { chargeLookupFromEnv } from '../adapters/stripe-api';
import { ENV } from '../lambda-env';
import { withLambdaContext, makeLogger, makeMetrics } from '../observability';
import { makeProcessorHandler } from './make-processor';

const env = process.env;

const logger = makeLogger('processor');

export const handler = withLambdaContext(
  logger,
  makeProcessorHandler({
    eventType: requiredString(env, ENV.eventType),
    store: new FactStore(new DynamoDBClient({}), requiredString(env, ENV.tableName)),
    chargeLookup: chargeLookupFromEnv(env),
    clock: () => new Date(),
    logger,
    metrics: makeMetrics('processor'),
  }),
);
