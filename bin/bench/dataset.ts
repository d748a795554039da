// The table the store sections (status read, apply cost, cost per webhook) share: created
// exactly as the stack creates it, with one customer per history size, each populated with
// the hourly history of history.ts and its status item rebuilt.

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { FactStore } from '../../lambdas/adapters/fact-store';
import { LOCAL_AWS } from '../local/local-aws';
import { createBillingTable } from '../local/provision';
import { stripeId } from '../events/stripe-events';
import { customerHistory, populateCustomer } from './history';
import { progress } from './report';
import { storeOptions } from '../../lambdas/settings';

export interface SizedCustomer {
  readonly size: number;
  readonly customerId: string;
  /** `created` of the last history event; new events come after it. */
  readonly lastCreated: number;
  /** Milliseconds populating took (facts plus the rebuild). */
  readonly populateMs: number;
}

export interface Dataset {
  readonly endpoint: string;
  readonly tableName: string;
  readonly customers: readonly SizedCustomer[];
}

/** Two years back: a 10,000-fact hourly history spans a bit over seven months. */
const HISTORY_START = Math.floor(Date.now() / 1000) - 2 * 365 * 86_400;

export async function createDataset(endpoint: string, sizes: readonly number[]): Promise<Dataset> {
  const ddb = new DynamoDBClient({ ...LOCAL_AWS, endpoint });
  const tableName = `bench-${Date.now()}`;
  await createBillingTable(ddb, tableName);
  const store = new FactStore(ddb, tableName, storeOptions());
  const customers: SizedCustomer[] = [];
  try {
    for (const size of sizes) {
      const customerId = stripeId('cus');
      const events = customerHistory(customerId, size, HISTORY_START);
      const started = performance.now();
      await populateCustomer(ddb, store, tableName, customerId, events);
      const populateMs = performance.now() - started;
      progress(`populated a customer with ${size} facts in ${(populateMs / 1000).toFixed(1)} s`);
      customers.push({ size, customerId, lastCreated: events.at(-1)!.created, populateMs });
    }
  } finally {
    ddb.destroy();
  }
  return { endpoint, tableName, customers };
}
