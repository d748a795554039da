// Property against DynamoDB Local: random event sets delivered concurrently, with
// duplicates, interleaved overrides and injected failures around the status write (each
// failed delivery retried, as SQS redelivers), leave a status item whose status equals the
// full derivation over the stored facts, and the first version's independent derivation.
import fc from 'fast-check';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { LOCAL_AWS } from '../../bin/local/emulators';
import { FactStore } from '../../lambdas/adapters/fact-store';
import type { OverrideRecord } from '../../lambdas/core/facts';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { applyEvent } from '../../lambdas/processor/apply-event';
import { CUSTOMER } from '../support/derive';
import { eventSetArb, overridesArb } from '../support/event-arbitraries';
import { derivedStatus, freshTable, itemStatus } from '../support/local-stack';
import { referenceBillingStatus } from '../support/reference-derivation';

let tableName: string;
let store: FactStore;

beforeAll(async () => {
  ({ tableName, store } = await freshTable());
});

/** Ids made unique to one run: owners and parked events are keyed by object and event id. */
function isolate(events: StripeEvent[], token: string, customer: string): StripeEvent[] {
  return events.map(
    (e) =>
      JSON.parse(
        JSON.stringify(e)
          .replaceAll(CUSTOMER, customer)
          .replace(/"((?:pi|ch|in|dp|pm|card|src|ba|sub)_\d)"/g, `"$1r${token}"`)
          .replace(/"(evt_\d+)"/g, `"$1r${token}"`),
      ) as StripeEvent,
  );
}

/** A store whose client fails some status writes (before or after they land), at random. */
function flakyStore(failureRate: number, seed: number): FactStore {
  const ddb = new DynamoDBClient({ ...LOCAL_AWS, endpoint: inject('dynamoEndpoint') });
  let state = seed;
  const random = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
  ddb.middlewareStack.add(
    (next, context) => async (args) => {
      const sk = (args.input as { Item?: { sk?: { S?: string } } }).Item?.sk?.S;
      if (context.commandName === 'PutItemCommand' && sk === 'STATUS' && random() < failureRate) {
        if (random() < 0.5) throw new Error('injected: reset before the status write');
        await next(args);
        throw new Error('injected: answer lost after the status write');
      }
      return next(args);
    },
    { step: 'initialize', name: 'flaky' },
  );
  return new FactStore(ddb, tableName);
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
  it('equals the full derivation over the stored facts', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        eventSetArb,
        overridesArb,
        fc.array(fc.nat(29), { maxLength: 10 }),
        fc.array(fc.nat(20), { minLength: 40, maxLength: 40 }),
        fc.integer({ min: 1, max: 2 ** 30 }),
        async (drawn, drawnOverrides, repeats, delays, seed) => {
          run += 1;
          const token = `${run}x${seed}`;
          const customer = `cus_prop${token.replace(/x/g, 'q')}`;
          const events = isolate(drawn, token, customer);
          const overrides: OverrideRecord[] = drawnOverrides.map((o) => ({
            ...o,
            id: `${o.id}r${token}`,
            customerId: customer,
          }));
          const flaky = flakyStore(0.2, seed);
          const deps = { store: flaky, chargeLookup: null, clock: () => new Date() };
          const deliveries = [
            ...events,
            ...repeats.filter((i) => i < events.length).map((i) => events[i]!),
          ];
          await Promise.all([
            ...deliveries.map(async (e, i) => {
              await sleep(delays[i % delays.length]!);
              await deliver(() => applyEvent(JSON.stringify(e), e.type, deps));
            }),
            ...overrides.map(async (o, i) => {
              await sleep(delays[(i * 7) % delays.length]!);
              await deliver(() => flaky.recordOverride(o, { createRecord: true }));
            }),
          ]);

          const now = new Date(Date.UTC(2026, 10, 1));
          const fromItem = await itemStatus(store, customer, now);
          const derived = await derivedStatus(store, customer, now);
          expect(fromItem).toEqual(derived);
          if (derived) {
            const facts = await store.allFacts(customer);
            const stored = await store.overrides(customer);
            expect(
              referenceBillingStatus({
                customerId: customer,
                facts,
                overrides: stored,
                now: Math.floor(now.getTime() / 1000),
                expiryWarningDays: 30,
              }),
            ).toEqual(derived);
          }
        },
      ),
      { numRuns: 15 },
    );
  });
});
