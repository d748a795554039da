// Rebuilding status items from the facts against DynamoDB Local: a stale or old-rules item
// is recomputed and marked with the running rules version, a dry run writes nothing, an item
// that is up to date is left alone, and events applied during a rebuild are never lost
// (docs/behaviour.md#status-at-constant-cost).
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../bin/rebuild';
import type { Target } from '../../bin/ops/target';
import { buildEvent, stripeId } from '../../bin/events/stripe-events';
import type { FactStore } from '../../lambdas/adapters/fact-store';
import { RULES_VERSION } from '../../lambdas/core/status-record';
import { entryAttribute } from '../../lambdas/adapters/status-item';
import { STATUS_ATTR, statusKey } from '../../lambdas/adapters/table-layout';
import { DEFAULT_GATE_SETTINGS } from '../../lambdas/settings';
import { UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { applyEvent } from '../../lambdas/processor/apply-event';
import { rebuildAll, rebuildCustomer } from '../../lambdas/rebuild/rebuild-status';
import { derivedStatus, freshTable, itemStatus } from '../support/local-stack';
import { capture } from '../support/stripe-commands';

let store: FactStore;
let target: Target;
let ddb: DynamoDBClient;
let tableName: string;

beforeAll(async () => {
  const table = await freshTable();
  ({ store, ddb, tableName } = table);
  target = {
    ddb: table.ddb,
    tableName: table.tableName,
    describe: () => 'the test table',
    close: () => undefined,
  } as unknown as Target;
});

const apply = (e: StripeEvent) =>
  applyEvent(JSON.stringify(e), e.type, { store, stripe: null, clock: () => new Date() });

/** A customer with a blocked invoice whose status item is then overwritten as `stale`. */
async function customerWithStaleItem(rulesVersion: number) {
  const customer = stripeId('cus');
  await apply(buildEvent('invoice.payment_failed', { customer, object: { id: stripeId('in') } }));
  const current = await store.readStatus(customer);
  // An item computed by other rules: here, one that lost the invoice's blocker.
  const entries = [...(current?.slots.values() ?? [])].map((slot) =>
    entryAttribute(slot.kind, slot.objectId),
  );
  await ddb.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: { pk: { S: statusKey(customer).pk }, sk: { S: statusKey(customer).sk } },
      UpdateExpression: `SET #rv = :rv REMOVE ${entries.map((_, i) => `#e${i}`).join(', ')}`,
      ExpressionAttributeNames: {
        '#rv': STATUS_ATTR.rulesVersion,
        ...Object.fromEntries(entries.map((e, i) => [`#e${i}`, e])),
      },
      ExpressionAttributeValues: { ':rv': { N: String(rulesVersion) } },
    }),
  );
  expect((await itemStatus(store, customer))?.canAllocate).toBe(true);
  return customer;
}

const ctx = { settings: DEFAULT_GATE_SETTINGS, clock: Date.now };

describe('rebuilding status items', () => {
  it('recomputes an item from the facts and marks it with the running rules', async () => {
    const customer = await customerWithStaleItem(RULES_VERSION - 1);

    expect(await rebuildCustomer(store, customer, ctx)).toBe('rebuilt');

    const stored = await store.readStatus(customer);
    expect(stored?.rulesVersion).toBe(RULES_VERSION);
    expect(await itemStatus(store, customer)).toEqual(await derivedStatus(store, customer));
    expect((await itemStatus(store, customer))?.canAllocate).toBe(false);
  });

  it('counts items behind the rules until they are rebuilt', async () => {
    const customer = await customerWithStaleItem(RULES_VERSION);
    // The same stale item seen by a newer version of the rules.
    const behind = await store.countStatusItemsBehind(RULES_VERSION + 1);
    expect(behind).toBeGreaterThanOrEqual(1);
    await rebuildCustomer(store, customer, ctx);
    expect((await store.readStatus(customer))?.rulesVersion).toBe(RULES_VERSION);
  });

  it('writes nothing on a dry run, and nothing for an item that is up to date', async () => {
    const customer = await customerWithStaleItem(RULES_VERSION);
    const before = await store.readStatus(customer);

    expect(await rebuildCustomer(store, customer, ctx, { dryRun: true })).toBe('would_change');
    expect(await store.readStatus(customer)).toEqual(before);

    expect(await rebuildCustomer(store, customer, ctx)).toBe('rebuilt');
    const rebuilt = await store.readStatus(customer);
    expect(await rebuildCustomer(store, customer, ctx, { dryRun: true })).toBe('unchanged');
    expect(await rebuildCustomer(store, customer, ctx)).toBe('unchanged');
    expect((await store.readStatus(customer))?.version).toBe(rebuilt?.version);
  });

  it('loses none of the events applied while the rebuild runs', async () => {
    const customer = stripeId('cus');
    await apply(buildEvent('customer.created', { customer }));
    const events = Array.from({ length: 12 }, (_, i) =>
      buildEvent(i % 2 ? 'invoice.payment_failed' : 'customer.subscription.updated', {
        customer,
        created: 1000 + i,
        object: { id: i % 2 ? stripeId('in') : stripeId('sub'), status: 'past_due' },
      }),
    );
    await Promise.all([
      ...events.map(apply),
      rebuildCustomer(store, customer, ctx),
      rebuildCustomer(store, customer, ctx),
    ]);
    const status = await itemStatus(store, customer);
    expect(status).toEqual(await derivedStatus(store, customer));
    expect(status?.blockers).toHaveLength(12);
  });

  it('goes through every customer with a status item and sums up', async () => {
    const stale = await customerWithStaleItem(RULES_VERSION);
    const summary = await rebuildAll(store, ctx, { dryRun: true });
    expect(summary.customers).toBeGreaterThanOrEqual(1);
    expect(summary.wouldChange).toBeGreaterThanOrEqual(1);
    expect(summary.customers).toBe(
      summary.wouldChange + summary.unchanged + summary.noRecord + summary.failed,
    );
    expect((await itemStatus(store, stale))?.canAllocate).toBe(true); // still stale: dry run
  });
});

describe('npm run rebuild', () => {
  it('rebuilds one customer and prints the summary', async () => {
    const customer = await customerWithStaleItem(RULES_VERSION);
    const out = capture();

    const code = await run(['--customer', customer], { ...out.io, connect: async () => target });

    expect(code).toBe(0);
    expect(out.out.join('\n')).toMatch(/CUSTOMERS\s+REBUILT\s+UNCHANGED\s+NO RECORD\s+FAILED/);
    expect(out.out.at(-1)?.trim().split(/\s+/)).toEqual(['1', '1', '0', '0', '0']);
    expect((await itemStatus(store, customer))?.canAllocate).toBe(false);
  });

  it('refuses a malformed customer id, changing nothing', async () => {
    const out = capture();
    const code = await run(['--customer', 'nope'], { ...out.io, connect: async () => target });
    expect(code).toBe(2);
    expect(out.text()).toMatch(/cus_/);
  });
});
