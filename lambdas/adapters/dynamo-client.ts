// The DynamoDB client of every function and of the local twin.
//
// The SDK's logger middleware runs on every request even with no logger configured: its
// default logger has an `info` method that does nothing, so the middleware first builds a
// copy of each input and output with sensitive members masked, walking the whole response
// (a status item of tens of kilobytes, read and written several times per event), and then
// throws the copy away. Nothing here gives the SDK a logger, so the middleware is removed.

import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';

/** The SDK middleware that only logs (see above). */
export const SDK_LOGGER_MIDDLEWARE = 'loggerMiddleware';

/** A DynamoDB client without the SDK's logger middleware (no logger is ever configured). */
export function makeDynamoClient(
  config: Omit<DynamoDBClientConfig, 'logger'> = {},
): DynamoDBClient {
  const client = new DynamoDBClient(config);
  client.middlewareStack.remove(SDK_LOGGER_MIDDLEWARE);
  return client;
}
