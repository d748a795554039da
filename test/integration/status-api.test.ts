// The status API against DynamoDB Local: the status read is one GetItem of the customer's
// status item, the history pages (limit, cursor, order, Link) without changing its body or
// default order (docs/behaviour.md#history-pages), and in AWS the acting operator comes only
// from the IAM identity.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { LOCAL_AWS } from '../../bin/local/emulators';
import { buildEvent, stripeId } from '../../bin/events/stripe-events';
import { FactStore } from '../../lambdas/adapters/fact-store';
import type { HistoryEntry } from '../../lambdas/core/facts';
import { ruleForType } from '../../lambdas/core/rules';
import { applyEvent } from '../../lambdas/processor/apply-event';
import { makeStatusApiHandler } from '../../lambdas/status-api/make-status-api';
import { freshTable } from '../support/local-stack';
import { testLogger } from '../support/telemetry';
import { storeOptions } from '../../lambdas/settings';
import { DEFAULT_GATE_SETTINGS } from '../../lambdas/settings';

let store: FactStore;
let tableName: string;

beforeAll(async () => {
  ({ store, tableName } = await freshTable());
});

function request(
  method: string,
  path: string,
  options: {
    query?: Record<string, string>;
    body?: unknown;
    headers?: Record<string, string>;
    iam?: string;
  } = {},
): APIGatewayProxyEventV2 {
  return {
    rawPath: path,
    rawQueryString: new URLSearchParams(options.query ?? {}).toString(),
    queryStringParameters: options.query,
    headers: options.headers ?? {},
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    isBase64Encoded: false,
    requestContext: {
      http: { method },
      ...(options.iam ? { authorizer: { iam: { userArn: options.iam } } } : {}),
    },
  } as unknown as APIGatewayProxyEventV2;
}

const api = (over: { trustActorHeader?: boolean; store?: FactStore } = {}) =>
  makeStatusApiHandler({
    store: over.store ?? store,
    settings: DEFAULT_GATE_SETTINGS,
    clock: () => new Date(),
    logger: testLogger,
    trustActorHeader: over.trustActorHeader ?? false,
  });

/** A customer with `n` applied events, created one second apart. */
async function customerWithEvents(n: number) {
  const customer = stripeId('cus');
  const deps = { store, stripe: null, clock: () => new Date() };
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const event = buildEvent('customer.updated', { customer, created: 1_700_000_000 + i });
    ids.push(event.id);
    await applyEvent(JSON.stringify(event), event.type, deps);
  }
  return { customer, ids };
}

describe('GET /customers/{id}/billing-status', () => {
  it('reads the status with one GetItem, whatever the history', async () => {
    const { customer } = await customerWithEvents(25);
    const ddb = new DynamoDBClient({ ...LOCAL_AWS, endpoint: inject('dynamoEndpoint') });
    const calls: string[] = [];
    ddb.middlewareStack.add(
      (next, context) => async (args) => {
        calls.push(context.commandName ?? '');
        return next(args);
      },
      { step: 'initialize', name: 'spy' },
    );
    const res = await api({ store: new FactStore(ddb, tableName, storeOptions()) })(
      request('GET', `/customers/${customer}/billing-status`),
    );
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body!)).toMatchObject({ customerId: customer, canAllocate: true });
    expect(calls).toEqual(['GetItemCommand']);
  });
});

