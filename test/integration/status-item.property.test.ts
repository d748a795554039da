// Property against DynamoDB Local: random event sets of several customers (every handled type,
// API versions from 2020 to endive, shared objects, Accounts v2 forms, hostile ids), under a
// random access policy, delivered concurrently with duplicates, interleaved overrides and
// injected failures around the status item's writes (each failed delivery retried, as SQS
// redelivers), leave for every customer a status item whose status equals the full
// derivation over its stored facts and the independent reference over the raw events
// (docs/behaviour.md#guarantees, docs/behaviour.md#access-policy).
import fc from 'fast-check';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, inject, it } from 'vitest';
import { LOCAL_AWS } from '../../bin/local/emulators';
import { FactStore } from '../../lambdas/adapters/fact-store';
import type { OverrideRecord } from '../../lambdas/core/facts';
import { applyEvent } from '../../lambdas/processor/apply-event';
import { gateSettings, storeOptions } from '../../lambdas/settings';
import { derivedStatus, freshTable, itemStatus } from '../support/local-stack';
import { referenceStatus } from '../support/reference-status';
import {
  CUSTOMERS,
  deliveriesArb,
  nowArb,
  overridesArb,
  policyArb,
} from '../support/revision4-arbitraries';

/** A store whose client fails some status item writes (before or after they land), at random. */
function flakyStore(
  tableName: string,
  options: ReturnType<typeof storeOptions>,
  failureRate: number,
  seed: number,
): FactStore {
  const ddb = new DynamoDBClient({ ...LOCAL_AWS, endpoint: inject('dynamoEndpoint') });
  let state = seed;
  const random = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
  ddb.middlewareStack.add(
    (next, context) => async (args) => {
      const sk = (args.input as { Key?: { sk?: { S?: string } } }).Key?.sk?.S;
      if (
        context.commandName === 'UpdateItemCommand' &&
        sk === 'STATUS' &&
        random() < failureRate
      ) {
        if (random() < 0.5) throw new Error('injected: reset before a status item write');
        await next(args);
        throw new Error('injected: answer lost after a status item write');
      }
      return next(args);
    },
    { step: 'initialize', name: 'flaky' },
  );
  return new FactStore(ddb, tableName, options);
}

/** Delivers until it is acknowledged, as SQS redelivers a failed message. */
async function deliver(task: () => Promise<unknown>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await task();
      return;
    } catch (err) {
      if (attempt > 20) throw err;
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the billing-status item under real concurrency', () => {
  it('equals the full derivation over the stored facts and the reference over the events', async () => {
    await fc.assert(
      fc.asyncProperty(
        deliveriesArb(30),
        overridesArb,
        policyArb,
        nowArb,
        fc.array(fc.nat(20), { minLength: 40, maxLength: 40 }),
        fc.integer({ min: 1, max: 2 ** 30 }),
        async (deliveries, drawnOverrides, { policy }, now, delays, seed) => {
          // Prepare: a table of its own (owners and parked events are keyed by object ids).
          const settings = gateSettings(policy, 30);
          // Commits one millisecond apart, after every event's `created` (none is ahead of it).
          let tick = Date.UTC(2028, 0, 1);
          const clock = () => new Date(tick++);
          const options = storeOptions(settings, () => clock().getTime());
          const { tableName, store } = await freshTable(undefined, { settings });
          const flaky = flakyStore(tableName, options, 0.2, seed);
          const deps = { store: flaky, stripe: null, clock };
          const overrides: OverrideRecord[] = drawnOverrides;

          // Act: every delivery (duplicates included) and override at once, in a jittered order.
          // Connect events never reach a processor (the verifier and the rules ignore them).
          const reaching = deliveries.filter(({ event }) => !event.account);
          await Promise.all([
            ...reaching.map(async ({ event }, i) => {
              await sleep(delays[i % delays.length]!);
              await deliver(() => applyEvent(JSON.stringify(event), event.type, deps));
            }),
            ...overrides.map(async (o, i) => {
              await sleep(delays[(i * 7) % delays.length]!);
              await deliver(() => flaky.recordOverride(o, { createRecord: o.mode !== null }));
            }),
          ]);

          // Assess, for each customer: the item, the full derivation and the reference agree.
          const at = new Date(now * 1000);
          for (const customerId of CUSTOMERS) {
            const fromItem = await itemStatus(store, customerId, at, settings);
            const derived = await derivedStatus(store, customerId, at, settings);
            expect(fromItem, `${customerId}: the item`).toEqual(derived);
            // The reference reads the raw events, each at the time its fact was committed.
            const { facts } = await store.allFacts(customerId);
            const appliedAt = new Map(facts.map((f) => [f.eventId, f.appliedAt]));
            const committed = [...new Map(reaching.map((d) => [d.event.id, d.event])).values()].map(
              (event) => ({
                event,
                appliedAt: appliedAt.get(event.id) ?? new Date(tick).toISOString(),
              }),
            );
            const reference = referenceStatus({
              customerId,
              events: committed,
              overrides: await store.overrides(customerId),
              policy,
              now,
              expiryWarningDays: 30,
            });
            expect(derived, `${customerId}: the reference`).toEqual(reference);
          }
        },
      ),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 12) },
    );
  }, 600_000);
});
