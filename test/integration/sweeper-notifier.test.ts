// The parked-event sweeper and the notifier against DynamoDB Local: parked events applied
// once their owner is known, announcements derived from the status item's old and new
// images as the table's stream carries them, and a policy change settled by the sweeper and
// announced as `policy_changed`.
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { LOCAL_AWS } from '../../bin/local/emulators';
import { buildEvent, stripeId } from '../../bin/events/stripe-events';
import { FactStore } from '../../lambdas/adapters/fact-store';
import { parsePolicy } from '../../lambdas/core/policy';
import { RULES_VERSION } from '../../lambdas/core/status-record';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { makeNotifierHandler, type Announcement } from '../../lambdas/notifier/make-notifier';
import { applyEvent, type ApplyDeps } from '../../lambdas/processor/apply-event';
import { makeSweeper } from '../../lambdas/sweeper/make-sweeper';
import { factIds, freshTable } from '../support/local-stack';
import { testLogger, testMetrics } from '../support/telemetry';
import { DEFAULT_GATE_SETTINGS, gateSettings, storeOptions } from '../../lambdas/settings';

let store: FactStore;
let streamArn: string;
const deps = () => ({ store, stripe: null, clock: () => new Date() });
const body = (e: StripeEvent) => JSON.stringify(e);
const apply = (e: StripeEvent) => applyEvent(body(e), e.type, deps() satisfies ApplyDeps);

beforeAll(async () => {
  ({ store, streamArn } = await freshTable());
});

/** Every record the table's stream holds so far, in order, as Lambda would hand them over. */
async function streamRecords(arn = streamArn): Promise<DynamoDBRecord[]> {
  const streams = new DynamoDBStreamsClient({ ...LOCAL_AWS, endpoint: inject('dynamoEndpoint') });
  const records: DynamoDBRecord[] = [];
  const described = await streams.send(new DescribeStreamCommand({ StreamArn: arn }));
  for (const shard of described.StreamDescription?.Shards ?? []) {
    let iterator = (
      await streams.send(
        new GetShardIteratorCommand({
          StreamArn: arn,
          ShardId: shard.ShardId!,
          ShardIteratorType: 'TRIM_HORIZON',
        }),
      )
    ).ShardIterator;
    while (iterator) {
      const got = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
      for (const r of got.Records ?? []) records.push(r as unknown as DynamoDBRecord);
      if ((got.Records ?? []).length === 0) break;
      iterator = got.NextShardIterator;
    }
  }
  streams.destroy();
  return records;
}

const recordsOf = (records: DynamoDBRecord[], customerId: string) =>
  records.filter((r) => r.dynamodb?.Keys?.pk?.S === `STATUS#${customerId}`);

describe('the sweeper', () => {
  it('applies a parked dispute once an event has revealed its charge owner', async () => {
    const customer = stripeId('cus');
    const chargeId = stripeId('ch');
    const dispute = buildEvent('charge.dispute.created', { object: { charge: chargeId } });
    expect((await apply(dispute)).outcome).toBe('parked');
    // The owner becomes known without the processor applying the waiting dispute (a crash
    // right after the reveal): only the sweeper (or a redelivery) can apply it now.
    await store.revealOwners([chargeId], customer);

    const report = await makeSweeper({
      ...deps(),
      settings: DEFAULT_GATE_SETTINGS,
      logger: testLogger,
      metrics: testMetrics,
    })();

    expect(report.applied).toBeGreaterThanOrEqual(1);
    expect(await factIds(store, customer)).toContain(dispute.id);
    expect((await store.listParked()).map((p) => p.eventId)).not.toContain(dispute.id);
    expect((await store.readStatus(customer))?.record.entries.size).toBe(1);
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

    const report = await makeSweeper({
      ...deps(),
      settings: DEFAULT_GATE_SETTINGS,
      logger: testLogger,
      metrics: testMetrics,
    })();

    expect(report.stillParked).toBeGreaterThanOrEqual(1);
    expect(report.oldestAgeSeconds).toBeGreaterThanOrEqual(90);
    expect((await store.listParked()).map((p) => p.eventId)).toContain(detach.id);
  });

  it('counts status items computed with older rules than the running ones', async () => {
    const customer = stripeId('cus');
    await apply(buildEvent('customer.created', { customer }));
    const report = await makeSweeper({
      ...deps(),
      settings: DEFAULT_GATE_SETTINGS,
      logger: testLogger,
      metrics: testMetrics,
    })();
    expect(report.behindRules).toBe(0);
    // Every item so far carries RULES_VERSION: all are behind the next version.
    expect(await store.countStatusItemsBehind(RULES_VERSION + 1)).toBeGreaterThanOrEqual(1);
    expect(await store.countStatusItemsBehind(RULES_VERSION)).toBe(0);
  });
});

