// The processor against DynamoDB Local: exactly-once application, no lost update under
// real concurrency, crash windows around both writes, parking, and owner lookups. After
// every scenario the status item must say what the full derivation over the stored facts says
// (docs/behaviour.md#guarantees, docs/behaviour.md#status-at-constant-cost).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { LOCAL_AWS } from '../../bin/local/emulators';
import { buildEvent, stripeId } from '../../bin/events/stripe-events';
import { FactStore } from '../../lambdas/adapters/fact-store';
import { makeStripeLookup } from '../../lambdas/adapters/stripe-api';
import { storeOptions } from '../../lambdas/settings';
import { ruleForType } from '../../lambdas/core/rules';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { applyEvent, type ApplyDeps } from '../../lambdas/processor/apply-event';
import { makeProcessorHandler } from '../../lambdas/processor/make-processor';
import { derivedStatus, factIds, freshTable, itemStatus } from '../support/local-stack';
import { testLogger, testMetrics } from '../support/telemetry';

let store: FactStore;
let tableName: string;
const deps = (over: Partial<ApplyDeps> = {}): ApplyDeps => ({
  store,
  stripe: null,
  clock: () => new Date(),
  ...over,
});
const body = (e: StripeEvent) => JSON.stringify(e);
const cus = () => stripeId('cus');
/** The item's status, checked against the full derivation over the stored facts. */
const statusOf = async (customerId: string) => {
  const now = new Date();
  const status = await itemStatus(store, customerId, now);
  expect(status).toEqual(await derivedStatus(store, customerId, now));
  return status;
};
const sqsEvent = (events: StripeEvent[], receiveCount = 1): SQSEvent => ({
  Records: events.map((e, i) => ({
    messageId: `m${i}-${e.id}`,
    receiptHandle: 'r',
    body: body(e),
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: '0',
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: '0',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:test',
    awsRegion: 'us-east-1',
  })),
});

beforeAll(async () => {
  ({ store, tableName } = await freshTable());
});

describe('exactly-once application', () => {
  it('applies an event once and recognises a redelivery as a duplicate', async () => {
    const customer = cus();
    const event = buildEvent('invoice.payment_failed', { customer });
    expect((await applyEvent(body(event), 'invoice.payment_failed', deps())).outcome).toBe(
      'applied',
    );
    const before = {
      facts: await store.allFacts(customer),
      item: await store.readStatus(customer),
    };
    const later = () => new Date(Date.now() + 60_000);
    expect(
      (await applyEvent(body(event), 'invoice.payment_failed', deps({ clock: later }))).outcome,
    ).toBe('duplicate');
    expect(await factIds(store, customer)).toEqual([event.id]);
    // Not even the commit time moved, and the status item was not rewritten.
    expect(await store.allFacts(customer)).toEqual(before.facts);
    expect(await store.readStatus(customer)).toEqual(before.item);
  });

  it('rejects a message of another type than its processor, changing nothing', async () => {
    const customer = cus();
    const event = buildEvent('invoice.paid', { customer });
    await expect(applyEvent(body(event), 'charge.failed', deps())).rejects.toThrow(/processor/);
    expect(await factIds(store, customer)).toEqual([]);
    expect(await store.readStatus(customer)).toBeNull();
  });

  it('changes no record for an event without a customer (a guest payment)', async () => {
    const event = buildEvent('charge.failed', { customer: null });
    const result = await applyEvent(body(event), 'charge.failed', deps());
    expect(result.outcome).toBe('no_customer');
  });

  it('loses nothing when processors apply dozens of events of one customer concurrently', async () => {
    const customer = cus();
    const types = [
      'invoice.payment_failed',
      'charge.failed',
      'customer.updated',
      'payment_method.attached',
    ];
    const events = Array.from({ length: 48 }, (_, i) =>
      buildEvent(types[i % types.length]!, {
        customer,
        created: 1_700_000_000 + i,
        object: types[i % types.length] === 'customer.updated' ? {} : { id: `obj_${i}` },
      }),
    );
    // One handler per type, like one Lambda per queue, all running at once.
    const handlers = new Map(
      types.map((t) => [
        t,
        makeProcessorHandler({ ...deps(), eventType: t, logger: testLogger, metrics: testMetrics }),
      ]),
    );
    const results = await Promise.all(events.map((e) => handlers.get(e.type)!(sqsEvent([e]))));
    expect(results.flatMap((r) => r.batchItemFailures)).toEqual([]);
    expect(await factIds(store, customer)).toEqual(events.map((e) => e.id).sort());
    const status = await statusOf(customer);
    expect(status?.blockers.filter((b) => b.reason === 'payment_failed')).toHaveLength(24);
  });
});

