// Test harness: a fresh table (and, when asked, queues) in the shared emulators, with the
// real SDK clients pointed at them. Unique names per call, so test files never collide.
import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { inject } from 'vitest';
import { LOCAL_AWS } from '../../bin/local/emulators';
import {
  createBillingTable,
  createEventQueues,
  type QueueOptions,
} from '../../bin/local/provision';
import { FactStore } from '../../lambdas/adapters/fact-store';
import { deriveBillingStatus, statusFromRecord } from '../../lambdas/core/billing-status';
import { DEFAULT_GATE_SETTINGS, storeOptions, type GateSettings } from '../../lambdas/settings';

export const uniqueName = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

export function dynamoClient(): DynamoDBClient {
  return new DynamoDBClient({ ...LOCAL_AWS, endpoint: inject('dynamoEndpoint') });
}

export function sqsClient(): SQSClient {
  return new SQSClient({ ...LOCAL_AWS, endpoint: inject('sqsEndpoint') });
}

/** A fresh table, and a store over it writing under `settings` (and `clock`, milliseconds). */
export async function freshTable(
  ddb = dynamoClient(),
  {
    settings = DEFAULT_GATE_SETTINGS,
    clock,
  }: { settings?: GateSettings; clock?: () => number } = {},
) {
  const tableName = uniqueName('billing');
  const streamArn = await createBillingTable(ddb, tableName);
  return {
    ddb,
    tableName,
    streamArn,
    settings,
    store: new FactStore(ddb, tableName, storeOptions(settings, clock)),
  };
}

export async function freshQueues(types: readonly string[], options: QueueOptions = {}) {
  const sqs = sqsClient();
  const prefix = uniqueName('q');
  const queues = await createEventQueues(sqs, prefix, types, options);
  return { sqs, prefix, queues };
}

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function eventually<T>(
  check: () => Promise<T | undefined | null | false>,
  { timeoutMs = 15_000, intervalMs = 50, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** Messages in a queue, visible or in flight. */
export async function queueDepth(sqs: SQSClient, url: string): Promise<number> {
  const got = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(got.Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(got.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

/** The status a customer's status item gives now (what the status API answers), or null. */
export async function itemStatus(
  store: FactStore,
  customerId: string,
  now = new Date(),
  settings = DEFAULT_GATE_SETTINGS,
) {
  const stored = await store.readStatus(customerId);
  return stored
    ? statusFromRecord(customerId, stored.record, Math.floor(now.getTime() / 1000), settings)
    : null;
}

/** The full derivation over every stored fact, link and override of the customer: the oracle. */
export async function derivedStatus(
  store: FactStore,
  customerId: string,
  now = new Date(),
  settings = DEFAULT_GATE_SETTINGS,
) {
  const [{ facts, links }, overrides] = await Promise.all([
    store.allFacts(customerId),
    store.overrides(customerId),
  ]);
  return deriveBillingStatus({
    customerId,
    facts,
    links,
    overrides,
    now: Math.floor(now.getTime() / 1000),
    settings,
  });
}

/** Ids of the customer's stored facts, sorted. */
export async function factIds(store: FactStore, customerId: string): Promise<string[]> {
  return (await store.allFacts(customerId)).facts.map((f) => f.eventId).sort();
}

/**
 * True once the customer has `count` facts and its status item says what the facts say
 * (the processor writes the fact first and the item just after).
 */
export async function settled(store: FactStore, customerId: string, count: number) {
  if ((await store.allFacts(customerId)).facts.length !== count) return false;
  const now = new Date();
  return (
    JSON.stringify(await itemStatus(store, customerId, now)) ===
    JSON.stringify(await derivedStatus(store, customerId, now))
  );
}
