// Lambda entry of the sweeper (an EventBridge schedule every minute): time-driven changes
// every run, parked events and counts every SWEEP_MINUTES.

import { integer, requiredString } from '../config';
import { makeDynamoClient } from '../adapters/dynamo-client';
import { FactStore } from '../adapters/fact-store';
import { stripeLookupFromEnv } from '../adapters/stripe-api';
import { ENV } from '../lambda-env';
import { withLambdaContext, makeLogger, makeMetrics } from '../observability';
import { settingsFromEnv } from '../settings';
import { makeSweeper } from './make-sweeper';

const env = process.env;

const logger = makeLogger('sweeper');
const settings = settingsFromEnv(env);
const sweepMinutes = integer(env, ENV.sweepMinutes, 5, { min: 1, max: 720 });

export const handler = withLambdaContext(
  logger,
  makeSweeper({
    store: new FactStore(makeDynamoClient(), requiredString(env, ENV.tableName), {
      settings,
      settingsHash: settings.hash,
      clock: Date.now,
    }),
    settings,
    stripe: stripeLookupFromEnv(env),
    clock: () => new Date(),
    logger,
    metrics: makeMetrics('sweeper'),
    // The schedule runs every minute; parked events are retried every SWEEP_MINUTES.
    sweepParked: (now) => Math.floor(now.getTime() / 60_000) % sweepMinutes === 0,
  }),
);