describe('crashes around the two writes', () => {
  type Fault = 'before the fact' | 'after the fact' | 'before the status' | 'after the status';
  /** A store whose client fails once at one point: a connection reset before a write
   * reaches DynamoDB, or an answer lost after the write landed. */
  const faultyStore = (fault: Fault) => {
    const ddb = new DynamoDBClient({ ...LOCAL_AWS, endpoint: inject('dynamoEndpoint') });
    let armed = true;
    const target = fault.endsWith('fact') ? 'F#' : 'STATUS';
    ddb.middlewareStack.add(
      (next, context) => async (args) => {
        // Facts are put; the status item is updated.
        const input = args.input as {
          Item?: { sk?: { S?: string } };
          Key?: { sk?: { S?: string } };
        };
        const sk = input.Item?.sk?.S ?? input.Key?.sk?.S ?? '';
        const write = ['PutItemCommand', 'UpdateItemCommand'].includes(context.commandName ?? '');
        if (armed && write && sk.startsWith(target)) {
          armed = false;
          if (fault.startsWith('before')) throw new Error(`injected: reset ${fault}`);
          await next(args);
          throw new Error(`injected: answer lost ${fault}`);
        }
        return next(args);
      },
      { step: 'initialize', name: 'faultInjection' },
    );
    return new FactStore(ddb, tableName, storeOptions());
  };

  it.each<Fault>(['before the fact', 'after the fact', 'before the status', 'after the status'])(
    'applies the event once and repairs the status on redelivery when it fails %s write',
    async (fault) => {
      const customer = cus();
      const earlier = buildEvent('invoice.payment_failed', { customer, created: 1_700_000_000 });
      await applyEvent(body(earlier), earlier.type, deps());
      const event = buildEvent('invoice.paid', {
        customer,
        created: 1_700_000_100,
        object: { id: earlier.data.object.id as string },
      });
      const handler = makeProcessorHandler({
        ...deps({ store: faultyStore(fault) }),
        eventType: event.type,
        logger: testLogger,
        metrics: testMetrics,
      });
      const first = await handler(sqsEvent([event]));
      expect(first.batchItemFailures).toHaveLength(1); // not acknowledged: SQS redelivers
      const second = await handler(sqsEvent([event], 2));
      expect(second.batchItemFailures).toEqual([]);
      expect(await factIds(store, customer)).toEqual([earlier.id, event.id].sort());
      const status = await statusOf(customer);
      expect(status).toMatchObject({ canAllocate: true, blockers: [], lastEventId: event.id });
      // The item's own canAllocate (what the indexes and announcements follow) is settled too,
      // even when the crash came between the write and its settling.
      expect((await store.readStatus(customer))!.derived.canAllocate).toBe(true);
      // A further redelivery changes nothing, not even the item's version.
      const version = (await store.readStatus(customer))!.version;
      expect((await applyEvent(body(event), event.type, deps())).outcome).toBe('duplicate');
      expect((await store.readStatus(customer))!.version).toBe(version);
    },
  );

  it('brings a status item left behind by a crash up to date on the duplicate path', async () => {
    const customer = cus();
    const failed = buildEvent('payment_intent.payment_failed', {
      customer,
      created: 1_700_000_000,
    });
    // The fact landed, then the process died before the status write.
    await store.putFact(
      customer,
      ruleForType(failed.type)!.toFact(failed),
      new Date().toISOString(),
    );
    expect(await store.readStatus(customer)).toBeNull();
    expect((await applyEvent(body(failed), failed.type, deps())).outcome).toBe('duplicate');
    expect((await statusOf(customer))?.blockers.map((b) => b.reason)).toEqual(['payment_failed']);
  });
});

