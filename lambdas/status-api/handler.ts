// Lambda entry of the status API: real clients and configuration at module scope.

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { expiryWarningDays, requiredString } from '../config';
import { FactStore } from '../adapters/fact-store';
import { ENV } from '../lambda-env';
import { withLambdaContext, makeLogger } from '../observability';
import { makeStatusApiHandler } from './make-status-api';

const logger = makeLogger('status-api');

export const handler = withLambdaContext(
  logger,
  makeStatusApiHandler({
    store: new FactStore(new DynamoDBClient({}), requiredString(process.env, ENV.tableName)),
    expiryWarningDays: expiryWarningDays(process.env),
    clock: () => new Date(),
    logger,
    trustActorHeader: false,
  }),
);
