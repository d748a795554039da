// Lambda entry of the status API: real clients and configuration at module scope.

import { requiredString } from '../config';
import { makeDynamoClient } from '../adapters/dynamo-client';
import { FactStore } from '../adapters/fact-store';
import { ENV } from '../lambda-env';
import { settingsFromEnv } from '../settings';
import { withLambdaContext, makeLogger } from '../observability';
import { makeStatusApiHandler } from './make-status-api';

const logger = makeLogger('status-api');
const settings = settingsFromEnv(process.env);

export const handler = withLambdaContext(
  logger,
  makeStatusApiHandler({
    store: new FactStore(makeDynamoClient(), requiredString(process.env, ENV.tableName), {
      settings,
      settingsHash: settings.hash,
      clock: Date.now,
      // Its role may write only the override and derived attributes of a status item.
      clearsClosedSlots: false,
    }),
    settings,
    clock: () => new Date(),
    logger,
    trustActorHeader: false,
  }),
);