describe('GET /customers/{id}/events, in pages', () => {
  it('lists every event in created order by default, with no Link', async () => {
    const { customer, ids } = await customerWithEvents(5);
    const res = await api()(request('GET', `/customers/${customer}/events`));
    expect(res.statusCode).toBe(200);
    expect((JSON.parse(res.body!) as HistoryEntry[]).map((e) => e.id)).toEqual(ids);
    expect(res.headers?.link).toBeUndefined();
  });

  it('pages with limit and the Link cursor, oldest first and newest first', async () => {
    const { customer, ids } = await customerWithEvents(7);
    for (const order of ['asc', 'desc'] as const) {
      const seen: string[] = [];
      let path = `/customers/${customer}/events`;
      let query: Record<string, string> = { limit: '3', ...(order === 'desc' ? { order } : {}) };
      for (let page = 0; page < 5; page++) {
        const res = await api()(request('GET', path, { query }));
        expect(res.statusCode).toBe(200);
        const entries = JSON.parse(res.body!) as HistoryEntry[];
        expect(entries.length).toBeLessThanOrEqual(3);
        seen.push(...entries.map((e) => e.id));
        const link = res.headers?.link as string | undefined;
        if (!link) break;
        const match = /^<([^?>]+)\?([^>]*)>; rel="next"$/.exec(link);
        expect(match).not.toBeNull();
        path = match![1]!;
        query = Object.fromEntries(new URLSearchParams(match![2]!));
      }
      expect(seen).toEqual(order === 'asc' ? ids : [...ids].reverse());
    }
  });

  it.each([
    [{ limit: '0' }, /limit/],
    [{ limit: '1001' }, /limit/],
    [{ limit: 'ten' }, /limit/],
    [{ order: 'newest' }, /order/],
    [{ cursor: 'not-a-cursor' }, /cursor/],
  ])('answers 400 to %o', async (query, reason) => {
    const { customer } = await customerWithEvents(1);
    const res = await api()(request('GET', `/customers/${customer}/events`, { query }));
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body!).error).toMatch(reason);
  });

  it("refuses a cursor of the other order (it names a place in that order's list)", async () => {
    const { customer } = await customerWithEvents(3);
    const first = await api()(
      request('GET', `/customers/${customer}/events`, { query: { limit: '1' } }),
    );
    const cursor = new URLSearchParams(/\?([^>]*)>/.exec(first.headers!.link as string)![1]!).get(
      'cursor',
    )!;
    const res = await api()(
      request('GET', `/customers/${customer}/events`, { query: { cursor, order: 'desc' } }),
    );
    expect(res.statusCode).toBe(400);
  });

  it('answers 404 for a customer no event has named', async () => {
    const res = await api()(request('GET', `/customers/${stripeId('cus')}/events`));
    expect(res.statusCode).toBe(404);
  });

  it('lists an event once the status reflects it, not between the fact write and the status write', async () => {
    // Prepare: a customer with one applied event, then a second event whose fact is written
    // but whose status update has not happened (a processor mid-apply, or crashed there).
    const { customer, ids } = await customerWithEvents(1);
    const late = buildEvent('customer.updated', { customer, created: 1_700_000_100 });
    const fact = ruleForType(late.type)!.toFact(late);
    const listed = async () => {
      const res = await api()(request('GET', `/customers/${customer}/events`));
      return (JSON.parse(res.body!) as HistoryEntry[]).map((e) => e.id);
    };
    await store.putFact(customer, fact, new Date(Date.now() + 1000).toISOString());

    // Act + Assess: not listed yet; listed once its redelivery brings the status item up to date.
    expect(await listed()).toEqual(ids);
    const deps = { store, stripe: null, clock: () => new Date() };
    expect((await applyEvent(JSON.stringify(late), late.type, deps)).outcome).toBe('duplicate');
    expect(await listed()).toEqual([...ids, late.id]);
    expect(
      JSON.parse((await api()(request('GET', `/customers/${customer}/billing-status`))).body!),
    ).toMatchObject({ lastEventId: late.id });
  });
});

describe('who sets an override', () => {
  it('records the IAM caller and ignores the actor header in AWS', async () => {
    const { customer } = await customerWithEvents(1);
    const res = await api()(
      request('PUT', `/customers/${customer}/override`, {
        body: { mode: 'deny', reason: 'fraud review' },
        headers: { 'x-billing-gate-actor': 'someone-else' },
        iam: 'arn:aws:iam::123456789012:role/support',
      }),
    );
    expect(res.statusCode).toBe(200);
    const [override] = await store.overrides(customer);
    expect(override?.actor).toBe('arn:aws:iam::123456789012:role/support');
  });

  it('does not take a name from the header without an IAM identity in AWS', async () => {
    const { customer } = await customerWithEvents(1);
    await api()(
      request('PUT', `/customers/${customer}/override`, {
        body: { mode: 'allow', reason: 'paid by wire' },
        headers: { 'x-billing-gate-actor': 'someone-else' },
      }),
    );
    const [override] = await store.overrides(customer);
    expect(override?.actor).toBe('unknown');
  });

  it('takes the operator from the header locally', async () => {
    const { customer } = await customerWithEvents(1);
    await api({ trustActorHeader: true })(
      request('PUT', `/customers/${customer}/override`, {
        body: { mode: 'allow', reason: 'paid by wire' },
        headers: { 'x-billing-gate-actor': 'local:alice' },
      }),
    );
    const [override] = await store.overrides(customer);
    expect(override?.actor).toBe('local:alice');
  });
});