describe('no lost update between concurrent processors', () => {
  it('keeps the final state of one invoice whose failure and payment race in two queues', async () => {
    const runs = Array.from({ length: 10 }, () => {
      const customer = cus();
      const invoice = stripeId('in');
      return {
        customer,
        events: [
          buildEvent('invoice.payment_failed', { customer, created: 100, object: { id: invoice } }),
          buildEvent('invoice.paid', { customer, created: 200, object: { id: invoice } }),
          buildEvent('invoice.payment_action_required', {
            customer,
            created: 150,
            object: { id: invoice },
          }),
        ],
      };
    });
    await Promise.all(
      runs.flatMap((r) => r.events.map((e) => applyEvent(body(e), e.type, deps()))),
    );
    for (const r of runs) {
      const status = await statusOf(r.customer);
      expect(status).toMatchObject({ canAllocate: true, blockers: [], warnings: [] });
    }
  });

  it('keeps every object of one customer when many types write its item at once', async () => {
    const customer = cus();
    const events = [
      ...Array.from({ length: 6 }, (_, i) =>
        buildEvent('invoice.payment_failed', {
          customer,
          created: 1000 + i,
          object: { id: stripeId('in') },
        }),
      ),
      ...Array.from({ length: 6 }, (_, i) =>
        buildEvent('customer.subscription.updated', {
          customer,
          created: 1000 + i,
          object: { id: stripeId('sub'), status: 'past_due' },
        }),
      ),
      ...Array.from({ length: 4 }, (_, i) =>
        buildEvent('payment_method.attached', {
          customer,
          created: 1000 + i,
          object: { id: stripeId('pm') },
        }),
      ),
      buildEvent('payment_intent.succeeded', { customer, created: 900 }),
      buildEvent('customer.updated', { customer, created: 1100 }),
    ];
    await Promise.all(events.map((e) => applyEvent(body(e), e.type, deps())));
    const status = await statusOf(customer);
    expect(status?.blockers).toHaveLength(12);
    expect(status?.paymentMethods).toHaveLength(4);
  });
});

describe("work bounded by the event's own object", () => {
  it("never reads the customer's whole history while applying an event", async () => {
    const customer = cus();
    for (let i = 0; i < 30; i++) {
      await store.putFact(
        customer,
        ruleForType('charge.succeeded')!.toFact(
          buildEvent('charge.succeeded', { customer, object: { id: `ch_old${i}` } }),
        ),
        new Date().toISOString(),
      );
    }
    const ddb = new DynamoDBClient({ ...LOCAL_AWS, endpoint: inject('dynamoEndpoint') });
    const queries: string[] = [];
    ddb.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'QueryCommand' || context.commandName === 'ScanCommand') {
          const input = args.input as {
            ExpressionAttributeValues?: Record<string, { S?: string }>;
          };
          queries.push(
            `${context.commandName} ${JSON.stringify(input.ExpressionAttributeValues ?? {})}`,
          );
        }
        return next(args);
      },
      { step: 'initialize', name: 'spy' },
    );
    const spied = new FactStore(ddb, tableName, storeOptions());
    const pi = stripeId('pi');
    const event = buildEvent('payment_intent.payment_failed', { customer, object: { id: pi } });
    await applyEvent(body(event), event.type, deps({ store: spied }));
    // One Query: the facts of the PaymentIntent itself.
    expect(queries).toHaveLength(1);
    expect(queries[0]).toContain(`F#${pi}#`);
  });
});

