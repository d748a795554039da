// The functions' DynamoDB client leaves out the SDK's logger middleware, which otherwise copies
// every response (status items of tens of kilobytes) only to hand it to a logger that does
// nothing.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { SDK_LOGGER_MIDDLEWARE, makeDynamoClient } from '../../lambdas/adapters/dynamo-client';

const names = (client: DynamoDBClient) =>
  client.middlewareStack.identify().map((line) => line.split(' ')[0]);

describe('makeDynamoClient', () => {
  it('builds a client without the logger middleware a plain client has', () => {
    const plain = new DynamoDBClient({ region: 'eu-west-1' });
    const ours = makeDynamoClient({ region: 'eu-west-1' });
    // The name still exists in this SDK (a rename would make the removal a silent no-op).
    expect(names(plain)).toContain(SDK_LOGGER_MIDDLEWARE);
    expect(names(ours)).not.toContain(SDK_LOGGER_MIDDLEWARE);
    // Everything else stays.
    expect(names(ours)).toEqual(names(plain).filter((n) => n !== SDK_LOGGER_MIDDLEWARE));
    plain.destroy();
    ours.destroy();
  });

  it('keeps the configuration it is given', async () => {
    const ours = makeDynamoClient({ region: 'ap-south-1', endpoint: 'http://127.0.0.1:9' });
    expect(await ours.config.region()).toBe('ap-south-1');
    ours.destroy();
  });
});
