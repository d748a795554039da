// Lambda entry of the parked-event sweeper (EventBridge schedule).

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { requiredString } from '../config';
import { FactStore } from '../adapters/fact-store';
import { chargeLookupFromEnv } from '../adapters/stripe-api';
import { ENV } from '../lambda-env';
import { withLambdaContext, makeLogger, makeMetrics } from '../observability';
import { makeSweeper } from './make-sweeper';

const env = process.env;

const logger = makeLogger('sweeper');

export const handler = withLambdaContext(
  logger,
  makeSweeper({
    store: new FactStore(new DynamoDBClient({}), requiredString(env, ENV.tableName)),
    chargeLookup: chargeLookupFromEnv(env),
    clock: () => new Date(),
    logger,
    metrics: makeMetrics('sweeper'),
  }),
);