describe('disputes and detaches that wait for their customer', () => {
  it('parks a dispute whose charge is unknown and applies it when the charge event arrives', async () => {
    const customer = cus();
    const chargeId = stripeId('ch');
    const dispute = buildEvent('charge.dispute.created', {
      object: { id: stripeId('dp'), charge: chargeId, payment_intent: null },
    });
    expect((await applyEvent(body(dispute), dispute.type, deps())).outcome).toBe('parked');
    expect((await store.listParked()).map((p) => p.eventId)).toContain(dispute.id);

    const charge = buildEvent('charge.succeeded', { customer, object: { id: chargeId } });
    const result = await applyEvent(body(charge), charge.type, deps());
    expect(result.unparked).toBe(1);
    expect((await store.listParked()).map((p) => p.eventId)).not.toContain(dispute.id);
    expect((await statusOf(customer))?.blockers.map((b) => b.reason)).toEqual(['dispute_open']);
  });

  it('resolves a dispute through a PaymentIntent event that named its latest charge', async () => {
    const customer = cus();
    const chargeId = stripeId('ch');
    const pi = buildEvent('payment_intent.succeeded', {
      customer,
      object: { id: stripeId('pi'), latest_charge: chargeId },
    });
    await applyEvent(body(pi), pi.type, deps());
    const dispute = buildEvent('charge.dispute.created', {
      object: { charge: chargeId, payment_intent: null },
    });
    const result = await applyEvent(body(dispute), dispute.type, deps());
    expect(result).toMatchObject({ outcome: 'applied', customerId: customer });
  });

  it('applies a dispute processed at the same moment as its revealing charge event', async () => {
    const pairs = Array.from({ length: 12 }, () => {
      const customer = cus();
      const chargeId = stripeId('ch');
      return {
        customer,
        charge: buildEvent('charge.failed', {
          customer,
          object: { id: chargeId, payment_intent: 'pi_x' },
        }),
        dispute: buildEvent('charge.dispute.created', { object: { charge: chargeId } }),
      };
    });
    await Promise.all(
      pairs.flatMap((p) => [
        applyEvent(body(p.dispute), p.dispute.type, deps()),
        applyEvent(body(p.charge), p.charge.type, deps()),
      ]),
    );
    for (const p of pairs) {
      expect(await factIds(store, p.customer)).toContain(p.dispute.id);
      expect((await statusOf(p.customer))?.blockers.map((b) => b.reason)).toEqual(['dispute_open']);
    }
    const parked = (await store.listParked()).map((p) => p.eventId);
    for (const p of pairs) expect(parked).not.toContain(p.dispute.id);
  });

  it('asks the Stripe API for the charge when a key is configured', async () => {
    const customer = cus();
    const seen: string[] = [];
    const server: Server = createServer((req, res) => {
      seen.push(`${req.url} ${req.headers.authorization}`);
      const guest = req.url?.includes('ch_guest');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'charge', id: 'x', customer: guest ? null : customer }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const lookup = makeStripeLookup('sk_test_123', base);
      const dispute = buildEvent('charge.dispute.created', {
        object: { charge: 'ch_known_by_stripe' },
      });
      const result = await applyEvent(body(dispute), dispute.type, deps({ stripe: lookup }));
      expect(result).toMatchObject({ outcome: 'applied', customerId: customer });
      expect(seen).toEqual(['/v1/charges/ch_known_by_stripe Bearer sk_test_123']);
      const guest = buildEvent('charge.dispute.created', { object: { charge: 'ch_guest' } });
      expect((await applyEvent(body(guest), guest.type, deps({ stripe: lookup }))).outcome).toBe(
        'no_customer',
      );
    } finally {
      server.close();
    }
  });

  it('fails (for a retry) when the Stripe API lookup fails, parking nothing', async () => {
    const lookup = makeStripeLookup('sk_test_123', 'http://127.0.0.1:9');
    const dispute = buildEvent('charge.dispute.created', { object: { charge: stripeId('ch') } });
    await expect(
      applyEvent(body(dispute), dispute.type, deps({ stripe: lookup })),
    ).rejects.toThrow();
    expect((await store.listParked()).map((p) => p.eventId)).not.toContain(dispute.id);
  });

  it('fails (for a retry) when the Stripe API answers 404 for the charge, parking nothing', async () => {
    const server: Server = createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ error: { type: 'invalid_request_error', code: 'resource_missing' } }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const lookup = makeStripeLookup('sk_test_123', base);
      const dispute = buildEvent('charge.dispute.created', { object: { charge: stripeId('ch') } });
      await expect(
        applyEvent(body(dispute), dispute.type, deps({ stripe: lookup })),
      ).rejects.toThrow(/404/);
      expect((await store.listParked()).map((p) => p.eventId)).not.toContain(dispute.id);
    } finally {
      server.close();
    }
  });

  it('finds the customer of a detach without previous_attributes from the attach', async () => {
    const customer = cus();
    const pmId = stripeId('pm');
    const attach = buildEvent('payment_method.attached', { customer, object: { id: pmId } });
    await applyEvent(body(attach), attach.type, deps());
    const detach = buildEvent('payment_method.detached', {
      object: { id: pmId },
      previousAttributes: {},
    });
    const result = await applyEvent(body(detach), detach.type, deps());
    expect(result).toMatchObject({ outcome: 'applied', customerId: customer });
    expect((await statusOf(customer))?.paymentMethods[0]?.status).toBe('deleted');
  });
});