describe('the notifier', () => {
  const notifierWith = (announce: (a: Announcement) => Promise<void>) =>
    makeNotifierHandler({
      settings: DEFAULT_GATE_SETTINGS,
      clock: () => new Date(),
      logger: testLogger,
      announce,
    });

  it('announces each change of canAllocate from the stream images, and nothing else', async () => {
    const customer = stripeId('cus');
    const invoice = stripeId('in');
    const failed = buildEvent('invoice.payment_failed', { customer, object: { id: invoice } });
    const retried = buildEvent('invoice.payment_failed', { customer, object: { id: invoice } });
    const paid = buildEvent('invoice.paid', { customer, object: { id: invoice } });
    for (const e of [buildEvent('customer.created', { customer }), failed, retried, paid]) {
      await apply(e);
    }
    const records = recordsOf(await streamRecords(), customer);
    // At least one status write per event (and the writes of its derived attributes).
    expect(records.length).toBeGreaterThanOrEqual(4);
    const announced: Announcement[] = [];
    const result = await notifierWith(async (a) => void announced.push(a))({ Records: records });
    expect(result.batchItemFailures).toEqual([]);
    expect(announced.map((a) => [a.canAllocate, a.eventId, a.cause, a.blockers])).toEqual([
      [false, failed.id, failed.id, ['payment_failed']],
      [true, paid.id, paid.id, []],
    ]);
  });

  it('reports the failed record so the batch resumes there, announcing at least once', async () => {
    const customer = stripeId('cus');
    const failed = buildEvent('payment_intent.payment_failed', { customer });
    await apply(failed);
    const records = recordsOf(await streamRecords(), customer);
    let fail = true;
    const announced: Announcement[] = [];
    const notifier = notifierWith(async (a) => {
      if (fail) {
        fail = false;
        throw new Error('injected: SNS unavailable');
      }
      announced.push(a);
    });
    const first = await notifier({ Records: records });
    const flipped = records.find((r) => r.dynamodb?.NewImage?.flip !== undefined);
    expect(first.batchItemFailures).toEqual([
      { itemIdentifier: flipped!.dynamodb!.SequenceNumber },
    ]);
    await notifier({ Records: records }); // the stream redelivers from there
    expect(announced.map((a) => [a.customerId, a.canAllocate])).toEqual([[customer, false]]);
  });

  it('lets through only the status-item writes that changed canAllocate (the filter)', async () => {
    const customer = stripeId('cus');
    await apply(buildEvent('customer.created', { customer }));
    const unpaid = buildEvent('customer.subscription.updated', {
      customer,
      object: { status: 'unpaid' },
    });
    await apply(unpaid);
    await apply(buildEvent('customer.updated', { customer }));
    const records = recordsOf(await streamRecords(), customer);
    const flips = records.filter((r) => r.dynamodb?.NewImage?.flip !== undefined);
    // One write carries the flip: the one that made the item blocked, naming the event.
    expect(flips).toHaveLength(1);
    expect(flips[0]!.dynamodb?.NewImage?.ca?.BOOL).toBe(false);
    expect(flips[0]!.dynamodb?.NewImage?.cause?.S).toBe(unpaid.id);
  });

  it('ignores the stream records of facts, owners and parked events', async () => {
    const all = await streamRecords();
    const others = all.filter((r) => !r.dynamodb?.Keys?.pk?.S?.startsWith('STATUS#'));
    expect(others.length).toBeGreaterThan(0);
    const announced: Announcement[] = [];
    await notifierWith(async (a) => void announced.push(a))({ Records: others });
    expect(announced).toEqual([]);
  });
});

describe('a policy change', () => {
  it('settles every status item under the new policy and announces each flip as policy_changed', async () => {
    // Prepare: a table of its own (the sweep walks every status item), a blocked customer and
    // one that stays blocked, under the default policy.
    const table = await freshTable();
    const under = (store: FactStore) => ({ store, stripe: null, clock: () => new Date() });
    const failing = stripeId('cus');
    const lapsed = stripeId('cus');
    const failed = buildEvent('invoice.payment_failed', { customer: failing });
    const unpaid = buildEvent('customer.subscription.updated', {
      customer: lapsed,
      object: { status: 'unpaid' },
    });
    for (const e of [failed, unpaid]) await applyEvent(body(e), e.type, under(table.store));
    const sweeperWith = (settings: typeof DEFAULT_GATE_SETTINGS) =>
      makeSweeper({
        ...under(new FactStore(table.ddb, table.tableName, storeOptions(settings))),
        settings,
        logger: testLogger,
        metrics: testMetrics,
      });
    await sweeperWith(DEFAULT_GATE_SETTINGS)(); // records the running settings: nothing flips
    const before = await streamRecords(table.streamArn);

    // Act: the stack runs with a policy under which a failed payment only warns.
    const warnOnly = gateSettings(parsePolicy({ payment_failed: { action: 'warn' } }), 30);
    await sweeperWith(warnOnly)();

    // Assess: the failing customer may allocate again, announced with the cause; the other,
    // still blocked by its subscription, was settled without a flip.
    const settledFailing = await table.store.readStatus(failing);
    expect(settledFailing?.derived.canAllocate).toBe(true);
    expect(settledFailing?.derived.settingsHash).toBe(warnOnly.hash);
    const settledLapsed = await table.store.readStatus(lapsed);
    expect(settledLapsed?.derived.canAllocate).toBe(false);
    expect(settledLapsed?.derived.settingsHash).toBe(warnOnly.hash);
    const after = (await streamRecords(table.streamArn)).slice(before.length);
    const announced: Announcement[] = [];
    const notifier = makeNotifierHandler({
      settings: warnOnly,
      clock: () => new Date(),
      logger: testLogger,
      announce: async (a) => void announced.push(a),
    });
    expect((await notifier({ Records: after })).batchItemFailures).toEqual([]);
    expect(
      announced.map((a) => [a.customerId, a.canAllocate, a.eventId, a.cause, a.blockers]),
    ).toEqual([[failing, true, null, 'policy_changed', []]]);
    // A second run under the same policy finds nothing left to settle.
    const again = await streamRecords(table.streamArn);
    await sweeperWith(warnOnly)();
    expect(recordsOf((await streamRecords(table.streamArn)).slice(again.length), failing)).toEqual(
      [],
    );
    table.ddb.destroy();
  });
});
