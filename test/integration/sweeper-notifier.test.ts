// The parked-event sweeper and the notifier's cursor against DynamoDB Local: parked events
// applied once their owner is known, and announcements that survive a crash after publish.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildEvent, stripeId } from '../../bin/stripe-events';
import { FactStore, factItem } from '../../lambdas/adapters/fact-store';
import { ruleForType } from '../../lambdas/core/rules';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { makeNotifierHandler, type Announcement } from '../../lambdas/notifier/make-notifier';
import { applyEvent, type ApplyDeps } from '../../lambdas/processor/apply-event';
import { makeSweeper } from '../../lambdas/sweeper/make-sweeper';
import { dynamoClient, freshTable } from '../support/local-stack';
import { testLogger, testMetrics } from '../support/telemetry';

let store: FactStore;
let tableName: string;
const deps = (): ApplyDeps => ({ store, chargeLookup: null, clock: () => new Date() });
const body = (e: StripeEvent) => JSON.stringify(e);

/** What the table's stream hands the notifier for an applied event (NEW_IMAGE). */
function insertOf(customerId: string, event: StripeEvent, sequence: number): DynamoDBRecord {
  const fact = ruleForType(event.type)!.toFact(event);
  return {
    eventName: 'INSERT',
    dynamodb: {
      NewImage: factItem(customerId, fact, new Date().toISOString()) as Record<string, never>,
      SequenceNumber: String(sequence).padStart(21, '0'),
    },
  };
}

beforeAll(async () => {
  ({ store, tableName } = await freshTable());
});

describe('the sweeper', () => {
  it('applies a parked dispute once an event has revealed its charge owner', async () => {
    const customer = stripeId('cus');
    const chargeId = stripeId('ch');
    const dispute = buildEvent('charge.dispute.created', { object: { charge: chargeId } });
    expect((await applyEvent(body(dispute), dispute.type, deps())).outcome).toBe('parked');
    // The owner becomes known without the processor's unpark step (a crash right after
    // the charge's commit, or index lag in AWS): only the sweeper can apply the dispute.
    const charge = buildEvent('charge.succeeded', { customer, object: { id: chargeId } });
    await store.putFact(customer, ruleForType(charge.type)!.toFact(charge), '2026-01-01T00:00:00Z');

    const report = await makeSweeper({ ...deps(), logger: testLogger, metrics: testMetrics })();

    expect(report.applied).toBeGreaterThanOrEqual(1);
    const facts = (await store.loadCustomer(customer)).facts.map((f) => f.eventId);
    expect(facts).toContain(dispute.id);
    expect((await store.listParked()).map((p) => p.eventId)).not.toContain(dispute.id);
  });

  it('leaves an event parked while its owner is unknown and reports its age', async () => {
    const detach = buildEvent('payment_method.detached', {
      object: { id: stripeId('pm') },
      previousAttributes: {},
    });
    const parkedAt = new Date(Date.now() - 90_000);
    expect(
      (await applyEvent(body(detach), detach.type, { ...deps(), clock: () => parkedAt })).outcome,
    ).toBe('parked');

    const report = await makeSweeper({ ...deps(), logger: testLogger, metrics: testMetrics })();

    expect(report.stillParked).toBeGreaterThanOrEqual(1);
    expect(report.oldestAgeSeconds).toBeGreaterThanOrEqual(90);
    expect((await store.listParked()).map((p) => p.eventId)).toContain(detach.id);
  });
});

describe('the notifier', () => {
  it('announces again after a crash between the announcement and the cursor update', async () => {
    const customer = stripeId('cus');
    const failed = buildEvent('invoice.payment_failed', { customer });
    await applyEvent(body(failed), failed.type, deps());
    const announced: Announcement[] = [];
    const ddb = dynamoClient();
    let crash = true;
    ddb.middlewareStack.add(
      (next, context) => async (args) => {
        if (crash && context.commandName === 'UpdateItemCommand') {
          crash = false;
          throw new Error('injected: the process died before moving the cursor');
        }
        return next(args);
      },
      { step: 'initialize', name: 'crashBeforeCursor' },
    );
    const notifier = makeNotifierHandler({
      store: new FactStore(ddb, tableName),
      expiryWarningDays: 30,
      clock: () => new Date(),
      logger: testLogger,
      announce: async (a) => void announced.push(a),
    });
    const batch: DynamoDBStreamEvent = { Records: [insertOf(customer, failed, 1)] };

    const first = await notifier(batch);
    const retry = await notifier(batch); // the stream redelivers a failed batch
    const again = await notifier(batch); // and a later duplicate finds nothing new

    expect(first.batchItemFailures).toEqual([{ itemIdentifier: '000000000000000000001' }]);
    expect(retry.batchItemFailures).toEqual([]);
    expect(again.batchItemFailures).toEqual([]);
    expect(announced.map((a) => [a.canAllocate, a.eventId])).toEqual([
      [false, failed.id],
      [false, failed.id],
    ]);
    expect((await store.loadCustomer(customer)).announced).toBe(false);
  });

  it('counts a fact carried by the stream even when the read does not show it yet', async () => {
    const customer = stripeId('cus');
    const failed = buildEvent('invoice.payment_failed', { customer });
    const announced: Announcement[] = [];
    const notifier = makeNotifierHandler({
      store,
      expiryWarningDays: 30,
      clock: () => new Date(),
      logger: testLogger,
      announce: async (a) => void announced.push(a),
    });

    // Nothing committed under this customer: only the stream image says it was blocked.
    await notifier({ Records: [insertOf(customer, failed, 2)] });

    expect(announced).toMatchObject([
      { customerId: customer, canAllocate: false, blockers: ['payment_failed'] },
    ]);
  });

  it('ignores the stream records of parked events and of its own cursor', async () => {
    const announced: Announcement[] = [];
    const notifier = makeNotifierHandler({
      store,
      expiryWarningDays: 30,
      clock: () => new Date(),
      logger: testLogger,
      announce: async (a) => void announced.push(a),
    });
    const image = (pk: string, sk: string): Record<string, AttributeValue> => ({
      pk: { S: pk },
      sk: { S: sk },
    });

    const result = await notifier({
      Records: [
        { eventName: 'INSERT', dynamodb: { NewImage: image('PARK#ch_1', 'EVT#evt_1') as never } },
        { eventName: 'INSERT', dynamodb: { NewImage: image('CUS#cus_x1', 'ANN') as never } },
      ],
    });

    expect(result.batchItemFailures).toEqual([]);
    expect(announced).toEqual([]);
  });
});