describe("a dispute's owner, whatever the arrival order", () => {
  const cases = [
    {
      name: 'a charge event naming its PaymentIntent, for a dispute naming only the PaymentIntent',
      make: (customer: string, ids: { ch: string; pi: string }) => ({
        revealer: buildEvent('charge.succeeded', {
          customer,
          object: { id: ids.ch, payment_intent: ids.pi },
        }),
        dispute: buildEvent('charge.dispute.created', {
          object: { id: stripeId('dp'), charge: null, payment_intent: ids.pi },
        }),
      }),
    },
    {
      name: 'a PaymentIntent event naming its latest charge, for a dispute naming only the charge',
      make: (customer: string, ids: { ch: string; pi: string }) => ({
        revealer: buildEvent('payment_intent.succeeded', {
          customer,
          object: { id: ids.pi, latest_charge: ids.ch },
        }),
        dispute: buildEvent('charge.dispute.created', {
          object: { id: stripeId('dp'), charge: ids.ch, payment_intent: null },
        }),
      }),
    },
  ];

  for (const c of cases) {
    for (const order of ['revealer first', 'dispute first'] as const) {
      it(`finds it through ${c.name}, ${order}`, async () => {
        const customer = cus();
        const { revealer, dispute } = c.make(customer, { ch: stripeId('ch'), pi: stripeId('pi') });
        const sequence = order === 'revealer first' ? [revealer, dispute] : [dispute, revealer];
        const outcomes = [];
        for (const e of sequence)
          outcomes.push((await applyEvent(body(e), e.type, deps())).outcome);
        expect(outcomes).toEqual(
          order === 'revealer first' ? ['applied', 'applied'] : ['parked', 'applied'],
        );
        expect(await factIds(store, customer)).toContain(dispute.id);
        expect((await statusOf(customer))?.blockers.map((b) => b.reason)).toEqual(['dispute_open']);
        expect(await store.parkedEvent(dispute.id)).toBeNull();
      });
    }
  }
});

describe('owners named another way', () => {
  it('acknowledges and reports an object whose customer is not a customer id, storing nothing', async () => {
    const event = buildEvent('invoice.payment_failed', { customer: 'bad-cust' });
    const result = await applyEvent(body(event), event.type, deps());
    expect(result).toMatchObject({ outcome: 'unsupported', customerId: null });
    expect(result.reason).toMatch(/cus_/);
    expect(await store.readStatus('bad-cust')).toBeNull();
  });

  it('parks an Accounts v2 event naming only customer_account until an event names both ids', async () => {
    // Prepare
    const customer = cus();
    const account = stripeId('acct');
    const onlyAccount = buildEvent('invoice.payment_failed', {
      customer: null,
      object: { customer_account: account },
    });
    const both = buildEvent('customer.updated', {
      object: { id: customer, object: 'customer', customer_account: account },
    });

    // Act
    const parked = await applyEvent(body(onlyAccount), onlyAccount.type, deps());
    const taught = await applyEvent(body(both), both.type, deps());

    // Assess
    expect(parked.outcome).toBe('parked');
    expect(taught).toMatchObject({ outcome: 'applied', customerId: customer, unparked: 1 });
    const status = await statusOf(customer);
    expect(status?.customerAccount).toBe(account);
    expect(status?.blockers.map((b) => b.reason)).toEqual(['payment_failed']);
    expect(await store.ownerOf([account])).toBe(customer);
  });
});
